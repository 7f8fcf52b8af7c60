import matplotlib

matplotlib.use("Agg")  # draw without a display

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import FancyBboxPatch

from cmkt_lib import Vocabulary, make_world
from cmkt_lib.plots import MODEL_COLOUR, object_views_figure, three_families_figure


@pytest.fixture(scope="module")
def world():
    return make_world(50, seed=3)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_three_families_has_one_panel_per_family_with_its_boxes():
    fig = three_families_figure()
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left")[:3] for ax in panels] == ["(1)", "(2)", "(3)"]
    boxes = [sum(isinstance(p, FancyBboxPatch) for p in ax.patches) for ax in panels]
    # (1) image, text, sound, the shared network, the prediction; (2) two inputs, two encoders,
    # the shared space; (3) two inputs, two encoders, f, g and the output
    assert boxes == [5, 5, 7]
    learnt = [sum(isinstance(p, FancyBboxPatch) and matplotlib.colors.same_color(p.get_facecolor(), MODEL_COLOUR)
                  for p in ax.patches) for ax in panels]
    assert learnt == [1, 2, 4], "learnt networks: h; enc_I, enc_T; enc_I, enc_T, f, g"
    texts = _texts(fig)
    assert "transfer $f$" in texts and "$Z$" in texts and "output $Y'$" in texts
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels == ["image", "text", "sound", "learnt network"]
    assert fig._suptitle.get_text() == "Three families of cross-modal methods"


def test_object_views_shows_the_objects_caption_tokens_and_attributes(world):
    vocab = Vocabulary()
    i = 7
    fig = object_views_figure(world, i, vocab)
    image_ax, caption_ax, wave_ax, spec_ax = fig.axes[:4]
    assert len(fig.axes) == 5, "four views and the spectrogram's colour bar"
    np.testing.assert_allclose(image_ax.images[0].get_array(), world.images[i].transpose(1, 2, 0))
    caption_text = " ".join(caption_ax.texts[0].get_text().split())
    assert caption_text == f'"{world.captions[i]}"'
    ids = vocab.encode(world.captions[i])
    assert " ".join(caption_ax.texts[1].get_text().split()) == "token ids: " + " ".join(str(t) for t in ids[ids > 0])
    assert len(wave_ax.lines[0].get_ydata()) == 240, "30 ms at 8 kHz"
    assert spec_ax.images[0].get_array().shape == (32, 32)
    attrs = world.describe(i)
    title = fig._suptitle.get_text()
    assert title.startswith(f"object {i}:") and attrs["colour"] in title and attrs["shape"] in title


def test_object_views_defaults_to_the_course_vocabulary(world):
    fig = object_views_figure(world, np.int64(3))
    assert fig._suptitle.get_text().startswith("object 3:")


@pytest.mark.parametrize("i, error, words", [
    (50, ValueError, "this world has 50 objects"), (-1, ValueError, "does not exist"),
    (2.0, TypeError, "i must be a whole number, got 2.0"),  # a wrong type: TypeError, as in scikit-learn
    (True, TypeError, "i must be a whole number, got True")])
def test_object_views_says_which_index_is_wrong(world, i, error, words):
    with pytest.raises(error, match=words):
        object_views_figure(world, i)


def test_object_views_wants_a_world():
    with pytest.raises(TypeError, match="World"):
        object_views_figure(np.zeros((3, 3, 32, 32)), 0)
