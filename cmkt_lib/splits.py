"""Held-out (shape, colour) combinations for compositional zero-shot tests.

A zero-shot test on held-out combinations only tests composition if no single attribute decides
it. If every held-out combination has its own colour, a model that reads the colour and ignores the
shape picks the right one among the held-out candidates every time. `latin_holdout` holds out
combinations in a Latin-square-like (cyclic) design instead: shape i is held out with colours
i, i+1, ..., i+per_attribute-1 (indices mod the number of colours), so each shape and each colour is
held out exactly `per_attribute` times and, with as many shapes as colours, every held-out
combination shares its colour with `per_attribute - 1` other held-out combinations and its shape
with as many. A rule that reads only the colour (or only the shape) then scores at most about
1/per_attribute among the held-out candidates, and every colour and shape is still seen in
training with the other combinations. With `seed`, the shapes and the colours are each shuffled
(a seeded permutation) before the cyclic design, so different seeds hold out different
combinations while every shape and colour is still held out exactly `per_attribute` times.

    >>> latin_holdout(("circle", "square", "triangle"), ("red", "green", "blue"), per_attribute=2)
    [('circle', 'red'), ('circle', 'green'), ('square', 'green'), ('square', 'blue'), ('triangle', 'blue'), ('triangle', 'red')]
"""

import random
from collections import Counter


def latin_holdout(shapes, colours, per_attribute: int = 2, offset: int = 0, seed: int | None = None) -> list:
    """(shape, colour) pairs to hold out: shape i with colours (i + offset + j) mod len(colours),
    j = 0 .. per_attribute - 1. Needs len(shapes) == len(colours) and
    1 <= per_attribute < len(colours) (each colour must keep at least one seen combination).
    With `seed` (an int), shapes and colours are first put in a seeded random order, the same for
    every `offset`, so designs with different offsets and the same seed never overlap."""
    shapes, colours = list(shapes), list(colours)
    if seed is not None:
        rng = random.Random(seed)
        rng.shuffle(shapes)
        rng.shuffle(colours)
    if len(shapes) != len(colours):
        raise ValueError(f"a cyclic design needs as many shapes as colours, got {len(shapes)} and {len(colours)}")
    if not isinstance(per_attribute, int) or not 1 <= per_attribute < len(colours):
        raise ValueError(f"per_attribute must be an integer in 1 .. {len(colours) - 1}, got {per_attribute!r}: "
                         "each shape and colour must still be seen in some combination")
    n = len(colours)
    return [(shape, colours[(i + offset + j) % n]) for i, shape in enumerate(shapes) for j in range(per_attribute)]


def single_attribute_rule_score(true_pairs, candidates, attribute: int) -> float:
    """The best score a rule that reads only one attribute can reach on a test among `candidates`:
    for each value of the attribute (0: shape, 1: colour) it answers the candidate with that value
    that is most frequent among `true_pairs`. A perfect reader of that attribute with the best
    possible guess for the other, so an upper bound for any model that ignores the other attribute."""
    true_pairs = [tuple(p) for p in true_pairs]
    if not true_pairs:
        raise ValueError("no test objects")
    unknown = set(true_pairs) - set(map(tuple, candidates))
    if unknown:
        raise ValueError(f"test objects of combinations that are not candidates: {sorted(unknown)}")
    counts = Counter(true_pairs)
    best = Counter()
    for pair, count in counts.items():
        best[pair[attribute]] = max(best[pair[attribute]], count)
    return sum(best.values()) / len(true_pairs)
