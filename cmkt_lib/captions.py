"""Captions: text written from an object's attributes, with synonyms, varied word order and
partial descriptions, plus the tokenizer that turns them into integer ids.

Some everyday synonyms ("scarlet", "azure", "ring", ...) are kept out of the captions on
purpose, so that a later notebook can test words the course's own encoders never saw.
"""

import re

import numpy as np

from .attributes import COLOURS, POSITIONS, SHAPES, SIZES

COLOUR_WORDS = {
    "red": ("red", "crimson"),
    "orange": ("orange", "amber"),
    "yellow": ("yellow", "golden"),
    "green": ("green", "emerald"),
    "blue": ("blue", "navy"),
    "purple": ("purple", "violet"),
}
SHAPE_WORDS = {
    "circle": ("circle", "disc"),
    "square": ("square", "box"),
    "triangle": ("triangle", "wedge"),
    "star": ("star", "pentagram"),
    "cross": ("cross", "plus"),
    "diamond": ("diamond", "rhombus"),
}
SIZE_WORDS = {
    "small": ("small", "tiny"),
    "medium": ("medium", "mid-sized"),
    "large": ("large", "big"),
}
POSITION_WORDS = {
    "top left": ("top left", "upper left"),
    "top centre": ("top", "top centre"),
    "top right": ("top right", "upper right"),
    "middle left": ("left", "centre left"),
    "middle centre": ("centre", "middle"),
    "middle right": ("right", "centre right"),
    "bottom left": ("bottom left", "lower left"),
    "bottom centre": ("bottom", "bottom centre"),
    "bottom right": ("bottom right", "lower right"),
}

# {s} size, {c} colour, {h} shape, {p} position. Templates that leave a slot out are the
# partial descriptions; FULL_TEMPLATES name every attribute.
FULL_TEMPLATES = (
    "a {s} {c} {h} at the {p}",
    "{p}: {c} {h}, {s}",
    "there is a {s} {c} {h} in the {p}",
    "{s} {h}, {c}, {p}",
    "the {p} holds a {s} {c} {h}",
    "a {c} {h} that is {s}, at the {p}",
)
PARTIAL_TEMPLATES = (
    "a {c} {h}",
    "{p}: {c} {h}",
    "a {s} {h} at the {p}",
    "a {s} {c} {h}",
    "a {c} shape at the {p}",
    "{h} at the {p}",
)
CAPTION_STYLES = ("full", "varied")

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)?")
_A_BEFORE_VOWEL = re.compile(r"\ba (?=[aeiou])")


def write_captions(
    shape: np.ndarray,
    colour: np.ndarray,
    size: np.ndarray,
    position: np.ndarray,
    rng: np.random.Generator,
    style: str = "varied",
    partial_rate: float = 0.3,
) -> list:
    """One caption per object from integer attribute arrays (each `(n,)`).

    style="full" names every attribute; style="varied" uses a partial description for
    about `partial_rate` of the objects."""
    if style not in CAPTION_STYLES:
        raise ValueError(f"caption style must be one of {CAPTION_STYLES}, got {style!r}")
    n = len(shape)
    partial = rng.random(n) < (partial_rate if style == "varied" else 0.0)
    t_full = rng.integers(len(FULL_TEMPLATES), size=n)
    t_part = rng.integers(len(PARTIAL_TEMPLATES), size=n)
    synonym = rng.integers(2, size=(n, 4))
    captions = []
    for i in range(n):
        template = PARTIAL_TEMPLATES[t_part[i]] if partial[i] else FULL_TEMPLATES[t_full[i]]
        text = template.format(
            s=SIZE_WORDS[SIZES[size[i]]][synonym[i, 0]],
            c=COLOUR_WORDS[COLOURS[colour[i]]][synonym[i, 1]],
            h=SHAPE_WORDS[SHAPES[shape[i]]][synonym[i, 2]],
            p=POSITION_WORDS[POSITIONS[position[i]]][synonym[i, 3]],
        )
        captions.append(_A_BEFORE_VOWEL.sub("an ", text))
    return captions


def tokenize(text: str) -> list:
    """Lower-case words, hyphenated words kept whole ("mid-sized"); punctuation dropped."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


def caption_words() -> list:
    """Every word the caption grammar can write, sorted: the course's closed vocabulary."""
    texts = list(FULL_TEMPLATES) + list(PARTIAL_TEMPLATES)
    for table in (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, POSITION_WORDS):
        texts += [w for words in table.values() for w in words]
    words = {"an"}  # "a" becomes "an" before a vowel: "an amber star"
    for t in texts:
        words.update(tokenize(re.sub(r"\{[a-z]\}", " ", t)))
    return sorted(words)


class Vocabulary:
    """Maps caption words to integer ids and back. Id 0 is padding; unknown words map to
    <unk>, so a word the grammar never writes ("scarlet") is visible as unknown."""

    def __init__(self, words=None):
        words = caption_words() if words is None else list(words)
        self.itos = [PAD, UNK, BOS, EOS] + [w for w in words if w not in (PAD, UNK, BOS, EOS)]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def bos_id(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    def encode(self, text: str, max_len: int = 16, add_special: bool = False) -> np.ndarray:
        """Token ids of `text`, cut or padded to `max_len`: int64 `(max_len,)`.
        With add_special, the ids are wrapped in <bos> ... <eos> (for decoders)."""
        if not isinstance(max_len, (int, np.integer)) or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
        ids = [self.stoi.get(w, self.unk_id) for w in tokenize(text)]
        if add_special:
            ids = [self.bos_id] + ids + [self.eos_id]
        ids = ids[:max_len]
        return np.array(ids + [self.pad_id] * (max_len - len(ids)), dtype=np.int64)

    def encode_batch(self, texts, max_len: int = 16, add_special: bool = False) -> np.ndarray:
        """Token ids for a list of texts: int64 `(len(texts), max_len)`."""
        if isinstance(texts, str):
            raise TypeError("encode_batch expects a list of strings; use encode for one string")
        out = np.full((len(texts), max_len), self.pad_id, dtype=np.int64)
        for i, t in enumerate(texts):
            out[i] = self.encode(t, max_len, add_special)
        return out

    def decode(self, ids) -> str:
        """Words for a sequence of ids, stopping at <eos> and skipping padding and <bos>."""
        words = []
        for i in np.asarray(ids).tolist():
            if not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i} is outside the vocabulary (0..{len(self) - 1})")
            w = self.itos[i]
            if w == EOS:
                break
            if w not in (PAD, BOS):
                words.append(w)
        return " ".join(words)
