import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cmkt_lib.retrieval import (
    alignment, chance_recall, first_match_ranks, match_mask, median_rank, modality_gap, one_to_one_ceiling,
    recall_at_k, retrieval_report, uniformity,
)


def brute_force_ranks(sim, mask):
    """Sort each row, ties broken against the query, and find the first true match."""
    ranks = []
    for s, m in zip(sim, mask):
        # sort by score descending; among equal scores put non-matches first (pessimistic)
        order = sorted(range(len(s)), key=lambda j: (-s[j], bool(m[j])))
        ranks.append(next(r for r, j in enumerate(order, start=1) if m[j]))
    return np.array(ranks)


def random_case(q, g, seed, extra_matches=0.0):
    rng = np.random.default_rng(seed)
    sim = rng.standard_normal((q, g))
    mask = rng.random((q, g)) < extra_matches
    mask[np.arange(q), rng.integers(g, size=q)] = True  # every query has at least one match
    return sim, mask


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("extra", [0.0, 0.2])
def test_recall_and_median_rank_match_brute_force(seed, extra):
    sim, mask = random_case(7, 12, seed, extra)
    want = brute_force_ranks(sim, mask)
    assert first_match_ranks(sim, mask).numpy().tolist() == want.tolist()
    got = recall_at_k(sim, mask, ks=(1, 3, 5, 10))
    for k in (1, 3, 5, 10):
        assert got[f"R@{k}"] == pytest.approx(np.mean(want <= k))
    assert median_rank(torch.from_numpy(sim), torch.from_numpy(mask)) == np.median(want)


def test_any_match_in_top_k_counts_as_a_hit():
    sim = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4]])
    mask = torch.tensor([[False, False, True, True], [True, False, False, False]])
    assert first_match_ranks(sim, mask).tolist() == [3, 4]  # row 0: its best match sits 3rd
    assert recall_at_k(sim, mask, ks=(1, 3, 4)) == {"R@1": 0.0, "R@3": 0.5, "R@4": 1.0}
    assert median_rank(sim, mask) == 3.5


def test_ties_count_against_the_query():
    sim = torch.zeros(2, 5)
    mask = torch.eye(2, 5, dtype=torch.bool)
    assert first_match_ranks(sim, mask).tolist() == [5, 5]
    assert brute_force_ranks(sim.numpy(), mask.numpy()).tolist() == [5, 5]


def test_report_covers_both_directions():
    sim, mask = random_case(6, 6, 3, 0.1)
    mask[np.arange(6), np.arange(6)] = True
    report = retrieval_report(sim, mask, names=("i2t", "t2i"), ks=(1, 5))
    assert set(report) == {"i2t_R@1", "i2t_R@5", "i2t_MedR", "t2i_R@1", "t2i_R@5", "t2i_MedR"}
    back = brute_force_ranks(sim.T, mask.T)
    assert report["t2i_R@1"] == pytest.approx(np.mean(back <= 1))
    assert report["t2i_MedR"] == np.median(back)
    assert report["i2t_R@5"] == pytest.approx(np.mean(brute_force_ranks(sim, mask) <= 5))


def test_default_ks_are_clipped_to_the_gallery():
    sim, mask = random_case(3, 2, 0)
    assert list(recall_at_k(sim, mask)) == ["R@1"]  # a gallery of 2 has no top 5
    sim, mask = random_case(3, 7, 0)
    assert list(recall_at_k(sim, mask)) == ["R@1", "R@5"]
    sim, mask = random_case(7, 3, 0)
    report = retrieval_report(sim, mask)
    assert "a2b_R@5" not in report and "b2a_R@5" in report and "b2a_R@10" not in report


def test_match_mask_requires_every_key_to_agree():
    q = np.array([[0, 1], [0, 2], [1, 1]])
    g = np.array([[0, 1], [1, 1], [0, 1]])
    assert match_mask(q, g).tolist() == [[True, False, True], [False, False, False], [False, True, False]]
    assert match_mask(np.array([1, 2]), np.array([2, 2, 1])).tolist() == [[False, False, True], [True, True, False]]
    with pytest.raises(ValueError, match="same K"):
        match_mask(np.zeros((2, 2)), np.zeros((2, 3)))


def test_retrieval_refuses_bad_inputs():
    sim, mask = random_case(3, 4, 0)
    with pytest.raises(ValueError, match="no true match"):
        recall_at_k(sim, np.zeros((3, 4), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        recall_at_k(sim, mask.astype(int))
    with pytest.raises(ValueError, match="same shape"):
        recall_at_k(sim, mask.T)
    with pytest.raises(ValueError, match="2-D"):
        recall_at_k(sim[0], mask[0])
    with pytest.raises(ValueError, match=r"each k in ks must be in \[1, 4\], got 5; .*this gallery has 4"):
        recall_at_k(sim, mask, ks=(1, 5))
    with pytest.raises(TypeError, match=r"each k in ks must be a whole number"):
        recall_at_k(sim, mask, ks=(1.5,))
    with pytest.raises(ValueError, match="NaN"):
        recall_at_k(np.full((3, 4), np.nan), mask)
    with pytest.raises(TypeError, match="numpy array"):
        median_rank(sim.tolist(), mask)
    with pytest.raises(ValueError, match="two strings"):
        retrieval_report(sim, mask, names="i2t")


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def test_modality_gap_is_the_distance_between_centroids():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[-1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]])
    want = math.dist([0.5, 0.5], [-2 / 3, -1 / 3])
    assert modality_gap(a, b) == pytest.approx(want)
    assert modality_gap(a, a) == 0.0


def test_alignment_against_brute_force():
    a, b = unit(6, 4, seed=1), unit(6, 4, seed=2)
    want = np.mean([np.sum((a[i] - b[i]).numpy() ** 2) for i in range(6)])
    assert alignment(a, b) == pytest.approx(want)
    want1 = np.mean([np.sqrt(np.sum((a[i] - b[i]).numpy() ** 2)) for i in range(6)])
    assert alignment(a, b, alpha=1) == pytest.approx(want1)
    assert alignment(a, a) == 0.0


def test_uniformity_against_brute_force():
    x = unit(7, 3, seed=3)
    pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    want = math.log(np.mean([math.exp(-2 * float(((x[i] - x[j]) ** 2).sum())) for i, j in pairs]))
    assert uniformity(x) == pytest.approx(want)
    collapsed = F.normalize(torch.ones(5, 3), dim=-1)
    assert uniformity(collapsed) == pytest.approx(0.0, abs=1e-6)
    clustered = F.normalize(torch.ones(200, 3, dtype=torch.float64) + 0.1 * unit(200, 3, seed=4), dim=-1)
    assert uniformity(unit(200, 3, seed=5)) < uniformity(clustered) - 1  # spread beats clustered


def test_diagnostics_refuse_bad_inputs():
    a = unit(4, 3)
    with pytest.raises(ValueError, match=r"norms between .* F\.normalize\(a, dim=-1\)"):
        modality_gap(a * 2, a)
    with pytest.raises(ValueError, match="same space"):
        modality_gap(a, unit(4, 5))
    with pytest.raises(ValueError, match="paired rows"):
        alignment(a, unit(5, 3))
    with pytest.raises(ValueError, match=r"F\.normalize\(x, dim=-1\)"):
        uniformity(a * 2)
    with pytest.raises(ValueError, match="at least 2"):
        uniformity(a[:1])
    with pytest.raises(ValueError, match="t must be > 0, got 0; Wang & Isola use 2"):
        uniformity(a, t=0)
    with pytest.raises(TypeError, match="alpha must be a number"):  # a wrong type: TypeError, as in scikit-learn
        alignment(a, a, alpha="2")


def test_chance_recall_is_k_over_the_gallery_with_one_match_and_exact_with_several():
    one = np.eye(10, dtype=bool)
    assert chance_recall(one, ks=(1, 3)) == pytest.approx({"R@1": 0.1, "R@3": 0.3})
    _, mask = random_case(6, 12, seed=3, extra_matches=0.25)
    # brute force: every ranking's first k items, counted over all k-subsets of the gallery
    from itertools import combinations
    for k in (1, 2, 4):
        want = np.mean([np.mean([m[list(c)].any() for c in combinations(range(12), k)]) for m in mask])
        assert chance_recall(mask, ks=k)[f"R@{k}"] == pytest.approx(want)
    assert chance_recall(np.ones((3, 4), dtype=bool))["R@1"] == 1.0


def test_one_to_one_ceiling_is_the_mean_of_k_over_the_matches():
    dupes = match_mask([0, 0, 1, 2, 2, 2], [0, 0, 1, 2, 2, 2])  # counts 2, 2, 1, 3, 3, 3
    assert one_to_one_ceiling(dupes) == pytest.approx((0.5 + 0.5 + 1 + 1 / 3 * 3) / 6)
    assert one_to_one_ceiling(dupes, k=2) == pytest.approx((1 + 1 + 1 + 2 / 3 * 3) / 6)
    assert one_to_one_ceiling(np.eye(4, dtype=bool)) == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: chance_recall(np.eye(3)), TypeError, "bool"),
    (lambda: chance_recall(np.zeros((2, 3), dtype=bool)), ValueError, "no true match"),
    (lambda: chance_recall(np.eye(3, dtype=bool), ks=4), ValueError, "k"),
    (lambda: one_to_one_ceiling(np.eye(3, dtype=bool), k=0), ValueError, "k"),
])
def test_floor_and_ceiling_refuse_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
