"""Cross-modal retrieval scores and diagnostics of a shared embedding space.

Retrieval: rows of a similarity matrix are queries, columns the gallery; `positive_mask`
says which gallery items are true matches (several can be: two captions with the same
attributes). A query's rank is the position of its best-placed true match, so a query is a
hit at k if ANY true match is in its top k. Ties count against the query: a non-match whose
similarity equals the best match's is ranked ahead of it.

Diagnostics of L2-normalised embeddings: the modality gap (Liang et al., 2022), alignment
and uniformity (Wang & Isola, 2020).
"""

from numbers import Integral, Real

import numpy as np
import torch

from ._validate import check_scalar
from .losses import check_normalised


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    if isinstance(x, torch.Tensor):
        return x.detach()
    raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(x).__name__}")


def _check_retrieval(similarity, positive_mask):
    s = _as_tensor(similarity, "similarity")
    m = _as_tensor(positive_mask, "positive_mask")
    if s.ndim != 2:
        raise ValueError(f"similarity must be a 2-D (queries, gallery) matrix, got shape {tuple(s.shape)}")
    if not s.is_floating_point():
        raise TypeError(f"similarity must hold floats, got {s.dtype}: convert it with .float()")
    if s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"similarity is empty (shape {tuple(s.shape)}); it needs at least one query and one gallery item")
    if torch.isnan(s).any():
        raise ValueError("similarity contains NaN; check the embeddings it was computed from")
    if m.dtype != torch.bool:
        raise TypeError(f"positive_mask must be boolean (True = a true match), got {m.dtype}: use mask.astype(bool) or mask.bool()")
    if m.shape != s.shape:
        raise ValueError(
            f"positive_mask must have the same shape as similarity {tuple(s.shape)}, got {tuple(m.shape)}; "
            "for the other direction transpose both"
        )
    m = m.to(s.device)
    empty = torch.nonzero(~m.any(dim=1)).flatten()
    if len(empty):
        raise ValueError(
            f"{len(empty)} queries (e.g. row {empty[0].item()}) have no true match in the gallery; "
            "every query needs at least one, or its rank is undefined"
        )
    return s, m


def match_mask(query_keys, gallery_keys) -> np.ndarray:
    """Bool `(Q, G)`: True where query i and gallery item j have the same key. Keys are
    `(Q,)` / `(G,)` arrays, or `(Q, K)` / `(G, K)` to require K attributes to all agree."""
    q, g = np.asarray(query_keys), np.asarray(gallery_keys)
    if q.ndim == 1:
        q = q[:, None]
    if g.ndim == 1:
        g = g[:, None]
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(
            f"query and gallery keys must be (N,) or (N, K) arrays with the same K, got shapes "
            f"{np.shape(query_keys)} and {np.shape(gallery_keys)}"
        )
    return (q[:, None, :] == g[None, :, :]).all(axis=2)


def first_match_ranks(similarity, positive_mask) -> torch.Tensor:
    """Rank (1 = top) of each query's best-placed true match: int64 `(Q,)`.

    similarity: `(Q, G)` scores (higher = more similar); positive_mask: bool `(Q, G)`."""
    s, m = _check_retrieval(similarity, positive_mask)
    best_match = s.masked_fill(~m, float("-inf")).max(dim=1, keepdim=True).values
    ahead = (s >= best_match) & ~m  # non-matches scored at least as high as the best match
    return ahead.sum(dim=1) + 1


DEFAULT_KS = (1, 5, 10)


def recall_at_k(similarity, positive_mask, ks=None) -> dict:
    """Fraction of queries (rows) with a true match among their top k gallery items (columns),
    for each k: {"R@1": ..., "R@5": ..., "R@10": ...}.

    ks: a whole number or several; by default (1, 5, 10), leaving out those larger than the
    gallery (a gallery of 2 gives {"R@1": ...}). A k you pass yourself must fit the gallery."""
    ranks = first_match_ranks(similarity, positive_mask)
    gallery = similarity.shape[1]
    if ks is None:
        ks = tuple(k for k in DEFAULT_KS if k <= gallery)
    elif isinstance(ks, Integral):
        ks = (ks,)
    ks = tuple(ks)
    if not ks:
        raise ValueError("ks is empty: give at least one k, e.g. ks=(1, 5)")
    for k in ks:
        check_scalar(k, "each k in ks", Integral, min_val=1, max_val=gallery,
                     hint=f"k counts gallery items (columns of similarity), and this gallery has {gallery}")
    return {f"R@{k}": (ranks <= k).double().mean().item() for k in ks}


def _match_counts(positive_mask) -> np.ndarray:
    m = np.asarray(positive_mask.cpu() if isinstance(positive_mask, torch.Tensor) else positive_mask)
    if m.dtype != bool or m.ndim != 2:
        raise TypeError(f"positive_mask must be a 2-D bool array (True = a true match), got {m.dtype} of shape {m.shape}")
    counts = m.sum(axis=1)
    if (counts == 0).any():
        raise ValueError(f"{(counts == 0).sum()} queries have no true match in the gallery; every query needs one")
    return counts


def chance_recall(positive_mask, ks=(1,)) -> dict:
    """The floor: expected Recall@k of a random ranking, {"R@1": ..., ...}. A query with m true
    matches in a gallery of G misses only if all k drawn items are non-matches:
    1 - C(G - m, k) / C(G, k); averaged over queries. With one match per query it is k / G."""
    counts = _match_counts(positive_mask)
    gallery = np.asarray(positive_mask).shape[1]
    ks = (ks,) if isinstance(ks, Integral) else tuple(ks)
    out = {}
    for k in ks:
        check_scalar(k, "each k in ks", Integral, min_val=1, max_val=gallery)
        miss = np.ones(len(counts))
        for t in range(k):  # the t-th draw is a non-match too
            miss *= np.clip(gallery - counts - t, 0, None) / (gallery - t)
        out[f"R@{k}"] = float(1 - miss.mean())
    return out


def one_to_one_ceiling(positive_mask, k: int = 1) -> float:
    """The best Recall@k any model can reach if only the query's OWN item counted as a hit: a
    query whose m matches are indistinguishable (same attributes) finds its own among its top k
    with probability at most min(1, k / m). Averaged over queries. (Counting any match as a hit,
    as `recall_at_k` does, lifts this ceiling to 1.)"""
    counts = _match_counts(positive_mask)
    check_scalar(k, "k", Integral, min_val=1)
    return float(np.minimum(1.0, k / counts).mean())


def median_rank(similarity, positive_mask) -> float:
    """Median over queries (rows) of the rank of the best-placed true match (1 = perfect)."""
    ranks = first_match_ranks(similarity, positive_mask)
    return float(np.median(ranks.cpu().numpy()))


def retrieval_report(similarity, positive_mask, names=("a2b", "b2a"), ks=None) -> dict:
    """Recall@k and median rank in both directions, flat: {"a2b_R@1", ..., "a2b_MedR",
    "b2a_R@1", ...}. Rows of `similarity` are the a side, columns the b side. ks as in
    `recall_at_k` (by default 1, 5, 10, each where it fits the gallery of that direction)."""
    if isinstance(names, str) or len(names) != 2 or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be two strings, for rows->columns and columns->rows, got {names!r}")
    s, m = _as_tensor(similarity, "similarity"), _as_tensor(positive_mask, "positive_mask")
    out = {}
    for name, (sim, mask) in zip(names, ((s, m), (s.T, m.T))):
        out.update({f"{name}_{k}": v for k, v in recall_at_k(sim, mask, ks).items()})
        out[f"{name}_MedR"] = median_rank(sim, mask)
    return out


def _check_paired(a, b):
    check_normalised(a, "a")
    check_normalised(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must live in the same space: got D={a.shape[1]} and D={b.shape[1]}")
    if a.device != b.device:
        raise ValueError(f"a is on {a.device} but b is on {b.device}; move both to one device with .to(device)")


def modality_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Distance between the centroids of two modalities' L2-normalised embeddings `(N, D)`,
    `(M, D)`: ||mean(a) - mean(b)||. 0 means the two clouds share a centre; at most 2."""
    _check_paired(a, b)
    return (a.detach().mean(dim=0) - b.detach().mean(dim=0)).norm().item()


def alignment(a: torch.Tensor, b: torch.Tensor, alpha: float = 2.0) -> float:
    """Mean ||a_i - b_i||^alpha over matching pairs (rows) of L2-normalised `(N, D)` embeddings:
    how close matches are. 0 is perfect; lower is better (Wang & Isola use alpha = 2)."""
    _check_paired(a, b)
    if a.shape != b.shape:
        raise ValueError(f"alignment needs paired rows: a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    check_scalar(alpha, "alpha", Real, min_val=0, include_boundaries="neither", hint="Wang & Isola use 2")
    return (a.detach() - b.detach()).norm(dim=1).pow(alpha).mean().item()


def uniformity(x: torch.Tensor, t: float = 2.0) -> float:
    """log of the mean Gaussian potential exp(-t ||x_i - x_j||^2) over pairs i < j of
    L2-normalised `(N, D)` embeddings: how evenly they spread on the sphere. Lower (more
    negative) is more uniform; all points in one spot gives 0."""
    check_normalised(x, "x")
    if x.shape[0] < 2:
        raise ValueError("uniformity needs at least 2 embeddings to compare")
    check_scalar(t, "t", Real, min_val=0, include_boundaries="neither", hint="Wang & Isola use 2")
    sq_dist = torch.pdist(x.detach().double()).pow(2)
    return (torch.logsumexp(-t * sq_dist, dim=0) - np.log(len(sq_dist))).item()
