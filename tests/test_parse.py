import itertools

import numpy as np
import pytest

from cmkt_lib.attributes import COLOURS, POSITIONS, SHAPES, SIZES
from cmkt_lib.captions import (
    COLOUR_WORDS, FULL_TEMPLATES, PARTIAL_TEMPLATES, POSITION_WORDS, SHAPE_WORDS, SIZE_WORDS, write_captions,
)
from cmkt_lib.parse import parse_caption, parse_captions_to_labels


def _fill(template, size, colour, shape, position, synonyms):
    return template.format(s=SIZE_WORDS[size][synonyms[0]], c=COLOUR_WORDS[colour][synonyms[1]],
                           h=SHAPE_WORDS[shape][synonyms[2]], p=POSITION_WORDS[position][synonyms[3]])


@pytest.mark.parametrize("template", FULL_TEMPLATES)
def test_every_full_template_and_every_synonym_parses_back(template):
    # every combination of values; the synonym of each slot cycles so that every value is
    # written with each of its synonyms in every template
    all_synonyms = list(itertools.product((0, 1), repeat=4))
    combos = itertools.product(SHAPES, COLOURS, SIZES, POSITIONS)
    for i, (shape, colour, size, position) in enumerate(combos):
        for synonyms in (all_synonyms[i % 16], all_synonyms[15 - i % 16]):
            text = _fill(template, size, colour, shape, position, synonyms)
            assert parse_caption(text) == {"shape": shape, "colour": colour, "size": size, "position": position}, text


def test_round_trip_through_write_captions_full_style():
    rng = np.random.default_rng(0)
    n = 3000
    attrs = {"shape": rng.integers(6, size=n), "colour": rng.integers(6, size=n),
             "size": rng.integers(3, size=n), "position": rng.integers(9, size=n)}
    captions = write_captions(attrs["shape"], attrs["colour"], attrs["size"], attrs["position"],
                              np.random.default_rng(1), style="full")
    # the sample covers every template's fixed words and every synonym
    words = set(" ".join(captions).replace(",", "").replace(":", "").split())
    for table in (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, POSITION_WORDS):
        for synonyms in table.values():
            for s in synonyms:
                assert set(s.split()) <= words, s
    labels = parse_captions_to_labels(captions)
    for attribute, values in attrs.items():
        np.testing.assert_array_equal(labels[attribute], values, err_msg=attribute)


def test_partial_captions_give_none_for_what_they_do_not_name():
    for template in PARTIAL_TEMPLATES:
        text = _fill(template, "large", "orange", "diamond", "middle left", (1, 1, 1, 1))
        parsed = parse_caption(text)
        for attribute, slot, value in (("size", "{s}", "large"), ("colour", "{c}", "orange"),
                                       ("shape", "{h}", "diamond"), ("position", "{p}", "middle left")):
            assert parsed[attribute] == (value if slot in template else None), (template, parsed)


def test_longest_phrase_wins_and_first_mention_counts():
    assert parse_caption("centre left")["position"] == "middle left"
    assert parse_caption("centre")["position"] == "middle centre"
    assert parse_caption("top centre")["position"] == "top centre"
    assert parse_caption("a red blue box box")["colour"] == "red"
    assert parse_caption("") == {"shape": None, "colour": None, "size": None, "position": None}
    assert parse_caption("A BIG Crimson Disc!") == {"shape": "circle", "colour": "red", "size": "large",
                                                    "position": None}


def test_labels_use_minus_one_for_missing():
    labels = parse_captions_to_labels(["a red circle", "a tiny box at the lower right"])
    assert labels["colour"].tolist() == [COLOURS.index("red"), -1]
    assert labels["position"].tolist() == [-1, POSITIONS.index("bottom right")]
    assert labels["size"].dtype == np.int64


def test_bad_inputs():
    with pytest.raises(TypeError, match="Vocabulary\\(\\).decode"):
        parse_caption([3, 4, 5])
    with pytest.raises(TypeError, match="use parse_caption for one"):
        parse_captions_to_labels("a red circle")
