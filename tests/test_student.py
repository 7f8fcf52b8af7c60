import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cmkt_lib.tools.student import BEGIN, END, MarkerError, strip_solutions, student_notebook, write_student_versions

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
    with pytest.raises(ValueError, match="must differ"):
        write_student_versions(tmp_path, tmp_path)
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_student_versions(tmp_path / "empty", tmp_path / "out")
