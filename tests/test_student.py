import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cmkt_lib.tools.student import (BEGIN, END, STAMP, MarkerError, RefusedError, strip_solutions, student_notebook,
                                    write_student_versions)

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = f"""def cosine(a, b):
    \"\"\"Cosine similarity.\"\"\"
    {BEGIN}
    a = a / a.norm(dim=-1, keepdim=True)
    return a @ b.T
    {END}
"""


def _nb():
    cell = new_code_cell(SOLUTION, execution_count=3, outputs=[nbformat.v4.new_output("stream", text="hi")])
    return new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("x = 1", execution_count=1), cell])


def test_solution_replaced_by_an_indented_stub():
    source, regions = strip_solutions(SOLUTION)
    assert regions == 1
    assert "a.norm" not in source and BEGIN not in source and END not in source
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in source
    assert source.startswith('def cosine(a, b):\n    """Cosine similarity."""')


def test_student_notebook_keeps_everything_else_and_clears_outputs():
    original = _nb()
    student, regions = student_notebook(original)
    assert regions == 1
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in original.cells]
    assert student.cells[0].source == original.cells[0].source
    assert student.cells[1].source == original.cells[1].source
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert original.cells[2].outputs, "the source notebook is not modified"


@pytest.mark.parametrize("source, message", [
    (f"{BEGIN}\nx = 1\n", "never closed"),
    (f"x = 1\n{END}\n", "without a"),
    (f"{BEGIN}\n{BEGIN}\n{END}\n", "inside another solution"),
])
def test_unbalanced_markers_are_reported(source, message):
    with pytest.raises(MarkerError, match=message):
        strip_solutions(source)


def test_command_line_writes_student_versions(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    nbformat.write(_nb(), src / "01_demo.ipynb")
    out = tmp_path / "student"
    result = subprocess.run([sys.executable, "-m", "cmkt_lib.tools.student", str(src), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "01_demo.ipynb: 1 exercise stubbed" in result.stdout
    assert "a.norm" not in (out / "01_demo.ipynb").read_text()


def test_refuses_to_overwrite_the_solutions(tmp_path):
    nbformat.write(_nb(), tmp_path / "01_demo.ipynb")
    with pytest.raises(ValueError, match="must not be the notebooks folder"):
        write_student_versions(tmp_path, tmp_path)
    with pytest.raises(ValueError, match="or inside it"):
        write_student_versions(tmp_path, tmp_path / "student")
    assert not (tmp_path / "student").exists()
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_student_versions(tmp_path / "empty", tmp_path / "out")


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "cmkt_lib.tools.student", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_swapped_arguments_overwrite_nothing(tmp_path):
    """`student STUDENT_DIR --out notebooks/` once overwrote every solution with rc 0."""
    solutions, student = tmp_path / "notebooks", tmp_path / "student"
    solutions.mkdir()
    nbformat.write(_nb(), solutions / "01_demo.ipynb")
    assert _cli(solutions, "--out", student).returncode == 0
    before = _snapshot(solutions)
    result = _cli(student, "--out", solutions)
    assert result.returncode != 0 and "nothing written" in result.stderr, result
    assert _snapshot(solutions) == before
    assert "Traceback" not in result.stderr


def test_refuses_a_folder_with_solution_markers_or_files_it_did_not_write(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir(), out.mkdir()
    nbformat.write(_nb(), src / "01_demo.ipynb")
    nbformat.write(_nb(), out / "01_demo.ipynb")  # the solutions
    with pytest.raises(RefusedError, match="solution markers"):
        write_student_versions(src, out)
    (out / "01_demo.ipynb").unlink()
    nbformat.write(new_notebook(cells=[new_code_cell("x = 2")]), out / "mine.ipynb")  # no stamp
    with pytest.raises(RefusedError, match="mine.ipynb, which this tool did not write"):
        write_student_versions(src, out)
    (out / "mine.ipynb").unlink()
    (out / "notes.txt").write_text("grades")
    with pytest.raises(RefusedError, match="notes.txt"):
        write_student_versions(src, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"], "a refusal writes nothing"
    assert write_student_versions(src, out, force=True) == {"01_demo.ipynb": 1}
    assert (out / "notes.txt").read_text() == "grades"


def test_rewrites_its_own_output_and_force_from_the_command_line(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    nbformat.write(_nb(), src / "01_demo.ipynb")
    write_student_versions(src, out)
    assert nbformat.read(out / "01_demo.ipynb", as_version=4).metadata[STAMP] is True
    assert write_student_versions(src, out) == {"01_demo.ipynb": 1}, "its own output may be rewritten"
    (out / "notes.txt").write_text("x")
    result = _cli(src, "--out", out)
    assert result.returncode == 2 and "--force" in result.stderr
    assert _cli(src, "--out", out, "--force").returncode == 0


def test_refuses_a_source_folder_without_solutions(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), src / "01_demo.ipynb")
    with pytest.raises(RefusedError, match="no notebook .* has a solution"):
        write_student_versions(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("line", ["# BEGIN SOLUTION", "## BEGIN SOLUTION", "### BEGIN SOLUTION here",
                                  "### begin solution", "#BEGIN SOLUTION", "# END SOLUTION"])
def test_a_marker_that_is_not_exact_is_an_error_naming_notebook_and_cell(tmp_path, line):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(_nb(), src / "01_good.ipynb")
    bad = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("x = 1"),
                              new_code_cell(f"def f():\n    {line}\n    return 1\n    {END}\n")])
    nbformat.write(bad, src / "02_bad.ipynb")
    with pytest.raises(MarkerError, match=r"02_bad\.ipynb, cell 2, line 2: .*is not a marker"):
        write_student_versions(src, tmp_path / "out")
    result = _cli(src, "--out", tmp_path / "out")
    assert result.returncode == 2 and "02_bad.ipynb, cell 2" in result.stderr
    assert not (tmp_path / "out").exists(), "an error writes nothing, not even the good notebook"


@pytest.mark.parametrize("source, message", [
    (f"def f():\n    {BEGIN}\n    return 1\n", "02_bad.ipynb, cell 0, line 2: .* never closed"),
    (f"x = 1\n{END}\n", "02_bad.ipynb, cell 0, line 2: .* without a"),
])
def test_unbalanced_markers_name_the_notebook(tmp_path, source, message):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), src / "02_bad.ipynb")
    with pytest.raises(MarkerError, match=message):
        write_student_versions(src, tmp_path / "out")


def test_a_file_that_is_not_a_notebook_is_named(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "03_broken.ipynb").write_text("this is not json")
    result = _cli(src, "--out", tmp_path / "out")
    assert result.returncode == 2 and "03_broken.ipynb is not a notebook" in result.stderr, result.stderr
    (src / "03_broken.ipynb").unlink()
    (src / "README.md").write_text("# notes")
    result = _cli(src / "README.md", "--out", tmp_path / "out")
    assert result.returncode == 2 and "README.md is a file" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
