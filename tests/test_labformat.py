"""Notebooks are stored exactly as JupyterLab saves them, so that opening one changes nothing (no
unsaved-changes mark, no autosave rewrite, no conflict on `git pull`). The reference for JupyterLab's
number handling is JavaScript itself (node), where it is installed."""

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cmkt_lib.tools import labformat
from cmkt_lib.tools.labformat import KERNEL_DISPLAY_NAME, js_number, js_round_trip, lab_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TRICKY = [1.0, 0.0, -0.0, 100.0, 0.1, 1 / 3, 1e-7, 1e-05, 3e-07, 1e15, 1e16, 1.5e20, 1e21, 1e22,
          123456789012345678.0, 2 ** 53, 2 ** 53 + 1, 2 ** 60 + 3, -(2 ** 64) - 5, 12345678901234567890,
          5e-324, 1.7976931348623157e308, 7, -3, True, False, None, "1.0"]


def _nb(**metadata):
    nb = new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                **metadata})
    nb.cells = [new_markdown_cell("ü — 🎵 中文"), new_code_cell("x = 1\nprint(x)")]
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_is_stored_as_jupyterlab_saves_it(path):
    text = path.read_text(encoding="utf-8")
    assert text == lab_text(text), (
        f"{path.name} is not stored as JupyterLab would save it, so opening it marks it modified; run "
        f"python -m cmkt_lib.tools.labformat notebooks/{path.name}")


def test_integral_floats_become_ints_as_in_javascript():
    assert [js_number(x) for x in (1.0, 0.0, -0.0, 1e16)] == [1, 0, 0, 10 ** 16]
    assert all(type(js_number(x)) is int for x in (1.0, 0.0, -0.0, 1e16))
    assert json.dumps(js_round_trip({"max": 1.0, "step": 0.1})) == '{"max": 1, "step": 0.1}'


def test_exponents_and_huge_numbers_keep_what_python_reads_back():
    assert json.dumps(js_round_trip([1e-07, 1e-05, 1e21, 1.5e300])) == "[1e-07, 1e-05, 1e+21, 1.5e+300]"
    assert js_number(2 ** 53 + 1) == 2 ** 53  # not exact in a double
    assert js_number(12345678901234567890) == 12345678901234567000  # JavaScript's shortest digits


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 10 ** 400])
def test_numbers_javascript_cannot_hold_are_refused_in_words(bad):
    with pytest.raises(ValueError, match="string"):
        js_number(bad)


def test_numbers_match_javascript_itself():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: JavaScript's own JSON round trip cannot be compared")
    script = 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(JSON.parse(s))))'
    js = subprocess.run([node, "-e", script], input=json.dumps(TRICKY), capture_output=True, text=True, check=True).stdout
    assert json.dumps(js_round_trip(TRICKY)) == json.dumps(json.loads(js))


def test_text_is_nbformat_with_the_kernel_display_name_and_unicode_kept():
    text = lab_text(_nb(extra={"a": 1.0}))
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "ü — 🎵 中文" in text and "\\u" not in text
    assert '\n "cells": [\n' in text  # indent 1, keys sorted
    data = json.loads(text)
    assert data["metadata"]["kernelspec"]["display_name"] == KERNEL_DISPLAY_NAME
    assert data["metadata"]["extra"] == {"a": 1} and '"a": 1\n' in text
    assert data["cells"][1]["source"] == ["x = 1\n", "print(x)"]


def test_another_kernel_keeps_its_name():
    nb = _nb()
    nb.metadata.kernelspec = {"display_name": "R", "language": "R", "name": "ir"}
    assert json.loads(lab_text(nb))["metadata"]["kernelspec"]["display_name"] == "R"


def test_collapsed_and_outputs_hidden_are_kept_equal_as_jupyterlab_does():
    nb = _nb()
    nb.cells = [new_code_cell("1", metadata={"collapsed": False}),
                new_code_cell("2", metadata={"jupyter": {"outputs_hidden": True}}),
                new_code_cell("3", metadata={"collapsed": True, "jupyter": {"outputs_hidden": False}}),
                new_code_cell("4", metadata={"scrolled": True})]
    cells = json.loads(lab_text(nb))["cells"]
    assert cells[0]["metadata"] == {"collapsed": False, "jupyter": {"outputs_hidden": False}}
    assert cells[1]["metadata"] == {"collapsed": True, "jupyter": {"outputs_hidden": True}}
    assert cells[2]["metadata"] == {"collapsed": True, "jupyter": {"outputs_hidden": True}}
    assert cells[3]["metadata"] == {"scrolled": True}


def test_lab_text_is_stable_and_accepts_a_node_a_dict_or_text():
    once = lab_text(_nb(extra={"b": 2.0}))
    assert lab_text(once) == once == lab_text(json.loads(once)) == lab_text(nbformat.reads(once, as_version=4))


def test_a_non_notebook_is_refused_in_words():
    with pytest.raises(ValueError, match="nbformat 4"):
        lab_text({"cells": []})


def test_the_command_checks_then_rewrites(tmp_path, capsys):
    path = tmp_path / "a.ipynb"
    nbformat.write(_nb(extra={"c": 3.0}), path)
    assert labformat.main(["--check", str(path)]) == 1
    assert "1 of 1" in capsys.readouterr().out
    assert labformat.main([str(path)]) == 0
    assert labformat.main(["--check", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == lab_text(path.read_text(encoding="utf-8"))


def test_the_display_name_is_ipykernels():
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    assert kernelspec.get_kernel_dict()["display_name"] == KERNEL_DISPLAY_NAME
