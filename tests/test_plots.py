import matplotlib

matplotlib.use("Agg")  # draw without a display

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import FancyBboxPatch

from cmkt_lib import Vocabulary, make_world
from cmkt_lib import COLOURS, CONCEPTS, SHAPES, concept_of
from cmkt_lib.plots import (MODEL_COLOUR, concept_map_figure, loss_and_accuracy_figure, object_views_figure,
                            same_sound_figure, three_families_figure)


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
    assert "transfer $f$" in texts and "$Z$" in texts and "prediction $\\hat{y}$" in texts
    assert texts.count("$X$") == 1, "X (the source's features) is drawn once, in family (3)"
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


# ---------------------------------------------------------------- notebook 01: the figures moved out of it

def test_same_sound_shows_both_images_and_spectrograms_on_one_scale(world):
    fig = same_sound_figure(world, 1, 2)
    (img_a, img_b), (spec_a, spec_b) = [fig.axes[0], fig.axes[1]], [fig.axes[2], fig.axes[3]]
    np.testing.assert_allclose(img_a.images[0].get_array(), world.images[1].transpose(1, 2, 0))
    np.testing.assert_allclose(img_b.images[0].get_array(), world.images[2].transpose(1, 2, 0))
    assert spec_a.images[0].get_clim() == spec_b.images[0].get_clim(), "one colour scale for both sounds"
    assert spec_a.images[0].get_array().shape == (32, 32)


@pytest.mark.parametrize("a, b, error", [(0, 50, ValueError), (0.5, 1, TypeError)])
def test_same_sound_says_which_index_is_wrong(world, a, b, error):
    with pytest.raises(error):
        same_sound_figure(world, a, b)


def test_concept_map_labels_every_cell_with_the_librarys_rule():
    fig = concept_map_figure()
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == [concept_of(s, c) for s in SHAPES for c in COLOURS]
    assert set(labels) == set(CONCEPTS)


def test_loss_and_accuracy_draws_each_run_each_seed_and_each_line():
    fig = loss_and_accuracy_figure({"real": [2.0, 1.0, 0.5], "random": [1.0, -2.0, -9.0]},
                                   {"chance": [0.2, 0.2], "model": [0.9, 0.95]}, {"ceiling": 1.0})
    ax_loss, ax_acc = fig.axes
    assert [line.get_label() for line in ax_loss.lines[:2]] == ["real", "random"]
    assert ax_loss.get_ylim() == (-4.0, 4.0)
    assert [round(p.get_height(), 3) for p in ax_acc.patches] == [0.2, 0.925], "bars at the means"
    dots = [line for line in ax_acc.lines if line.get_marker() == "o"]
    assert [list(d.get_ydata()) for d in dots] == [[0.2, 0.2], [0.9, 0.95]], "one dot per seed"
    assert any(line.get_label() == "ceiling: 1.00" for line in ax_acc.lines)


def test_loss_and_accuracy_wants_runs():
    with pytest.raises(ValueError, match="at least one run"):
        loss_and_accuracy_figure({}, {"model": [0.9]})


def test_loss_and_accuracy_can_show_the_whole_curve_and_mark_one_bar():
    fig = loss_and_accuracy_figure({"random": [1.0, -2.0, -9.0]}, {"a": [0.2], "b": [0.9]},
                                   {"floor": 0.16}, loss_limit=None, marks={"b": ("text alone", 0.5)})
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_ylim()[0] < -9.0 and "cut" not in ax_loss.get_title() and ax_loss.get_yscale() == "symlog"
    mark = [line for line in ax_acc.lines if line.get_label() == "text alone: 0.50"]
    assert len(mark) == 1 and list(mark[0].get_xdata()) == [0.55, 1.45], "the mark spans bar b only"
    with pytest.raises(ValueError, match="not in accuracies"):
        loss_and_accuracy_figure({"r": [1.0]}, {"a": [0.2]}, marks={"c": ("x", 0.5)})


def test_same_sound_can_add_a_third_object_on_the_same_scale(world):
    fig = same_sound_figure(world, 1, 2, other=3)
    spectrogram_axes = [ax for ax in fig.axes if ax.images and ax.get_ylabel() == "mel frequency bin"]
    assert len(spectrogram_axes) == 3
    assert len({ax.images[0].get_clim() for ax in spectrogram_axes}) == 1, "one colour scale"


def test_playable_repeats_the_sound_with_pauses_and_leaves_it_unchanged(world):
    from cmkt_lib.plots import playable
    from cmkt_lib.sound import SAMPLE_RATE

    wave = world.waveforms[0].copy()
    out = playable(wave, repeats=3, gap_seconds=0.1)
    gap = int(round(0.1 * SAMPLE_RATE))
    assert out.shape == (3 * (len(wave) + gap),)
    for k in range(3):
        start = k * (len(wave) + gap)
        np.testing.assert_array_equal(out[start:start + len(wave)], wave.astype(np.float32))
        assert not out[start + len(wave):start + len(wave) + gap].any()
    np.testing.assert_array_equal(wave, world.waveforms[0])  # the world's sound is not touched
    assert len(playable(wave)) / SAMPLE_RATE > 1.5  # the default is long enough to hear


def test_audio_player_is_a_plain_html_output_of_the_longer_sound(world):
    from cmkt_lib.plots import audio_player

    html = audio_player(world.waveforms[0])._repr_html_()
    assert "<audio" in html and "data:audio/wav;base64," in html


@pytest.mark.parametrize("bad, words", [(np.zeros((2, 5)), "1-D"), (np.zeros(0), "1-D")])
def test_playable_says_what_is_wrong_with_a_bad_waveform(bad, words):
    from cmkt_lib.plots import playable

    with pytest.raises(ValueError, match=words):
        playable(bad)


def test_playable_refuses_zero_repeats(world):
    from cmkt_lib.plots import playable

    with pytest.raises(ValueError, match="repeats"):
        playable(world.waveforms[0], repeats=0)
