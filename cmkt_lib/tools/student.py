"""Writes the student version of the notebooks: every solution between nbgrader's markers is
replaced by a stub, and outputs are cleared. The notebooks in notebooks/ stay the single source.

    python -m cmkt_lib.tools.student notebooks/ --out build/student/

It never overwrites what it did not write: it refuses an output folder that holds a notebook with
solution markers, or any file without the stamp it puts in the metadata of the notebooks it
writes (`--force` overrides that), and an output folder that is, or is inside, the source folder.
A line that looks like a marker but is not exactly one (`# BEGIN SOLUTION`, trailing text, ...)
is an error, because it would leave the solution in the student version.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

from . import labformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
STAMP = "cmkt_student_version"  # notebook metadata key set on every notebook this tool writes
# anything a person may have meant as a marker: any number of #, any case, any text after it
_MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)[\s_-]*SOLUTION", re.I)


class MarkerError(ValueError):
    """A solution region is not closed, is closed without being opened, or a marker is misspelt."""


class RefusedError(ValueError):
    """Writing would overwrite something this tool did not write."""


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
        elif _MARKER_LIKE.match(line):
            raise MarkerError(f"{where}, line {number}: {stripped!r} is not a marker; write exactly "
                              f"{BEGIN!r} or {END!r} on a line of its own (otherwise the solution would "
                              "stay in the student version)")
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{where}, line {inside}: {BEGIN} is never closed with {END}")
    return "\n".join(out), regions


def student_notebook(nb, name: str = "notebook"):
    """A copy of notebook `nb` with solutions stubbed, all outputs cleared and the student-version
    stamp in its metadata; and the number of solutions replaced. `name` goes in error messages."""
    nb = nbformat.from_dict(nb)
    total = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, regions = strip_solutions(cell.source, where=f"{name}, cell {i}")
        total += regions
        cell.outputs = []
        cell.execution_count = None
    nb.metadata[STAMP] = True
    return nb, total


def _read(path: Path):
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # not JSON, not a notebook, unreadable: say which file
        raise MarkerError(f"{path} is not a notebook that can be read ({type(err).__name__}: {err})") from None


def _has_markers(nb) -> bool:
    return any(c.cell_type == "code" and any(_MARKER_LIKE.match(l) for l in c.source.splitlines()) for c in nb.cells)


def check_output_folder(out_dir: Path) -> None:
    """Raise RefusedError if out_dir holds a file this tool did not write (a notebook with
    solution markers above all). Subfolders are left alone: nothing is written into them."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise RefusedError(f"{out_dir} is a file, not a folder")
    for path in sorted(out_dir.iterdir()):
        if path.is_dir():
            continue
        if path.suffix != ".ipynb":
            raise RefusedError(f"{out_dir} holds {path.name}, which this tool did not write")
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            raise RefusedError(f"{out_dir} holds {path.name}, which this tool did not write") from None
        if _has_markers(nb):
            raise RefusedError(f"{out_dir} holds {path.name}, a notebook with solution markers: it looks like "
                               "the solutions folder (the command is: student SOLUTIONS_FOLDER --out NEW_FOLDER)")
        if not nb.metadata.get(STAMP):
            raise RefusedError(f"{out_dir} holds {path.name}, which this tool did not write")


def write_student_versions(source_dir: Path, out_dir: Path, force: bool = False) -> dict:
    """Write a student version of every notebook in source_dir; returns name -> regions replaced.
    Everything is read and checked before anything is written: an error writes nothing."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    if source_dir.is_file():
        raise MarkerError(f"{source_dir} is a file; give the folder that holds the solution notebooks")
    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source_dir}")
    source, out = source_dir.resolve(), out_dir.resolve()
    if out == source or source in out.parents:
        raise ValueError(f"the output folder {out_dir} must not be the notebooks folder {source_dir} or inside it: "
                         "it would overwrite or mix with the solutions")
    students, counts = {}, {}
    for path in notebooks:
        students[path.name], counts[path.name] = student_notebook(_read(path), name=path.name)
    if not force:
        if not any(counts.values()):
            raise RefusedError(f"no notebook in {source_dir} has a solution ({BEGIN} ... {END}): it looks like a "
                               "student folder (the command is: student SOLUTIONS_FOLDER --out NEW_FOLDER)")
        check_output_folder(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, nb in students.items():
        labformat.write(nb, out_dir / name)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write student versions of the course notebooks.")
    parser.add_argument("notebooks", type=Path, help="folder of solution notebooks, e.g. notebooks/")
    parser.add_argument("--out", type=Path, default=Path("build/student"), help="where to write them")
    parser.add_argument("--force", action="store_true",
                        help="write even where the output folder holds files this tool did not write")
    args = parser.parse_args(argv)
    try:
        counts = write_student_versions(args.notebooks, args.out, force=args.force)
    except RefusedError as err:
        print(f"refused, nothing written: {err}. Use --force to write anyway.", file=sys.stderr)
        return 2
    except (MarkerError, FileNotFoundError, ValueError) as err:
        print(f"error, nothing written: {err}", file=sys.stderr)
        return 2
    for name, n in counts.items():
        print(f"{name}: {n} exercise{'s' if n != 1 else ''} stubbed")
    print(f"wrote {len(counts)} student notebooks to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
