"""Headline numbers: every notebook ends with one cell, tagged `headline`, that shows a flat
JSON object of what it measured, so tools can read the numbers back from the notebook."""

import json
from numbers import Real
from pathlib import Path

from ._validate import check_scalar

HEADLINE_TAG = "headline"


def show_headline(numbers: dict) -> dict:
    """Print `numbers` (name -> finite number) as one JSON line, and return it checked.

    Names are strings; values are ints or floats (numpy scalars are converted)."""
    if not isinstance(numbers, dict) or not numbers:
        raise ValueError("show_headline expects a non-empty dict of name -> number")
    clean = {}
    for name, value in numbers.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"headline names must be non-empty strings, got {name!r}")
        if hasattr(value, "item"):  # numpy or torch scalar
            value = value.item()
        check_scalar(value, f"headline {name!r}", Real)
        clean[name] = int(value) if isinstance(value, int) else float(value)
    print(json.dumps(clean, sort_keys=True))
    return clean


def read_headline(notebook) -> dict:
    """The headline numbers stored in a notebook file (path) or notebook dict.

    Reads the printed output of the code cell tagged `headline`."""
    nb = json.loads(Path(notebook).read_text()) if not isinstance(notebook, dict) else notebook
    cells = [c for c in nb.get("cells", []) if HEADLINE_TAG in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged {HEADLINE_TAG!r}, found {len(cells)}")
    for out in cells[0].get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text = "".join(out["text"]).strip().splitlines()
            if text:
                return json.loads(text[-1])
    raise ValueError("the headline cell has no printed output: run the notebook first")
