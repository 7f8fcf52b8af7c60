"""Static views of the notebooks' widgets, for readers without a running kernel.

A stored widget (an `interact` explorer, a search box with its pictures) needs a live kernel, or at
least a widget manager, to draw: opened untrusted after a clone, on GitHub, or in an HTML export
without internet it shows as `interactive(children=(...` or as a blank area. When a notebook is
executed, though, the picture each widget showed at its default settings is kept in the notebook's
widget state (`metadata.widgets`, the Output widgets' outputs). This tool copies those pictures into
a markdown cell right after the widget's cell, tagged `widget-fallback`, as image attachments, so the
stored view reads everywhere (markdown cells change no stored-sweep hash and no recorded number).

`add_fallbacks(nb)` brings a notebook's fallback cells up to date (adds, replaces or removes them)
and returns True if anything changed. A widget that shows no picture at its default settings gets
none, and neither does a cell that already shows the widget's pictures as plain outputs (a "static
result for the stored notebook"). Run as a command
(`python -m cmkt_lib.tools.fallbacks notebooks/*.ipynb`) it rewrites, in JupyterLab's format
(labformat), each notebook whose fallbacks or format are out of date: the one command to run after
executing notebooks. `--check` only lists them. Only cells this tool wrote
(tagged `widget-fallback`) are ever replaced or removed."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from . import labformat

TAG = "widget-fallback"
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
INTRO = ("*The widget above as it was stored, at its default settings: a picture, so that it reads "
         "without a running kernel (run the notebook to move the controls).*")
_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def _refs(value):
    """Model ids that a widget's state refers to (children, box contents...), at any depth."""
    if isinstance(value, str):
        return _REF.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def widget_views(states: dict, model_id: str) -> list:
    """What widget `model_id` shows through its Output widgets, in order: ("png", base64 text) for a
    picture, ("text", str) for printed text; other outputs (HTML, widgets) are left out. Follows the
    references of boxes and `interactive` to their children. `states`: the widget state's `state`
    dict (model id -> {"model_name", "state", ...})."""
    views, seen, todo = [], set(), [model_id]
    while todo:
        mid = todo.pop(0)
        if mid in seen or mid not in states:
            continue
        seen.add(mid)
        entry = states[mid]
        for out in entry.get("state", {}).get("outputs", []) if entry.get("model_name") == "OutputModel" else []:
            png = out.get("data", {}).get("image/png")
            if png:
                views.append(("png", "".join(png) if isinstance(png, list) else png))
            elif out.get("output_type") == "stream" and out.get("text"):
                text = out["text"]
                views.append(("text", "".join(text) if isinstance(text, list) else text))
        todo += _refs(entry.get("state", {}))
    return views


def _plain_images(cell) -> set:
    return {"".join(p) if isinstance(p, list) else p for out in cell.get("outputs", [])
            for p in [out.get("data", {}).get("image/png")] if p}


def fallback_cell(code_cell, views: list):
    """The markdown cell that shows `views` (from `widget_views`) after `code_cell`: pictures as
    attachments, printed text as a text block; its id is derived from the code cell's, so that
    rewriting gives the same text."""
    parts, attachments = [INTRO], {}
    for kind, value in views:
        if kind == "png":
            name = f"widget-view-{len(attachments) + 1}.png"
            attachments[name] = {"image/png": value}
            parts.append(f"![stored view of the widget](attachment:{name})")
        else:
            fence = "~~~~" if "```" in value else "```"
            parts.append(f"{fence}text\n{value.rstrip()}\n{fence}")
    cell = nbformat.v4.new_markdown_cell("\n\n".join(parts), metadata={"tags": [TAG]}, attachments=attachments)
    cell.id = (code_cell.get("id") or "cell")[:50] + "-view"
    return cell


def _is_fallback(cell) -> bool:
    return cell.get("cell_type") == "markdown" and TAG in cell.get("metadata", {}).get("tags", [])


def add_fallbacks(nb) -> bool:
    """Bring notebook `nb`'s fallback cells up to date, in place; True if anything changed."""
    states = nb.get("metadata", {}).get("widgets", {}).get(STATE, {}).get("state", {})
    before = nbformat.writes(nb)
    cells = []
    for cell in nb.cells:
        if _is_fallback(cell):
            continue  # rebuilt below from the widget state, or dropped if its widget has gone
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        views = [v for out in cell.get("outputs", []) if VIEW in out.get("data", {})
                 for v in widget_views(states, out["data"][VIEW]["model_id"])]
        pictures = {value for kind, value in views if kind == "png"}
        if pictures - _plain_images(cell):  # no fallback where the cell already shows every picture
            cells.append(fallback_cell(cell, views))
    nb.cells = cells
    return nbformat.writes(nb) != before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Add pictures of the stored widget views after their cells.")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only list notebooks out of date (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        if not path.exists():
            raise SystemExit(f"no notebook at {path}")
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        add_fallbacks(nb)
        new = labformat.lab_text(nb)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "out of date" if args.check else "updated"
    print(f"{len(stale)} of {len(args.notebooks)} notebooks {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
