import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cmkt_lib.bench import README_END, README_START
from cmkt_lib.runner import results_table, run_notebook

ROOT = Path(__file__).resolve().parent.parent


def test_run_notebook_measures_a_tiny_notebook(tmp_path):
    cells = [
        new_code_cell("import numpy as np\nx = np.ones((1000, 1000))"),
        new_code_cell("from cmkt_lib import show_headline\nshow_headline({'answer': 42, 'mean': float(x.mean())})",
                      metadata={"tags": ["headline"]}),
    ]
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    result = run_notebook(path, device="cpu", timeout=120)
    assert result["notebook"] == "01_tiny.ipynb"
    assert result["headline"] == {"answer": 42, "mean": 1.0}
    assert result["device"].startswith("cpu")
    assert result["peak_memory_mb"] > 8  # it held an 8 MB array
    assert result["wall_seconds"] > 0
    assert len(nbformat.read(path, as_version=4).cells) == 2, "the notebook on disk is not changed"


def test_run_notebook_reports_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no notebook"):
        run_notebook(tmp_path / "nope.ipynb")


def test_results_table():
    results = {"machine": {"date": "2026-11-27", "cores": 2, "cpu": "x", "gpu": None, "python": "3.11", "torch": "2"},
               "notebooks": [{"notebook": "00_a.ipynb", "device": "cpu", "wall_seconds": 61.0,
                              "peak_memory_mb": 500.0, "headline": {"acc": 0.91234, "n": 3}}]}
    table = results_table(results)
    assert "| 00_a.ipynb | cpu | 61 | 500 | acc = 0.912, n = 3 |" in table
    assert "no GPU" in table and "1.0 minutes" in table


def test_readme_table_matches_the_results_file():
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index(README_START) + len(README_START):readme.index(README_END)].strip()
    results = ROOT / "results" / "course.json"
    if not results.exists():
        assert "Not measured yet" in shown
    else:
        assert shown == results_table(json.loads(results.read_text()))
