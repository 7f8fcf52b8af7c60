"""The tri-modal world: objects seen as an image, described by a caption and heard as a sound.

`make_world(n, seed)` draws n objects and renders all three views. Every attribute is known,
so the relation between modalities can be dialled (pair noise, noise level), broken on purpose,
and measured.

What is promised: the same arguments give the same world in any process, on any CPU (x86-64 with
or without AVX-512, Arm) and any Python version the course supports. Attributes, captions and
splits come from integer draws; images and sounds are computed in float64 and rounded to the grid
that data/ stores them on (1/255 for pixels, 1/32767 for sound samples). Different CPUs compute
sin, cos, exp and arctan2 in float64 within about 1e-13 of a grid step of each other, and
tests/test_data.py proves that every stored value of the standard test split lies at least 1e-9 of
a step away from a rounding boundary, so the rounded values agree everywhere. The spectrograms are
computed on the fly by torch and are *not* bit-identical across CPUs (differences of about 1e-6).
"""

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from numbers import Integral, Real

import numpy as np

from ._validate import check_scalar
from .attributes import (
    COLOURS, CONCEPTS, HORIZONTAL, RGB, SHAPES, SIZE_RADIUS, SIZES, TARGETS, check_value,
    concept_of,
)
from .captions import write_captions
from .render import render_images
from .sound import LOUDNESS, PITCH, log_mel_spectrogram, synthesize

SPLITS = ("train", "val", "test", "unseen")
# make_world keeps about 20 KB per object (float32 image and sound) and needs about 90 KB per
# object at its peak while drawing (float64 images, noise, masks). Raise this on a big machine.
MAX_OBJECTS = 200_000
PEAK_BYTES_PER_OBJECT = 90_000
KEPT_BYTES_PER_OBJECT = 3 * 32 * 32 * 4 + 2048 * 4
LABELS = tuple(TARGETS)  # integer label arrays: shape, colour, size, position, concept


@dataclass
class World:
    """n objects, three views each, and everything that is known about them.

    images: float32 `(n, 3, 32, 32)` in [0, 1]; captions: n strings; waveforms: float32
    `(n, 2048)` in [-1, 1] at 8 kHz; attributes: the image's labels (int64 `(n,)` for shape,
    colour, size, position, concept) and geometry (float32 radius, x, y in pixels);
    caption_source: int64 `(n,)`, the object that caption i and sound i really describe
    (i itself unless the pair was shuffled by `pair_noise`); splits: split name -> indices."""

    images: np.ndarray
    captions: list
    waveforms: np.ndarray
    attributes: dict
    caption_source: np.ndarray
    splits: dict
    config: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.captions)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        return f"World(n={len(self)}, splits: {sizes})"

    @cached_property
    def spectrograms(self) -> np.ndarray:
        """Log-mel spectrograms of the sounds, float32 `(n, 32, 32)` (mel bins x frames)."""
        return log_mel_spectrogram(self.waveforms).numpy()

    @property
    def is_mispaired(self) -> np.ndarray:
        """Boolean `(n,)`: True where caption and sound belong to another object."""
        return self.caption_source != np.arange(len(self))

    def labels(self, target: str) -> np.ndarray:
        """Integer class labels `(n,)` of the image for `target` (see `class_names`)."""
        _check_target(target)
        return self.attributes[target]

    def caption_labels(self, target: str) -> np.ndarray:
        """Labels of what caption i and sound i describe (differs from `labels` where mis-paired)."""
        return self.labels(target)[self.caption_source]

    @staticmethod
    def class_names(target: str) -> tuple:
        _check_target(target)
        return TARGETS[target]

    def describe(self, i: int) -> dict:
        """The attribute names of object i, e.g. {'shape': 'star', 'colour': 'red', ...}."""
        return {t: TARGETS[t][self.attributes[t][i]] for t in LABELS}

    def indices(self, split: str) -> np.ndarray:
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; this world has {list(self.splits)}")
        return self.splits[split]

    def subset(self, which) -> "World":
        """A new World holding only `which` (a split name or an index array), in that order.
        Splits are kept, re-indexed; caption_source is re-indexed where its target is kept."""
        idx = self.indices(which) if isinstance(which, str) else np.asarray(which, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= len(self))):
            raise ValueError(f"indices must be a 1-D array of values in [0, {len(self)})")
        position = np.full(len(self), -1, dtype=np.int64)
        position[idx] = np.arange(len(idx))
        source = position[self.caption_source[idx]]
        if (source < 0).any():
            # the partner is outside the subset: keep the pair, but the caption's own
            # attributes can no longer be looked up by index; point it at itself
            source = np.where(source < 0, np.arange(len(idx)), source)
        sub = World(
            images=self.images[idx],
            captions=[self.captions[i] for i in idx],
            waveforms=self.waveforms[idx],
            attributes={k: v[idx] for k, v in self.attributes.items()},
            caption_source=source,
            splits={k: np.flatnonzero(np.isin(idx, v)) for k, v in self.splits.items()},
            config=dict(self.config, subset=True),
        )
        if "spectrograms" in self.__dict__:
            sub.__dict__["spectrograms"] = self.spectrograms[idx]
        return sub


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {list(TARGETS)}")


def _check_names(target: str, values, minimum: int) -> tuple:
    if isinstance(values, str):
        values = (values,)
    values = tuple(values)
    for v in values:
        check_value(target, v)
    if len(set(values)) != len(values):
        raise ValueError(f"{target} values must not repeat, got {list(values)}")
    if len(values) < minimum:
        raise ValueError(f"need at least {minimum} {target} values, got {list(values)}")
    return values


def _check_holdout(holdout_combos, holdout_shapes, shapes, colours):
    holdout_shapes = _check_names("shape", holdout_shapes, 0)
    for s in holdout_shapes:
        if s not in shapes:
            raise ValueError(f"held-out shape {s!r} is not among this world's shapes {list(shapes)}")
    if len(shapes) - len(holdout_shapes) < 2:
        raise ValueError("hold out fewer shapes: at least two shapes must stay in training")
    combos = []
    for combo in holdout_combos:
        if isinstance(combo, str) or len(combo) != 2:
            raise ValueError(
                f"each held-out combination is a (shape, colour) pair such as ('star', 'red'); got {combo!r}"
            )
        s, c = combo
        check_value("shape", s)
        check_value("colour", c)
        if s not in shapes or c not in colours:
            raise ValueError(f"held-out combination {combo!r} uses a shape or colour this world does not draw")
        combos.append((s, c))
    seen = set(combos)
    for s in shapes:
        if s not in holdout_shapes and all((s, c) in seen for c in colours):
            raise ValueError(
                f"holding out every colour of {s!r} leaves no {s} to train on; hold out fewer "
                f"combinations, or use holdout_shapes=({s!r},) to hold out the whole class"
            )
    for c in colours:
        if all((s, c) in seen or s in holdout_shapes for s in shapes):
            raise ValueError(f"holding out these combinations leaves no {c} object to train on")
    return tuple(combos), holdout_shapes


def from_grid(steps: np.ndarray, levels: int) -> np.ndarray:
    """float32 values k / levels from whole grid steps k (a uint8 image: 255, an int16 sound:
    32767). make_world and the frozen copy's loader both decode with this, so they agree to the
    last bit."""
    return np.asarray(steps).astype(np.float32) / np.float32(levels)


def _quantise(x: np.ndarray, levels: int) -> np.ndarray:
    """Round float64 values to the grid that data/ stores them on."""
    return from_grid(np.round(x * levels), levels)


def make_world(
    n: int,
    seed: int = 0,
    *,
    noise: float = 0.2,
    pair_noise: float = 0.0,
    holdout_combos=(),
    holdout_shapes=(),
    caption_style: str = "varied",
    shapes=SHAPES,
    colours=COLOURS,
    split_fractions=(0.8, 0.1, 0.1),
) -> World:
    """Draw n objects with all three views.

    noise: image and sound noise level in [0, 1]. pair_noise: fraction of objects whose caption
    and sound belong to another object (the "unclear relation" dial). holdout_combos: (shape,
    colour) pairs, and holdout_shapes: whole shape classes, that never enter train/val/test but
    go to the "unseen" split (compositional and class zero-shot). Mis-paired captions and sounds
    are exchanged only within a split, so no held-out object's caption or sound reaches
    train/val/test and no test caption reaches train. caption_style: "varied" (some captions are
    partial) or "full" (every caption names every attribute)."""
    check_scalar(n, "n", Integral, min_val=1, hint="it is the number of objects")
    if n > MAX_OBJECTS:
        raise ValueError(
            f"make_world(n={n:,}) would need about {_gib(n * PEAK_BYTES_PER_OBJECT)} of memory while drawing "
            f"and keep {_gib(n * KEPT_BYTES_PER_OBJECT)} (images and sounds), so it is refused before anything "
            f"is allocated: at most {MAX_OBJECTS:,} objects (about {_gib(MAX_OBJECTS * PEAK_BYTES_PER_OBJECT)}). "
            "The standard world has 10,000. On a machine with the memory, raise "
            "cmkt_lib.world.MAX_OBJECTS first")
    check_scalar(seed, "seed", Integral, min_val=0)
    noise = float(check_scalar(noise, "noise", Real, min_val=0, max_val=1))
    pair_noise = float(check_scalar(pair_noise, "pair_noise", Real, min_val=0, max_val=1))
    shapes = _check_names("shape", shapes, 2)
    colours = _check_names("colour", colours, 2)
    combos, held_shapes = _check_holdout(holdout_combos, holdout_shapes, shapes, colours)
    fractions = tuple(float(f) for f in split_fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split_fractions are (train, val, test) and must sum to 1, got {split_fractions!r}")
    n = int(n)

    r_attr, r_img, r_snd, r_txt, r_pair, r_split = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)
    )

    # 1. attributes
    shape = np.array([SHAPES.index(s) for s in shapes])[r_attr.integers(len(shapes), size=n)]
    colour = np.array([COLOURS.index(c) for c in colours])[r_attr.integers(len(colours), size=n)]
    size = r_attr.integers(len(SIZES), size=n)
    row, col = r_attr.integers(3, size=n), r_attr.integers(3, size=n)
    position = row * len(HORIZONTAL) + col
    low = np.array([SIZE_RADIUS[s][0] for s in SIZES])[size]
    high = np.array([SIZE_RADIUS[s][1] for s in SIZES])[size]
    radius = (low + (high - low) * r_attr.random(n)).astype(np.float32)
    x = (8.0 + 8.0 * col + r_attr.uniform(-2, 2, n)).astype(np.float32)
    y = (8.0 + 8.0 * row + r_attr.uniform(-2, 2, n)).astype(np.float32)
    concept_table = np.array(
        [[CONCEPTS.index(concept_of(s, c)) for c in COLOURS] for s in SHAPES]
    )
    concept = concept_table[shape, colour]

    # 2. images
    rgb = np.array([RGB[c] for c in COLOURS], dtype=np.float32)[colour]
    rgb = np.clip(rgb + r_img.uniform(-0.06, 0.06, rgb.shape), 0, 1).astype(np.float32)
    grey = r_img.uniform(0.3, 0.6, (n, 1))
    background = np.clip(grey + r_img.uniform(-0.05, 0.05, (n, 3)), 0, 1).astype(np.float32)
    angle = r_img.uniform(-0.2, 0.2, n)
    images = render_images(shape, rgb, radius, x, y, angle, background, np.full(n, 0.5 * noise), r_img)
    images = _quantise(images, 255)

    # 3. splits: held-out combinations and shapes go to "unseen", the rest is shuffled
    held = np.zeros(n, dtype=bool)
    for s, c in combos:
        held |= (shape == SHAPES.index(s)) & (colour == COLOURS.index(c))
    for s in held_shapes:
        held |= shape == SHAPES.index(s)
    rest = r_split.permutation(np.flatnonzero(~held))
    n_train = int(round(fractions[0] * len(rest)))
    n_val = int(round(fractions[1] * len(rest)))
    splits = {
        "train": np.sort(rest[:n_train]),
        "val": np.sort(rest[n_train:n_train + n_val]),
        "test": np.sort(rest[n_train + n_val:]),
        "unseen": np.flatnonzero(held),
    }

    # 4. pairing: a pair_noise fraction of captions and sounds is moved to other objects of the
    #    same split (moving them across splits would leak held-out or test captions into train)
    source = np.arange(n)
    moved = r_pair.permutation(n)[: int(round(pair_noise * n))]
    split_of = np.empty(n, dtype=np.int64)
    for k, members in enumerate(splits.values()):
        split_of[members] = k
    for k in range(len(splits)):
        group = moved[split_of[moved] == k]
        if len(group) >= 2:
            source[group] = np.roll(group, 1)
    asked, got = len(moved), int((source != np.arange(n)).sum())
    if got < asked and (got == 0 or asked - got > max(1, asked // 10)):
        warnings.warn(
            f"pair_noise={pair_noise:g} of n={n} objects asked for {asked} mis-paired caption(s) and sound(s), "
            f"but only {got} were mis-paired: a caption moves only to another object of its own split, and "
            "a split that draws a single one to move keeps it in place. Use a larger n (or pair_noise) for "
            "the fraction you asked for", stacklevel=2)

    # 5. sounds and captions describe object source[i]
    pitch = np.array([PITCH[c] for c in COLOURS])[colour[source]]
    frequency = pitch * r_snd.uniform(0.97, 1.03, n)
    amplitude = np.array([LOUDNESS[s] for s in SIZES])[size[source]] * r_snd.uniform(0.9, 1.1, n)
    waveforms = synthesize(shape[source], frequency, amplitude, np.full(n, 0.5 * noise), r_snd)
    waveforms = _quantise(waveforms, 32767)
    captions = write_captions(
        shape[source], colour[source], size[source], position[source], r_txt, style=caption_style
    )

    attributes = {
        "shape": shape.astype(np.int64),
        "colour": colour.astype(np.int64),
        "size": size.astype(np.int64),
        "position": position.astype(np.int64),
        "concept": concept.astype(np.int64),
        "radius": radius,
        "x": x,
        "y": y,
    }
    config = dict(
        n=n, seed=int(seed), noise=noise, pair_noise=pair_noise, holdout_combos=combos,
        holdout_shapes=held_shapes, caption_style=caption_style, shapes=shapes,
        colours=colours, split_fractions=fractions,
    )
    return World(images, captions, waveforms, attributes, source.astype(np.int64), splits, config)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2 ** 30:,.1f} GiB"


def few_shot_indices(labels, per_class: int, seed: int = 0, pool=None) -> np.ndarray:
    """Indices of exactly `per_class` examples of each class present in `labels[pool]`,
    drawn without replacement and returned sorted: a few-shot training subset."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}")
    check_scalar(per_class, "per_class", Integral, min_val=1, hint="it is how many items to draw of each class")
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool, dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels[pool]):
        members = pool[labels[pool] == cls]
        if len(members) < per_class:
            raise ValueError(
                f"class {cls} has only {len(members)} examples in the pool, fewer than the "
                f"{per_class} per class asked for; ask for fewer or use a larger pool"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))

