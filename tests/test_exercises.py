"""The exercises in the notebooks themselves: every notebook from 01 on has at least two, each
solution is marked for nbgrader and checked by a self-check from cmkt_lib.checks, and the
student version keeps everything but the solutions and still runs."""

import re
from pathlib import Path

import nbformat
import pytest

from cmkt_lib.checks import CHECKS
from cmkt_lib.tools.runner import SlicedPollClient
from cmkt_lib.tools.student import BEGIN, END, STUB, student_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if int(p.name[:2]) >= 1)
CHECK_NAMES = {check.__name__ for check in CHECKS.values()}


def solution_regions(source: str) -> list:
    """The lines strictly between each BEGIN and END marker, one list per region."""
    regions, current = [], None
    for line in source.splitlines():
        if line.strip() == BEGIN:
            current = []
        elif line.strip() == END:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


def outside_regions(source: str) -> list:
    """The cell's lines with every region, markers included, left out."""
    kept, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif not inside:
            kept.append(line)
    return kept


def exercise_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and solution_regions(c.source)]


def imported_checks(nb) -> tuple:
    """(names imported with `from cmkt_lib.checks import ...`, whether `checks` is the module)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    names = set()
    for group in re.findall(r"from cmkt_lib\.checks import \(?([\w\s,]+)\)?", code):
        names |= {n.strip() for n in group.replace("\n", ",").split(",") if n.strip()}
    module = bool(re.search(r"from cmkt_lib import (?:[\w\s,]*\b)?checks\b", code))
    return names, module


def checks_called(source: str, imported: set, module: bool) -> set:
    """The self-checks from cmkt_lib.checks that this source calls."""
    direct = {n for n in re.findall(r"(?<![\w.])(check_\w+)\s*\(", source) if n in imported}
    qualified = set(re.findall(r"\bchecks\.(check_\w+)\s*\(", source)) if module else set()
    return (direct | qualified) & CHECK_NAMES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_at_least_two_exercises_each_with_a_self_check(path):
    nb = nbformat.read(path, as_version=4)
    cells = exercise_cells(nb)
    regions = sum(len(solution_regions(c.source)) for c in cells)
    assert regions >= 2, f"{path.name} has {regions} solution regions; every notebook from 01 on needs two exercises"
    imported, module = imported_checks(nb)
    for cell in cells:
        student_side = "\n".join(outside_regions(cell.source))
        called = checks_called(student_side, imported, module)
        assert called, (f"{path.name}: an exercise cell calls no self-check from cmkt_lib.checks outside its "
                        f"solution:\n{cell.source}")
        assert "nbval-ignore-output" not in cell.metadata.get("tags", []), \
            f"{path.name}: an exercise's verdict is deterministic, so its cell is compared by nbval:\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_student_version_holds_no_solution_and_nothing_else_changed(path):
    original = nbformat.read(path, as_version=4)
    student, replaced = student_notebook(original)
    assert replaced == sum(len(solution_regions(c.source)) for c in exercise_cells(original))
    assert len(student.cells) == len(original.cells)
    for before, after in zip(original.cells, student.cells):
        assert after.cell_type == before.cell_type and after.metadata == before.metadata
        if before.cell_type != "code":
            assert after.source == before.source
            continue
        kept = outside_regions(before.source)
        lines = after.source.splitlines()
        stubs = sum(1 for i in range(len(lines) - 1) if (lines[i].strip(), lines[i + 1].strip()) == STUB)
        assert stubs == len(solution_regions(before.source))
        assert [line for line in lines if line.strip() not in STUB] == [k for k in kept if k.strip() not in STUB]
        leaked = {line.strip() for region in solution_regions(before.source) for line in region
                  if line.strip()} - {k.strip() for k in kept}
        assert not leaked & {line.strip() for line in lines}, f"{path.name}: solution lines survive: {leaked}"


def test_the_student_version_of_01_runs_top_to_bottom():
    """With every solution stubbed, each self-check says "not written yet" and the notebook goes on."""
    path = ROOT / "notebooks" / "01_concepts.ipynb"
    student, replaced = student_notebook(nbformat.read(path, as_version=4))
    SlicedPollClient(student, timeout=900, kernel_name="python3",
                     resources={"metadata": {"path": str(path.parent)}}).execute()
    cells = [c for c in student.cells if c.cell_type == "code" and all(s in c.source for s in STUB)]
    assert len(cells) >= 2 and replaced >= 2
    for cell in cells:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "not written yet" in printed, printed
    assert all(c.execution_count for c in student.cells if c.cell_type == "code"), "every cell ran"
