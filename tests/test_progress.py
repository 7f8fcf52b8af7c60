"""cmkt_lib.progress: the training loops' bars leave their final line as a notebook's stored text."""

import nbformat
import pytest

from cmkt_lib import sweeps
from cmkt_lib.progress import tqdm

WIDGET = "application/vnd.jupyter.widget-view+json"


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
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from cmkt_lib.progress import tqdm\n"
        "bar = tqdm(range(6), desc='epochs', unit='epoch')\n"
        "for i in bar:\n"
        "    bar.set_postfix(loss=f'{1 / (i + 1):.3f}', val_loss='0.095', val_metric='0.987', refresh=False)\n"
        "print('trained')")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    views = [o for o in nb.cells[0].outputs if WIDGET in o.get("data", {})]
    assert len(views) == 1, nb.cells[0].outputs
    text = views[0]["data"]["text/plain"]
    assert text.startswith("epochs: 100%") and "6/6" in text and "loss=0.167" in text, text
    assert text.endswith("val_metric=0.987]"), f"the stored line lost its end: {text}"
    assert nb.cells[0].outputs[-1]["text"] == "trained\n"
