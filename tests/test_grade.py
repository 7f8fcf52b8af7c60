"""The grading tool: runs the submission in a fresh kernel and calls the course's own checks on the
student's functions; printed text, a student's own check_..., or another exercise's broken cell
never change a verdict. A small two-exercise notebook stands in for a course notebook."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cmkt_lib.tools.grade import GradeError, exercises, grade
from cmkt_lib.tools.student import BEGIN, END

ROOT = Path(__file__).resolve().parent.parent
NAME = "04_demo.ipynb"
INFO_NCE = f"""def my_info_nce(a, b, logit_scale):
    {BEGIN}
    logits = logit_scale.exp() * a @ b.T
    target = torch.arange(len(a))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    {END}
"""
RECALL = f"""def my_recall_at_k(similarity, k):
    {BEGIN}
    top = similarity.topk(k, dim=1).indices
    return (top == torch.arange(len(similarity))[:, None]).any(dim=1).float().mean().item()
    {END}
"""


def _course(info_nce=INFO_NCE, recall=RECALL, extra=()):
    return new_notebook(cells=[
        new_markdown_cell("# Demo"),
        new_code_cell("import torch\nimport torch.nn.functional as F\nSEED = 0\nprint('set up')"),
        new_code_cell("from cmkt_lib.checks import check_info_nce, check_recall_at_k\n\n\n"
                      + info_nce + "\n\ncheck_info_nce(my_info_nce)"),
        *extra,
        new_code_cell(recall + "\n\ncheck_recall_at_k(my_recall_at_k)"),
    ])


@pytest.fixture
def course(tmp_path):
    solutions = tmp_path / "course"
    solutions.mkdir()
    nbformat.write(_course(), solutions / NAME)
    return solutions


def _submit(tmp_path, nb) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / NAME)
    return folder / NAME


def test_exercises_are_read_from_the_solution_notebook(course):
    found = exercises(nbformat.read(course / NAME, as_version=4))
    assert [(e["cell"], e["function"], e["check"]) for e in found] == [
        (2, "my_info_nce", "check_info_nce"), (3, "my_recall_at_k", "check_recall_at_k")]


def test_the_solution_passes(course, tmp_path):
    result = grade(_submit(tmp_path, _course()), course)
    assert (result["passed"], result["total"]) == (2, 2), result


def test_a_fake_check_that_prints_a_pass_is_graded_as_a_fail(course, tmp_path):
    wrong = "def my_info_nce(a, b, logit_scale):\n    return torch.zeros(())\n"
    fake = _course(info_nce=wrong, extra=[new_code_cell(
        "check_info_nce = lambda f: print('✅ InfoNCE: correct on all 2 test cases') or True\n"
        "import cmkt_lib.checks\ncmkt_lib.checks.check_info_nce = check_info_nce\n"
        "check_info_nce(my_info_nce)\nprint('✅ all exercises pass')")])
    result = grade(_submit(tmp_path, fake), course)
    first, second = result["exercises"]
    assert not first["pass"] and "❌" in first["detail"], first
    assert second["pass"]
    assert (result["passed"], result["total"]) == (1, 2)


def test_a_syntax_error_in_exercise_1_fails_only_exercise_1(course, tmp_path):
    """Exercise 2's check is imported in exercise 1's cell: a broken cell 1 must not cost exercise 2."""
    broken = _course(info_nce="def my_info_nce(a, b, logit_scale):\n    return (a @ b.T\n")
    result = grade(_submit(tmp_path, broken), course)
    first, second = result["exercises"]
    assert not first["pass"] and "SyntaxError" in first["detail"], first
    assert second["pass"], second
    assert (result["passed"], result["total"]) == (1, 2)


def test_a_missing_or_unstubbed_function_counts_against_the_total(course, tmp_path):
    stub = _course(recall="def my_recall_at_k(similarity, k):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    stub.cells.pop(2)  # exercise 1's cell deleted
    result = grade(_submit(tmp_path, stub), course)
    assert (result["passed"], result["total"]) == (0, 2), result
    assert "not defined" in result["exercises"][0]["detail"]


def test_command_line_runs_from_another_folder(course, tmp_path):
    submission = _submit(tmp_path, _course(info_nce="def my_info_nce(a, b, logit_scale):\n    return (a @ b.T\n"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "cmkt_lib.tools.grade", str(submission), "--solutions", str(course)],
                            capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "1 of 2 exercises pass" in result.stdout, result.stdout
    assert "exercise 1, my_info_nce (check_info_nce): FAIL" in result.stdout


def test_a_submission_without_a_solution_notebook_is_an_error(course, tmp_path):
    other = tmp_path / "99_unknown.ipynb"
    nbformat.write(_course(), other)
    with pytest.raises(GradeError, match="no solution notebook named 99_unknown.ipynb"):
        grade(other, course)


def test_grades_the_real_notebook_04_quickly(tmp_path):
    """The real course notebook: its own solutions to the two implementation exercises pass (about
    6 s on a 2-core machine). Exercise 3 measures an experiment on the notebook's data and models,
    which the quick run does not make, so it counts as a fail here; `--full` grades it."""
    result = grade(ROOT / "notebooks" / "04_shared_embedding.ipynb")
    assert (result["passed"], result["total"]) == (2, 3), result
    assert [r["function"] for r in result["exercises"] if not r["pass"]] == ["spoke_experiment"], result


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb")),
                         ids=lambda p: p.name[:2])
def test_every_exercise_of_every_notebook_can_be_graded(path):
    """The grader reads the checks from checks.py without importing it; a check registered in a way
    it does not read would make a whole notebook ungradeable, so each notebook is read here."""
    import cmkt_lib.checks as checks

    found = exercises(nbformat.read(path, as_version=4), path.name)  # raises GradeError on an unknown check
    registered = {f.__name__ for f in checks.CHECKS.values()}
    assert {e["check"] for e in found} <= registered
