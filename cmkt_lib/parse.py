"""Reads a caption back into attributes: the inverse of the caption grammar in `captions.py`.

`parse_caption("a tiny crimson disc at the upper left")` ->
`{'shape': 'circle', 'colour': 'red', 'size': 'small', 'position': 'top left'}`.
The word lists are the grammar's own synonym tables, so the parser cannot drift from them."""

import numpy as np

from .attributes import TARGETS
from .captions import COLOUR_WORDS, POSITION_WORDS, SHAPE_WORDS, SIZE_WORDS, tokenize

PARSED = ("shape", "colour", "size", "position")  # the attributes a caption can name
_TABLES = {"shape": SHAPE_WORDS, "colour": COLOUR_WORDS, "size": SIZE_WORDS, "position": POSITION_WORDS}


def _phrases() -> list:
    """(words tuple, attribute, value) for every synonym, longest phrases first, so that
    "centre left" is read as one position and not as "centre" followed by "left"."""
    out = []
    for attribute, table in _TABLES.items():
        for value, synonyms in table.items():
            for phrase in synonyms:
                out.append((tuple(tokenize(phrase)), attribute, value))
    words = {}
    for phrase, attribute, value in out:
        if words.setdefault(phrase, (attribute, value)) != (attribute, value):
            raise RuntimeError(f"the caption grammar uses {' '.join(phrase)!r} for two meanings")
    return sorted(out, key=lambda p: -len(p[0]))


PHRASES = _phrases()
_LOOKUP = {phrase: (attribute, value) for phrase, attribute, value in PHRASES}
_LENGTHS = sorted({len(phrase) for phrase in _LOOKUP}, reverse=True)


def parse_caption(text: str) -> dict:
    """The attributes a caption names: {'shape', 'colour', 'size', 'position'} -> the canonical
    value (e.g. 'circle', 'top left') or None when the caption does not mention it. When an
    attribute is named twice (a decoder can repeat itself), the first mention counts."""
    if not isinstance(text, str):
        raise TypeError(f"parse_caption expects a caption string, got {type(text).__name__}; "
                        "turn token ids into text first with Vocabulary().decode(ids)")
    words = tokenize(text)
    found = dict.fromkeys(PARSED)
    i = 0
    while i < len(words):
        for length in _LENGTHS:
            match = _LOOKUP.get(tuple(words[i:i + length]))
            if match is not None:
                attribute, value = match
                if found[attribute] is None:
                    found[attribute] = value
                i += length
                break
        else:
            i += 1  # a grammar word such as "the" or "holds"
    return found


def parse_captions_to_labels(texts) -> dict:
    """Integer labels of what each caption names, ready to compare with `World.labels`:
    attribute -> int64 `(n,)`, with -1 where a caption does not name that attribute."""
    if isinstance(texts, str):
        raise TypeError("parse_captions_to_labels expects a list of captions; use parse_caption for one")
    parsed = [parse_caption(t) for t in texts]
    return {
        attribute: np.array([TARGETS[attribute].index(p[attribute]) if p[attribute] is not None else -1
                             for p in parsed], dtype=np.int64)
        for attribute in PARSED
    }
