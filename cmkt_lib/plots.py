"""The course's drawings whose code teaches nothing about cross-modal transfer (notebook 01 uses them).

A learner needs to *look* at these figures, not to read how they are drawn, so their matplotlib
code lives here instead of in a long notebook cell:

- `object_views_figure(world, i)`: one object of the world seen four ways (image, caption with its
  token ids, waveform, log-mel spectrogram); notebook 01, section 1, and its widget;
- `same_sound_figure(world, a, b)`: two objects that differ only in position, their images and
  their spectrograms; notebook 01, section 1;
- `concept_map_figure()`: the high-level concept of every (shape, colour) pair; notebook 01, section 2;
- `three_families_figure()`: the map of the three families of cross-modal methods as box
  diagrams; notebook 01, section 3;
- `loss_and_accuracy_figure(losses, accuracies, lines)`: training losses beside test accuracies
  over seeds, with floors and ceilings drawn as lines; notebook 01, section 5;
- `playable(waveform)` and `audio_player(waveform)`: a sound repeated with short pauses, for
  listening only (each of the world's sounds lasts 0.256 s, too short for a browser's player to show
  or for an ear to catch); notebook 00, section 2.

Each `..._figure` function draws a new figure and returns it; the notebook calls `plt.show()` to
display it."""

import textwrap
from numbers import Integral, Real

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.patches import FancyBboxPatch, Patch

from ._validate import check_scalar
from .attributes import COLOURS, CONCEPTS, SHAPES, concept_of
from .captions import Vocabulary
from .sound import SAMPLE_RATE, log_mel_spectrogram
from .world import World

# box colours of the three-families diagram
MODALITY_COLOURS = {"image": "#9ecae1", "text": "#fdd0a2", "sound": "#a1d99b"}
MODEL_COLOUR, OUTPUT_COLOUR = "#e0e0e0", "white"


def object_views_figure(world: World, i: int, vocab: Vocabulary | None = None) -> plt.Figure:
    """Draw object `i` of `world` four ways: image, caption (with the token ids `vocab` gives it),
    the first 30 ms of its waveform and its log-mel spectrogram. Returns the figure.

    `vocab` defaults to the course's `Vocabulary()`. Used by notebook 01 (section 1 and its widget)."""
    if not isinstance(world, World):
        raise TypeError(f"world must be a cmkt_lib World (from make_world or standard_world), "
                        f"got {type(world).__name__}")
    check_scalar(i, "i", Integral, hint="the index of one object")
    if not 0 <= i < len(world):
        raise ValueError(f"object {i} does not exist: this world has {len(world)} objects, "
                         f"numbered 0 to {len(world) - 1}")
    i = int(i)
    vocab = Vocabulary() if vocab is None else vocab
    attrs = world.describe(i)
    spectrogram = log_mel_spectrogram(world.waveforms[i:i + 1])[0].numpy()  # (32 mel bins, 32 frames)
    tokens = vocab.encode(world.captions[i])
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), gridspec_kw={"width_ratios": [1, 1.3, 1.6, 1.2]})

    axes[0].imshow(world.images[i].transpose(1, 2, 0))
    axes[0].set(title="image (3 × 32 × 32)", xlabel="x (pixels)", ylabel="y (pixels)")
    axes[0].grid(False)

    axes[1].axis("off")
    axes[1].set_title("caption (text)")
    words = "\n".join(textwrap.wrap(f'"{world.captions[i]}"', 26))
    ids = "\n".join(textwrap.wrap("token ids: " + " ".join(str(t) for t in tokens[tokens > 0]), 30))
    axes[1].text(0.0, 0.75, words, fontsize=13, va="center", transform=axes[1].transAxes)
    axes[1].text(0.0, 0.25, ids, fontsize=10, va="center", family="monospace",
                 color="dimgray", transform=axes[1].transAxes)

    shown = int(0.030 * SAMPLE_RATE)  # the first 30 ms of 256, so single periods are visible
    t_ms = np.arange(shown) / SAMPLE_RATE * 1000
    axes[2].plot(t_ms, world.waveforms[i, :shown], lw=1.2, color="tab:green")
    axes[2].set(title="sound: waveform (first 30 ms)", xlabel="time (ms)", ylabel="amplitude", ylim=(-1, 1))

    im = axes[3].imshow(spectrogram, origin="lower", aspect="auto", cmap="magma")
    axes[3].set(title="sound: log-mel spectrogram", xlabel="time frame", ylabel="mel frequency bin")
    axes[3].grid(False)
    fig.colorbar(im, ax=axes[3], label="log power")

    fig.suptitle(f"object {i}: a {attrs['size']} {attrs['colour']} {attrs['shape']} at the "
                 f"{attrs['position']} (concept: {attrs['concept']})", fontsize=14, y=1.03)
    return fig


def same_sound_figure(world: World, a: int, b: int, other: int | None = None) -> plt.Figure:
    """Objects `a` and `b` of `world` (the same shape, colour and size, two positions): their images
    on top, their log-mel spectrograms below on one colour scale. With `other` (the same object in
    another colour, say), a third column shows it on the same scale. Returns the figure."""
    if not isinstance(world, World):
        raise TypeError(f"world must be a cmkt_lib World, got {type(world).__name__}")
    named = [("a", a), ("b", b)] + ([("other", other)] if other is not None else [])
    for name, i in named:
        check_scalar(i, name, Integral, hint="the index of one object")
        if not 0 <= i < len(world):
            raise ValueError(f"object {i} does not exist: this world has {len(world)} objects")
    objects = [int(i) for _, i in named]
    spectrograms = log_mel_spectrogram(world.waveforms[objects]).numpy()
    fig, axes = plt.subplots(2, len(objects), figsize=(4.5 * len(objects), 8), layout="constrained")
    for col, i in enumerate(objects):
        attrs = world.describe(i)
        axes[0, col].imshow(world.images[i].transpose(1, 2, 0))
        axes[0, col].set(title=f"object {i}: {attrs['colour']}, {attrs['position']}",
                         xlabel="x (pixels)", ylabel="y (pixels)")
        im = axes[1, col].imshow(spectrograms[col], origin="lower", aspect="auto", cmap="magma",
                                 vmin=spectrograms.min(), vmax=spectrograms.max())
        axes[1, col].set(title=f"object {i}: its sound", xlabel="time frame", ylabel="mel frequency bin")
    for ax in axes.flat:
        ax.grid(False)
    fig.colorbar(im, ax=axes[1, :], label="log power")
    attrs = world.describe(int(a))
    title = f"Two {attrs['size']} {attrs['colour']} {attrs['shape']}s: different places, nearly the same sound"
    if other is not None:
        title += f"; in {world.describe(objects[2])['colour']}, another pitch"
    fig.suptitle(title, fontsize=13)
    return fig


CONCEPT_PALETTE = {"safe": "#4c9f70", "neutral": "#bdbdbd", "danger": "#d9534f"}


def concept_map_figure() -> plt.Figure:
    """The high-level concept of every (shape, colour) pair, computed from `concept_of`: one row per
    shape, one column per colour. Returns the figure."""
    table = np.array([[CONCEPTS.index(concept_of(s, c)) for c in COLOURS] for s in SHAPES])
    fig, ax = plt.subplots(figsize=(7.5, 5))
    sns.heatmap(table, ax=ax, cmap=ListedColormap([CONCEPT_PALETTE[c] for c in CONCEPTS]),
                vmin=-0.5, vmax=len(CONCEPTS) - 0.5, annot=np.array(CONCEPTS)[table], fmt="",
                linewidths=1, linecolor="white", xticklabels=COLOURS, yticklabels=SHAPES,
                cbar_kws={"ticks": list(range(len(CONCEPTS))), "label": "concept"})
    ax.collections[0].colorbar.set_ticklabels(CONCEPTS)
    ax.set(title="The high-level concept needs shape AND colour",
           xlabel="colour (red, orange, yellow are warm)", ylabel="shape (triangle, star, cross are sharp)")
    fig.tight_layout()
    return fig


def loss_and_accuracy_figure(losses: dict, accuracies: dict, lines: dict | None = None,
                             loss_limit: float | None = 4.0, marks: dict | None = None) -> plt.Figure:
    """Left: each run's training loss per step (`losses`: name -> list of losses), cut at
    +-`loss_limit` (None: the whole curve, on a symlog axis). Right: test accuracy (`accuracies`: name -> one value per
    seed) as a bar at the mean with one dot per seed; `lines` (name -> accuracy) as dashed lines across
    every bar, for a floor that holds for all of them; `marks` (bar name -> (label, accuracy)) as a short
    dashed line over that bar only, for a reference that belongs to one bar. Returns the figure."""
    if not losses or not accuracies:
        raise ValueError("losses and accuracies must each name at least one run")
    lines, marks = lines or {}, marks or {}
    unknown = sorted(set(marks) - set(accuracies))
    if unknown:
        raise ValueError(f"marks name bars that are not in accuracies: {unknown}")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [1.2, 1.2]})
    for k, (name, curve) in enumerate(losses.items()):
        ax_loss.plot(curve, label=name, color=f"C{k}", alpha=0.85)
    ax_loss.axhline(0, color="black", lw=1, ls="--", label="zero: a real cross-entropy never goes below")
    title = "Training loss per step" + (f" (cut at ±{loss_limit:g})" if loss_limit is not None else
                                        " (linear within ±1, logarithmic beyond)")
    ax_loss.set(title=title, xlabel="training step", ylabel="cross-entropy loss")
    if loss_limit is not None:
        ax_loss.set_ylim(-loss_limit, loss_limit)
    else:  # the whole curve: a diverging loss and a loss near zero both stay readable
        ax_loss.set_yscale("symlog", linthresh=1.0)
    ax_loss.legend(fontsize=9, loc="upper right")
    names = list(accuracies)
    means = [float(np.mean(accuracies[n])) for n in names]
    ax_acc.bar(range(len(names)), means, color=[f"C{k}" for k in range(len(names))], alpha=0.6)
    for k, n in enumerate(names):
        ax_acc.plot([k] * len(accuracies[n]), accuracies[n], "o", color="black", ms=4)
        ax_acc.text(k, means[k] + 0.03, f"{means[k]:.2f}", ha="center", fontsize=11)
    for j, (name, value) in enumerate(lines.items()):
        ax_acc.axhline(value, color=f"C{len(names) + j + 1}", ls="--", lw=1.5, label=f"{name}: {value:.2f}")
    for n, (label, value) in marks.items():
        k = names.index(n)
        ax_acc.plot([k - 0.45, k + 0.45], [value, value], color="black", ls=":", lw=2,
                    label=f"{label}: {value:.2f}")
    ax_acc.set_xticks(range(len(names)), names, fontsize=9)
    ax_acc.set(title="Test accuracy (bar: mean; dots: one per seed)", ylabel="test accuracy", ylim=(0, 1.12))
    if lines or marks:  # below the axes, so that it hides no bar
        ax_acc.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=1, frameon=False)
    fig.tight_layout()
    return fig


def _box(ax, x, y, text, colour, w=1.7, h=0.7):
    """A rounded box centred at (x, y); returns its geometry for `_arrow`."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                fc=colour, ec="black", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=12)
    return x, y, w, h


def _arrow(ax, start, end, label=None):
    """An arrow from the right edge of box `start` to the left edge of box `end`."""
    (x0, y0, w0, _), (x1, y1, w1, _) = start, end
    p0, p1 = (x0 + w0 / 2, y0), (x1 - w1 / 2, y1)
    ax.annotate("", xy=p1, xytext=p0, arrowprops=dict(arrowstyle="-|>", lw=1.4, color="black"))
    if label:
        ax.text((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2 + 0.13, label, ha="center", va="bottom",
                fontsize=12, style="italic")


def _multimodal_network(ax):
    """(1) one shared network over every modality."""
    ax.set_title("(1) multimodal network:  $\\hat{y} = h(I, T, A)$", loc="left", fontsize=14)
    inputs = [_box(ax, 1.2, y, f"{name} {sym}", MODALITY_COLOURS[name])
              for name, sym, y in (("image", "$I$", 2.4), ("text", "$T$", 1.4), ("sound", "$A$", 0.4))]
    shared = _box(ax, 5.0, 1.4, "one shared\nnetwork $h$", MODEL_COLOUR, w=2.4, h=2.6)
    for b in inputs:
        _arrow(ax, b, (shared[0], b[1], shared[2], shared[3]))
    out = _box(ax, 8.6, 1.4, "prediction $\\hat{y}$", OUTPUT_COLOUR)
    _arrow(ax, shared, out)
    ax.text(10.0, 1.4, "fusion: every modality\nenters the same network", va="center", fontsize=11)


def _cross_modal_embeddings(ax):
    """(2) one encoder per modality, one shared space."""
    ax.set_title("(2) cross-modal embeddings:  $\\cos(\\mathrm{enc}_I(I_i), \\mathrm{enc}_T(T_i))$ high",
                 loc="left", fontsize=14)
    img = _box(ax, 1.2, 2.2, "image $I$", MODALITY_COLOURS["image"])
    txt = _box(ax, 1.2, 0.6, "text $T$", MODALITY_COLOURS["text"])
    enc_i = _box(ax, 4.0, 2.2, "$\\mathrm{enc}_I$", MODEL_COLOUR)
    enc_t = _box(ax, 4.0, 0.6, "$\\mathrm{enc}_T$", MODEL_COLOUR)
    space = _box(ax, 8.2, 1.4, "", OUTPUT_COLOUR, w=2.8, h=2.6)
    _arrow(ax, img, enc_i)
    _arrow(ax, txt, enc_t)
    _arrow(ax, enc_i, (space[0], 2.2, space[2], space[3]))
    _arrow(ax, enc_t, (space[0], 0.6, space[2], space[3]))
    ax.text(8.2, 2.45, "shared space", ha="center", fontsize=12, weight="bold")
    for (px, py), c in zip([(7.4, 1.6), (8.5, 0.8), (9.0, 1.8)], ["#d9534f", "#337ab7", "#4c9f70"]):
        ax.plot(px, py, "o", color=c, ms=10, mec="black")
        ax.plot(px + 0.25, py - 0.12, "^", color=c, ms=10, mec="black")
    ax.plot([], [], "o", color="gray", mec="black", label="image embedding $\\mathrm{enc}_I(I_i)$")
    ax.plot([], [], "^", color="gray", mec="black", label="text embedding $\\mathrm{enc}_T(T_i)$\n(same colour = a pair)")
    ax.legend(loc="center left", bbox_to_anchor=(0.74, 0.5), fontsize=10, frameon=False)


def _knowledge_transfer_network(ax):
    """(3) Z = f(X) from the source modality, y_hat = g(Y, Z) for the target modality: the general
    form, drawn for text -> image (notebook 01, section 4, is a special case: no enc_T, Z only a target)."""
    ax.set_title("(3) knowledge-transfer network:  $Z = f(X)$,  $\\hat{y} = g(Y, Z)$", loc="left", fontsize=14)
    txt = _box(ax, 1.2, 2.2, "text $T$", MODALITY_COLOURS["text"])
    img = _box(ax, 1.2, 0.6, "image $I$", MODALITY_COLOURS["image"])
    enc_t = _box(ax, 3.6, 2.2, "$\\mathrm{enc}_T$", MODEL_COLOUR)
    enc_i = _box(ax, 3.6, 0.6, "$\\mathrm{enc}_I$", MODEL_COLOUR)
    f = _box(ax, 6.2, 2.2, "transfer $f$", MODEL_COLOUR)
    g = _box(ax, 8.8, 1.4, "$g$", MODEL_COLOUR, w=1.2)
    out = _box(ax, 11.2, 1.4, "prediction $\\hat{y}$", OUTPUT_COLOUR)
    _arrow(ax, txt, enc_t)
    _arrow(ax, img, enc_i)
    _arrow(ax, enc_t, f, "$X$")
    _arrow(ax, f, (g[0], 1.7, g[2], g[3]), "$Z$")
    _arrow(ax, enc_i, (g[0], 1.1, g[2], g[3]), "$Y$")
    _arrow(ax, g, out)
    ax.text(7.3, 2.75, "source modality (here the text):\nwhere the knowledge is learnt", ha="left",
            va="center", fontsize=10, color="dimgray")
    ax.text(6.2, 0.05, "target modality (here the image): where it is used", ha="center", fontsize=10,
            color="dimgray")


def three_families_figure() -> plt.Figure:
    """The map of notebook 01, section 3: the three families of cross-modal methods, one box diagram
    each, (1) multimodal network, (2) cross-modal embeddings, (3) knowledge-transfer network.
    Box colours: one per modality, grey for a learnt network. Returns the figure."""
    fig, axes = plt.subplots(3, 1, figsize=(13, 11))
    for ax in axes:
        ax.set(xlim=(0, 13), ylim=(-0.3, 3.1))
        ax.axis("off")
    _multimodal_network(axes[0])
    _cross_modal_embeddings(axes[1])
    _knowledge_transfer_network(axes[2])
    handles = [Patch(fc=c, ec="black") for c in [*MODALITY_COLOURS.values(), MODEL_COLOUR]]
    fig.legend(handles, [*MODALITY_COLOURS, "learnt network"], loc="lower center", ncol=4, fontsize=11,
               title="box colours")
    fig.suptitle("Three families of cross-modal methods", fontsize=16, y=0.99)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def learning_curves_figure(histories: dict, title: str = "learning curves", ncols: int = 4) -> plt.Figure:
    """One small panel per trained model: training loss and validation loss per epoch (from
    `fit`'s history), with the epoch whose validation accuracy was best (the weights kept) marked.
    histories: name -> history dict. Notebook 03 uses it for its encoders and heads."""
    if not isinstance(histories, dict) or not histories:
        raise ValueError("histories must be a non-empty dict name -> the dict that fit() returned")
    n = len(histories)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, sharex=False)
    for ax, (name, h) in zip(axes.flat, histories.items()):
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax.plot(epochs, h["train_loss"], label="train loss")
        if h.get("val_loss"):
            ax.plot(epochs, h["val_loss"], label="validation loss")
        ax.axvline(h["best_epoch"], color="grey", linestyle=":", label="kept (best val. accuracy)")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].set_ylabel("cross-entropy", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def playable(waveform, rate: int = SAMPLE_RATE, repeats: int = 5, gap_seconds: float = 0.15) -> np.ndarray:
    """The sound `waveform` (shape (T,), at `rate` samples per second) played `repeats` times with
    `gap_seconds` of silence after each: shape (repeats * (T + gap),), float32. For listening only:
    the world's sounds and spectrograms stay as they are. With the defaults a 0.256 s sound of the
    world lasts about 2 s, long enough for a browser's player to show a length and for an ear to
    hear the timbre."""
    wave = np.asarray(waveform, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"waveform must be one sound, a 1-D array of samples; got shape {wave.shape}. "
                         "Pass one row, e.g. world.waveforms[i]")
    check_scalar(rate, "rate", Integral, min_val=1)
    check_scalar(repeats, "repeats", Integral, min_val=1)
    check_scalar(gap_seconds, "gap_seconds", Real, min_val=0)
    gap = np.zeros(int(round(gap_seconds * rate)), dtype=np.float32)
    return np.tile(np.concatenate([wave, gap]), repeats)


def audio_player(waveform, rate: int = SAMPLE_RATE, repeats: int = 5, gap_seconds: float = 0.15,
                 normalize: bool = True):
    """An `IPython.display.Audio` player of `playable(waveform, ...)`. It is a plain HTML output (a
    WAV file inside the page), so a stored notebook, GitHub and an HTML export play it without a
    running kernel or widget manager. `normalize=False` keeps loudness comparable between players
    (the samples must then lie in [-1, 1])."""
    from IPython.display import Audio

    return Audio(playable(waveform, rate, repeats, gap_seconds), rate=rate, normalize=normalize)
