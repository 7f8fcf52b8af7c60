"""Every widget that shows pictures has a static picture of its stored view right after it, so a
notebook opened without a running kernel (untrusted after a clone, GitHub, an offline HTML export)
still shows what the widget showed."""

import copy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cmkt_lib.tools.fallbacks import STATE, TAG, VIEW, add_fallbacks, main, widget_views

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PNG, OTHER_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", "iVBORw0KGgoAAAANSUhEUgAAAAIAAAAC"


def _widget_nb(outputs_of_output_widget, plain=()):
    """A notebook whose cell 1 displays an `interactive` (a slider and an Output widget)."""
    state = {
        "aa11": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_bb22", "IPY_MODEL_cc33"]}},
        "bb22": {"model_name": "IntSliderModel", "state": {"value": 3}},
        "cc33": {"model_name": "OutputModel", "state": {"outputs": outputs_of_output_widget}},
    }
    code = new_code_cell("widgets.interactive(show, k=3)", execution_count=1)
    code.id = "abc123"
    code.outputs = [new_output("display_data", data={"image/png": p}) for p in plain] + [
        new_output("display_data", data={VIEW: {"model_id": "aa11", "version_major": 2, "version_minor": 0},
                                         "text/plain": "interactive(children=(IntSlider(value=3), Output()))"})]
    nb = new_notebook(metadata={"widgets": {STATE: {"state": state, "version_major": 2, "version_minor": 0}}})
    nb.cells = [new_markdown_cell("# demo"), code, new_markdown_cell("after")]
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_widget_with_pictures_has_its_stored_view_after_it(path):
    nb = nbformat.read(path, as_version=4)
    assert not add_fallbacks(nb), (f"{path.name}: the pictures after its widgets are missing or out of date; run "
                                   f"python -m cmkt_lib.tools.fallbacks notebooks/{path.name}")


def test_the_views_follow_the_widget_to_its_output_area():
    nb = _widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}},
                     {"output_type": "stream", "name": "stdout", "text": "caption: a red disc\n"}])
    views = widget_views(nb.metadata.widgets[STATE]["state"], "aa11")
    assert views == [("png", PNG), ("text", "caption: a red disc\n")]


def test_a_picture_and_its_text_go_in_a_tagged_markdown_cell_right_after():
    nb = _widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}},
                     {"output_type": "stream", "name": "stdout", "text": "caption: a red disc\n"}])
    assert add_fallbacks(nb)
    cell = nb.cells[2]
    assert cell.cell_type == "markdown" and cell.metadata.tags == [TAG] and cell.id == "abc123-view"
    assert cell.attachments == {"widget-view-1.png": {"image/png": PNG}}
    assert "(attachment:widget-view-1.png)" in cell.source and "```text\ncaption: a red disc\n```" in cell.source
    assert nb.cells[3].source == "after"
    assert not add_fallbacks(nb)  # up to date: nothing more to do


def test_a_changed_view_replaces_the_old_picture_and_a_gone_widget_drops_it():
    nb = _widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}}])
    add_fallbacks(nb)
    nb.metadata.widgets[STATE]["state"]["cc33"]["state"]["outputs"][0]["data"]["image/png"] = OTHER_PNG
    assert add_fallbacks(nb) and nb.cells[2].attachments["widget-view-1.png"]["image/png"] == OTHER_PNG
    assert len(nb.cells) == 4
    nb.cells[1].outputs = []
    assert add_fallbacks(nb) and [c.source for c in nb.cells] == ["# demo", "widgets.interactive(show, k=3)", "after"]


def test_no_picture_no_fallback_and_no_repeat_of_a_static_result():
    text_only = _widget_nb([{"output_type": "stream", "name": "stdout", "text": "nothing drawn\n"}])
    assert not add_fallbacks(text_only)
    already_shown = _widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}}], plain=[PNG])
    assert not add_fallbacks(already_shown)


def test_markdown_the_tool_did_not_write_is_never_touched():
    nb = _widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}}])
    nb.cells.insert(2, new_markdown_cell("my own note about the widget"))
    before = copy.deepcopy(nb.cells)
    add_fallbacks(nb)
    assert [c.source for c in nb.cells if TAG not in c.metadata.get("tags", [])] == [c.source for c in before]


def test_the_command_checks_then_writes(tmp_path, capsys):
    path = tmp_path / "demo.ipynb"
    nbformat.write(_widget_nb([{"output_type": "display_data", "data": {"image/png": PNG}}]), path)
    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0 and main(["--check", str(path)]) == 0
    assert "1 of 1 notebooks out of date" not in capsys.readouterr().out.splitlines()[-1]
