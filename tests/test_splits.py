from collections import Counter

import pytest

from cmkt_lib import COLOURS, SHAPES
from cmkt_lib.splits import latin_holdout, single_attribute_rule_score


def test_each_shape_and_colour_is_held_out_exactly_twice_and_still_seen():
    held = latin_holdout(SHAPES, COLOURS, per_attribute=2)
    assert len(held) == len(set(held)) == 12
    assert Counter(s for s, _ in held) == {s: 2 for s in SHAPES}
    assert Counter(c for _, c in held) == {c: 2 for c in COLOURS}
    seen = {(s, c) for s in SHAPES for c in COLOURS} - set(held)
    assert {s for s, _ in seen} == set(SHAPES) and {c for _, c in seen} == set(COLOURS)


def test_one_attribute_rule_scores_at_most_the_largest_share():
    held = latin_holdout(SHAPES, COLOURS, per_attribute=2)
    balanced = [p for p in held for _ in range(3)]
    assert single_attribute_rule_score(balanced, held, attribute=1) == pytest.approx(0.5)
    assert single_attribute_rule_score(balanced, held, attribute=0) == pytest.approx(0.5)
    distinct = [(s, c) for s, c in zip(SHAPES, COLOURS)]  # every candidate its own colour
    assert single_attribute_rule_score(distinct * 2, distinct, attribute=1) == 1.0
    skewed = [held[0]] * 3 + [held[1]]  # the same shape, two colours: the shape rule picks the majority
    assert single_attribute_rule_score(skewed, held, attribute=0) == pytest.approx(0.75)
    assert single_attribute_rule_score(skewed, held, attribute=1) == 1.0


def test_bad_designs_are_refused():
    with pytest.raises(ValueError, match="as many shapes"):
        latin_holdout(SHAPES[:5], COLOURS)
    with pytest.raises(ValueError, match="per_attribute"):
        latin_holdout(SHAPES, COLOURS, per_attribute=6)
    with pytest.raises(ValueError, match="not candidates"):
        single_attribute_rule_score([("circle", "red")], [("square", "red")], attribute=1)


def test_a_seed_rotates_the_design_and_keeps_its_balance():
    designs = {tuple(latin_holdout(SHAPES, COLOURS, per_attribute=2, seed=seed)) for seed in range(6)}
    assert len(designs) > 1, "different seeds should hold out different combinations"
    for seed in range(6):
        held = latin_holdout(SHAPES, COLOURS, per_attribute=2, seed=seed)
        assert held == latin_holdout(SHAPES, COLOURS, per_attribute=2, seed=seed), "the same seed, the same design"
        assert Counter(s for s, _ in held) == {s: 2 for s in SHAPES}
        assert Counter(c for _, c in held) == {c: 2 for c in COLOURS}
        other = latin_holdout(SHAPES, COLOURS, per_attribute=2, offset=2, seed=seed)
        assert not set(held) & set(other), "another offset with the same seed gives disjoint combinations"
