"""Writes the student version of the notebooks: every solution between nbgrader's markers is
replaced by a stub, and outputs are cleared. The notebooks in notebooks/ stay the single source.

    python -m cmkt_lib.tools.student notebooks/ --out build/student/
"""

import argparse
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


class MarkerError(ValueError):
    """A solution region is not closed, or is closed without being opened."""


def strip_solutions(source: str, where: str = "cell") -> tuple:
    """(new_source, regions): each BEGIN..END region replaced by the stub, indented like BEGIN."""
    out, regions, inside = [], 0, None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside another solution (opened on line {inside})")
            inside = number
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB)
            regions += 1
        elif stripped == END:
            if inside is None:
                raise MarkerError(f"{where}, line {number}: {END} without a {BEGIN} before it")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{where}, line {inside}: {BEGIN} is never closed with {END}")
    return "\n".join(out), regions


def student_notebook(nb):
    """A copy of notebook `nb` with solutions stubbed and all outputs cleared; and the count."""
    nb = nbformat.from_dict(nb)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, regions = strip_solutions(cell.source, where=f"cell {i}")
        total += regions
        cell.outputs = []
        cell.execution_count = None
    return nb, total


def write_student_versions(source_dir: Path, out_dir: Path) -> dict:
    """Write a student version of every notebook in source_dir; returns name -> regions replaced."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source_dir}")
    if out_dir.resolve() == source_dir.resolve():
        raise ValueError("the output folder must differ from the notebooks folder: it would overwrite the solutions")
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for path in notebooks:
        nb, counts[path.name] = student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, out_dir / path.name)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write student versions of the course notebooks.")
    parser.add_argument("notebooks", type=Path, help="folder of solution notebooks, e.g. notebooks/")
    parser.add_argument("--out", type=Path, default=Path("build/student"), help="where to write them")
    args = parser.parse_args(argv)
    try:
        counts = write_student_versions(args.notebooks, args.out)
    except (MarkerError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, n in counts.items():
        print(f"{name}: {n} exercise{'s' if n != 1 else ''} stubbed")
    print(f"wrote {len(counts)} student notebooks to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
