"""Checks on the course as a whole: notebook hygiene, Colab links, README and CI in step."""

import re
from pathlib import Path

import nbformat
import pytest

from cmkt_lib import read_headline
from cmkt_lib.tools.course import GITHUB_REPO, colab_url
from cmkt_lib.tools.links import SETUP_TAG, setup_cell_source, sync_notebook, sync_readme

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_and_they_are_numbered():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name} is not named NN_words.ipynb"
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert len(numbers) == len(set(numbers)), f"two notebooks share a number: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    for i, cell in enumerate(code):
        tags = cell.metadata.get("tags", [])
        assert cell.execution_count is not None, f"{path.name}: code cell {i} was never executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors or "raises-exception" in tags, f"{path.name}: code cell {i} stores an error"
    setup = [c for c in nb.cells if SETUP_TAG in c.metadata.get("tags", [])]
    assert len(setup) == 1 and setup[0] is code[0], f"{path.name}: the first code cell must be the Colab set-up cell"
    assert "headline" in code[-1].metadata.get("tags", []), f"{path.name}: the last code cell must be tagged headline"
    headline = read_headline(path)
    assert headline and all(isinstance(v, (int, float)) for v in headline.values())
    assert colab_url(path.name) in nb.cells[0].source, f"{path.name}: the first cell needs its Colab badge"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_random_draw_follows_the_parameters_cell(path):
    """A `parameters` cell (papermill's convention) sets SEED before anything random happens, and
    no code cell seeds with a number of its own: rerunning with another SEED changes every draw."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters'"
    assert re.search(r"^SEED = 0\b", code[params[0]].source, flags=re.M), f"{path.name}: parameters cell sets no SEED = 0"
    before = "".join(c.source for c in code[: params[0]])
    assert not re.search(r"torch|make_world|standard_world", before), f"{path.name}: something runs before the parameters"
    for i, cell in enumerate(code):
        fixed = re.findall(r"(?:manual_seed|seed_everything|default_rng)\(\d+\)|\bseed=\d", cell.source)
        assert not fixed, f"{path.name}: code cell {i} seeds with a fixed number ({fixed[0]}); derive it from SEED"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_machine_reports_are_not_compared(path):
    """The device line ("cpu (2 threads)") differs from machine to machine: nbval must not compare it."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and re.search(r"describe_device\(|get_num_threads\(", cell.source):
            tags = cell.metadata.get("tags", [])
            assert {"nbval-ignore-output", "nbval-skip"} & set(tags), \
                f"{path.name}: cell {i} reports the machine; tag it nbval-ignore-output"


def test_badges_and_setup_cells_follow_the_configured_location():
    stale = [p.name for p in NOTEBOOKS if sync_notebook(p, write=False)]
    if sync_readme(ROOT / "README.md", write=False):
        stale.append("README.md")
    assert not stale, f"out of date, run `python -m cmkt_lib.tools.links`: {stale}"
    assert f"github.com/{GITHUB_REPO}.git" in setup_cell_source()


def test_readme_lists_every_notebook_with_a_badge():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert colab_url(path.name) in readme, f"README has no Colab badge for {path.name}"


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    setup, test = "pip install -r requirements.txt", "pytest"
    assert setup in blocks and test in blocks, "README must show the set-up and test commands"
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert setup in ci_lines and test in ci_lines


def test_requirements_are_lower_bounds_except_nbval():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [l for l in lines if l and not l.startswith("-e")]
    assert "nbval==0.11.0" in reqs
    for req in reqs:
        if req != "nbval==0.11.0":
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+>=[\d.]+", req), f"{req} is not a lower bound"
    assert "-e .[tools]" in lines, "requirements.txt must install the course's own package with its tooling"


# ipywidgets 8 names that Colab's ipywidgets 7.7.1 does not have: a notebook using one would break there.
IPYWIDGETS_8_ONLY = ("Stack", "TagsInput", "ColorsInput", "FloatsInput", "IntsInput", "NaiveDatetimePicker")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widgets_work_on_colabs_ipywidgets_7(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    used = [name for name in IPYWIDGETS_8_ONLY if re.search(rf"\b{name}\s*\(", code)]
    assert not used, f"{path.name} uses {used}, which ipywidgets 7.7.1 (Colab) does not have"
    assert "description_allow_html" not in code, "description_allow_html is ipywidgets 8 only"


# What would let one notebook depend on another: writing files a later notebook could read, or
# running/importing another notebook. Reading the course's own data/ goes through cmkt_lib.
WRITES_OR_IMPORTS = re.compile(
    r"torch\.save\(|save_file\(|np\.save|savez|\.to_(?:csv|json|pickle|parquet)\(|savefig\(|write_(?:text|bytes)\("
    r"|open\([^)]*['\"][wax]b?\+?['\"]|^\s*%run|import_ipynb|\.ipynb|pickle\.|joblib", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_depends_on_another(path):
    """Each notebook stands alone: it writes no file another could read and runs no other notebook."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found = WRITES_OR_IMPORTS.search(cell.source)
            assert not found, f"{path.name}: cell {i} writes a file or runs another notebook ({found.group(0)!r})"


def test_notation_is_linked_and_its_local_uses_name_real_notebooks():
    notation = (ROOT / "docs" / "NOTATION.md").read_text()
    assert "docs/NOTATION.md" in (ROOT / "README.md").read_text()
    local = notation.split("## Local uses", 1)[1]
    numbers = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    for row in local.splitlines()[4:]:
        if row.startswith("| "):
            cited = {n.strip() for n in row.split("|")[1].split(",")}
            assert cited <= numbers, f"NOTATION.md names a notebook that does not exist: {row}"
