"""Write notebooks byte for byte as JupyterLab saves them, so that opening one changes nothing.

When JupyterLab opens a notebook it starts the kernel named in `metadata.kernelspec` and copies that
kernel's display name into the notebook ("Python 3" becomes "Python 3 (ipykernel)"); the whole
notebook also passes through JavaScript, whose numbers have no int/float distinction: a stored
`1.0` comes back as `1`, and an integer above 2**53 comes back rounded. Its server then writes the
file with `nbformat.write` (keys sorted, indent 1, non-ASCII kept, multi-line text split into lists,
one trailing newline). A notebook written any other way (nbclient, nbformat on Python floats) shows
as modified the moment a learner opens it, and autosave rewrites it: a `git pull` then conflicts.

`lab_text(nb)` returns the text JupyterLab would save; `write(nb, path)` writes it; run as a
command (`python -m cmkt_lib.tools.labformat notebooks/*.ipynb`) it rewrites notebooks in place,
and with `--check` it only lists those that differ (exit status 1).

What stays outside this module's reach: JupyterLab also copies the running kernel's
`language_info` (with the Python version, e.g. "3.11.7") into the notebook, so a learner whose
Python differs from the one that executed the stored notebook still sees it change on open."""

from __future__ import annotations

import argparse
import json
import math
import sys
from decimal import Decimal
from pathlib import Path

import nbformat

# ipykernel's kernel spec "python3" (what `python -m ipykernel install` and every pip install of
# ipykernel ships); JupyterLab writes this name into the notebook when it starts that kernel.
KERNEL_NAME = "python3"
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"
_JS_EXACT = 2 ** 53  # integers beyond this are not exact in a JavaScript number (an IEEE double)


def js_number(value):
    """`value` (int or float) as it comes back from JavaScript's JSON.parse then JSON.stringify,
    read again by Python's json: integral floats below 1e21 become ints (1.0 -> 1, 1e16 ->
    10000000000000000), ints beyond 2**53 are rounded to the nearest double and printed with
    JavaScript's shortest digits, every other float is unchanged. NaN and infinities have no JSON
    form JupyterLab can read, so they raise ValueError."""
    if isinstance(value, bool) or (isinstance(value, int) and abs(value) <= _JS_EXACT):
        return value
    if isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"the integer {value} is too large for JavaScript (it would be saved as null); "
                             "store it as a string") from None
    if not math.isfinite(value):
        raise ValueError(f"{value} is not valid JSON and JupyterLab cannot open a notebook that holds it; "
                         "store it as a string or None")
    if value.is_integer() and abs(value) < 1e21:
        return int(Decimal(repr(value)))  # JavaScript prints the shortest digits, padded with zeros
    return value


def js_round_trip(obj):
    """A copy of a JSON-like structure (dicts, lists, str, numbers, bool, None) with every number
    passed through `js_number`. Key order is kept (nbformat sorts keys when it writes anyway)."""
    if isinstance(obj, dict):
        return {key: js_round_trip(val) for key, val in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [js_round_trip(val) for val in obj]
    if isinstance(obj, (int, float)):
        return js_number(obj)
    return obj


def _sync_collapsed(metadata: dict) -> None:
    """JupyterLab keeps a code cell's old `collapsed` flag and `jupyter.outputs_hidden` equal on
    load, `collapsed` winning where both are set."""
    hidden = metadata.get("jupyter", {}).get("outputs_hidden")
    if "collapsed" in metadata:
        metadata.setdefault("jupyter", {})["outputs_hidden"] = metadata["collapsed"]
    elif hidden is True:
        metadata["collapsed"] = True


def lab_text(nb) -> str:
    """The exact text JupyterLab would save for notebook `nb` (a NotebookNode, a dict in nbformat 4,
    or notebook JSON text), trailing newline included."""
    if isinstance(nb, str):
        nb = json.loads(nb)
    if not isinstance(nb, dict) or nb.get("nbformat") != 4:
        raise ValueError("expected a notebook in nbformat 4 (a dict with 'nbformat': 4); "
                         "read it with nbformat.read(path, as_version=4) first")
    plain = js_round_trip(json.loads(json.dumps(nb)))
    spec = plain.setdefault("metadata", {}).get("kernelspec")
    if isinstance(spec, dict) and spec.get("name") == KERNEL_NAME:
        spec["display_name"] = KERNEL_DISPLAY_NAME
    for cell in plain.get("cells", []):
        if cell.get("cell_type") == "code":
            _sync_collapsed(cell.setdefault("metadata", {}))
    text = nbformat.writes(nbformat.from_dict(plain), version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def write(nb, path) -> None:
    """Write notebook `nb` to `path` as JupyterLab would save it (UTF-8)."""
    Path(path).write_text(lab_text(nb), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Rewrite notebooks as JupyterLab saves them.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only list notebooks that differ (exit 1 if any)")
    args = parser.parse_args(argv)
    differ = []
    for path in args.notebooks:
        if not path.exists():
            raise SystemExit(f"no notebook at {path}")
        text = path.read_text(encoding="utf-8")
        new = lab_text(text)
        if new != text:
            differ.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "differ from" if args.check else "rewritten as"
    print(f"{len(differ)} of {len(args.notebooks)} notebooks {verb} JupyterLab's format"
          + "".join(f"\n  {p}" for p in differ))
    return 1 if (args.check and differ) else 0


if __name__ == "__main__":
    sys.exit(main())
