"""One evaluation toolkit: every score the course reports, in one place.

    classification   accuracy, macro_f1, confusion            labels (N,), predictions (N,) or scores (N, C)
    retrieval        recall_at_k, median_rank, mean_average_precision    similarity (Q, G), positive_mask (Q, G)
    transfer         zero_shot_accuracy, linear_probe, few_shot_probe     frozen features, few labels
    uncertainty      mean_ci                                   one score per seed -> mean and a 95% interval

scikit-learn computes every metric it has (accuracy_score, f1_score, confusion_matrix,
LogisticRegression); average precision is vectorised here over all queries at once (one
scikit-learn call per query took 5 s on 1,000 x 1,000) and tested equal to scikit-learn's
average_precision_score; Recall@K and median rank come from
`cmkt_lib.retrieval`, the linear probe from `cmkt_lib.probe`. What is written here is the
checking of inputs, so that a wrong shape or an unlabelled class is reported in plain words."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from ._validate import check_scalar
from .probe import check_features, linear_probe
from .retrieval import first_match_ranks, match_mask, median_rank, recall_at_k
from .world import few_shot_indices

__all__ = [
    "saturated_pixel_colour",
    "accuracy", "macro_f1", "confusion", "recall_at_k", "median_rank", "match_mask",
    "first_match_ranks", "mean_average_precision", "zero_shot_predict", "zero_shot_accuracy",
    "linear_probe", "few_shot_probe", "mean_ci",
]


def _numpy(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU
        x = x.detach().cpu().numpy()
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, a torch tensor or a list, got {type(x).__name__}")
    return x


def _labels(labels, name: str = "labels") -> np.ndarray:
    y = _numpy(labels, name)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class ids (N,), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class ids, got {y.dtype}: use labels.astype(int) "
                        "(or .long() on a tensor)")
    if len(y) == 0:
        raise ValueError(f"{name} is empty: there is nothing to score")
    return y


def _predicted_classes(labels, predictions, fn: str = "accuracy"):
    """Labels (N,) and predicted class ids (N,); scores (N, C) are turned into their argmax.
    `fn` names the calling function in the messages, with its argument order."""
    order = (f"{fn}(labels, predictions) takes the true class ids first and the predictions second "
             "(scikit-learn's order; cmkt_lib.train.logit_accuracy(outputs, targets) is the other way round)")
    first = _numpy(labels, "labels")
    if first.ndim == 2 and np.issubdtype(first.dtype, np.floating):
        raise ValueError(f"the first argument has shape {first.shape} and holds floats: it looks like scores "
                         f"or logits, not labels. {order}: swap the arguments")
    if first.ndim == 1 and np.issubdtype(first.dtype, np.floating):
        raise TypeError(f"labels must hold integer class ids, got {first.dtype}: use labels.astype(int) "
                        f"(or .long() on a tensor). {order}")
    y = _labels(first)
    p = _numpy(predictions, "predictions")
    if p.ndim == 2:
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"predictions of shape (N, C) are scores and must be floats, got {p.dtype}")
        if y.min() < 0 or y.max() >= p.shape[1]:
            raise ValueError(f"the labels go from {y.min()} to {y.max()}, but the scores have {p.shape[1]} columns "
                             f"(classes 0..{p.shape[1] - 1}): such a label can never be predicted. Check that the "
                             f"model was built with enough classes and that the labels are for the same target")
        p = p.argmax(axis=1)
    elif p.ndim != 1:
        raise ValueError(f"predictions must be class ids (N,) or scores/logits (N, C), got shape {p.shape}")
    elif not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"predictions of shape (N,) must be integer class ids, got {p.dtype}; "
                        "pass the (N, C) scores instead if these are probabilities")
    if len(p) != len(y):
        raise ValueError(f"labels has {len(y)} items but predictions has {len(p)}: "
                         "they must describe the same items in the same order")  # notebook 09 shows this text
    return y, p


def accuracy(labels, predictions) -> float:
    """Fraction of items whose predicted class equals the label.

    labels int `(N,)`; predictions int `(N,)` or scores `(N, C)` (the argmax is taken).
    Argument order: (labels, predictions), as scikit-learn's accuracy_score(y_true, y_pred).
    `cmkt_lib.train.logit_accuracy(outputs, targets)` takes them the other way round, as a loss does;
    scores given first here are refused with a message that says so."""
    y, p = _predicted_classes(labels, predictions, "accuracy")
    return float(accuracy_score(y, p))


def macro_f1(labels, predictions) -> float:
    """F1 score of each class, averaged with equal weight per class: a rare class counts as much
    as a common one. Same inputs, in the same order, as `accuracy`."""
    y, p = _predicted_classes(labels, predictions, "macro_f1")
    return float(f1_score(y, p, average="macro", zero_division=0))


def confusion(labels, predictions, n_classes: int | None = None, normalize: str | None = None) -> np.ndarray:
    """Confusion matrix `(C, C)`: row = true class, column = predicted class.

    n_classes fixes C (so that a class never predicted still gets its column); normalize="true"
    divides each row by its total, so row i shows where class i's items went.

    Argument order: (labels, predictions). Swapped class ids cannot be told apart from the
    right ones and would silently transpose the matrix; what can be caught is: scores or floats
    given as labels, a length mismatch, ids outside n_classes, and scores whose number of
    columns is not n_classes."""
    y, p = _predicted_classes(labels, predictions, "confusion")
    scores = _numpy(predictions, "predictions")
    if n_classes is None:
        n_classes = scores.shape[1] if scores.ndim == 2 else int(max(y.max(), p.max())) + 1
    check_scalar(n_classes, "n_classes", Integral, min_val=2)
    if scores.ndim == 2 and scores.shape[1] != n_classes:
        raise ValueError(f"predictions are scores for {scores.shape[1]} classes but n_classes is {n_classes}")
    if min(y.min(), p.min()) < 0 or max(y.max(), p.max()) >= n_classes:
        raise ValueError(f"class ids must lie in 0..{n_classes - 1}, got labels (the first argument) in "
                         f"[{y.min()}, {y.max()}] and predictions (the second) in [{p.min()}, {p.max()}]; "
                         "confusion(labels, predictions) counts row = true class, column = predicted class")
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    return confusion_matrix(y, p, labels=np.arange(n_classes), normalize=normalize)


def mean_average_precision(similarity, positive_mask) -> float:
    """Class-level retrieval: the mean over queries (rows) of the average precision of their
    ranking of the gallery (columns), where every True in `positive_mask` is a relevant item.

    Recall@K only asks whether *one* match is near the top; mAP rewards putting *all* matches
    (e.g. every image of the same class) ahead of the non-matches. similarity float `(Q, G)`,
    positive_mask bool `(Q, G)`; every query needs at least one match."""
    s = _numpy(similarity, "similarity")
    m = _numpy(positive_mask, "positive_mask")
    if s.ndim != 2:
        raise ValueError(f"similarity must be a 2-D (queries, gallery) matrix, got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.floating):
        raise TypeError(f"similarity must hold floats, got {s.dtype}")
    if m.dtype != bool:
        raise TypeError(f"positive_mask must be boolean (True = relevant), got {m.dtype}: use mask.astype(bool)")
    if m.shape != s.shape:
        raise ValueError(f"positive_mask must have the same shape as similarity {s.shape}, got {m.shape}")
    if s.size == 0:
        raise ValueError("similarity is empty: it needs at least one query and one gallery item")
    if not np.isfinite(s).all():
        raise ValueError("similarity contains NaN or infinite values; check the embeddings it came from")
    empty = np.flatnonzero(~m.any(axis=1))
    if len(empty):
        raise ValueError(f"{len(empty)} queries (e.g. row {empty[0]}) have no relevant item in the gallery; "
                         "average precision is undefined for them: drop them or widen the gallery")
    return float(_average_precisions(s, m).mean())


def _average_precisions(similarity: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Average precision of each row, all rows at once: float64 `(Q,)`, equal to scikit-learn's
    `average_precision_score(relevant[i], similarity[i])` (tested), ties included.

    AP = (1 / #relevant) * sum over relevant items j of precision at j's score, where the
    precision at score t is (#relevant scored >= t) / (#items scored >= t): tied items are one
    threshold, as in scikit-learn's precision-recall curve."""
    s = torch.as_tensor(similarity, dtype=torch.float64)
    order = s.argsort(dim=1)                                        # ascending score
    s_sorted = s.gather(1, order)
    rel_sorted = torch.as_tensor(relevant).gather(1, order).double()
    first_tied = torch.searchsorted(s_sorted.contiguous(), s_sorted.contiguous(), side="left")  # (Q, G)
    at_or_above = rel_sorted.flip(1).cumsum(1).flip(1)              # relevant items from position i up
    relevant_ge = at_or_above.gather(1, first_tied)                 # relevant scored >= this score
    items_ge = s.shape[1] - first_tied                              # items scored >= this score
    precision = relevant_ge / items_ge
    return ((precision * rel_sorted).sum(1) / rel_sorted.sum(1)).numpy()


def _unit_rows(x, name: str) -> np.ndarray:
    a = check_features(_numpy(x, name), name, one_d_hint=": add a batch dimension with x[None]")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name} has an all-zero row: its direction (and so its cosine similarity) is undefined")
    return a / norms


def zero_shot_predict(embeddings, class_embeddings) -> np.ndarray:
    """Class ids `(N,)`: for each embedding `(N, D)`, the class whose embedding `(C, D)` has the
    highest cosine similarity (both sides are L2-normalised here). No classifier is trained."""
    e = _unit_rows(embeddings, "embeddings")
    c = _unit_rows(class_embeddings, "class_embeddings")
    if e.shape[1] != c.shape[1]:
        raise ValueError(f"embeddings have D={e.shape[1]} but class_embeddings have D={c.shape[1]}: "
                         "both must live in the same shared space")
    if len(c) < 2:
        raise ValueError("class_embeddings needs at least two classes (one row each) to choose between")
    return (e @ c.T).argmax(axis=1)


def zero_shot_accuracy(embeddings, class_embeddings, labels) -> float:
    """Accuracy of `zero_shot_predict`: labels int `(N,)` index the rows of class_embeddings."""
    y = _labels(labels)
    c = _numpy(class_embeddings, "class_embeddings")
    if y.max() >= len(c) or y.min() < 0:
        raise ValueError(f"labels go up to {y.max()} but there are only {len(c)} class embeddings: "
                         "row k of class_embeddings must describe class k")
    return accuracy(y, zero_shot_predict(embeddings, class_embeddings))


def few_shot_probe(train_features, train_labels, test_features, test_labels, per_class: int,
                   seed: int = 0, **probe_options) -> float:
    """Test accuracy of a linear probe that sees only `per_class` labelled items of each class,
    drawn (with `seed`) from the training features: the few-label classifier on frozen features."""
    y = _labels(train_labels, "train_labels")
    idx = few_shot_indices(y, per_class, seed)
    f = _numpy(train_features, "train_features")
    return linear_probe(f[idx], y[idx], test_features, test_labels, **probe_options)


def mean_ci(values, confidence: float = 0.95) -> tuple:
    """(mean, low, high) of `values` (e.g. one accuracy per seed), with a Student-t interval:
    mean +- t * std / sqrt(n). With few seeds the t-interval is honestly wide. Falls back to a
    normal interval when scipy is missing."""
    v = _numpy(values, "values").astype(float).ravel()
    if len(v) < 2:
        raise ValueError(f"an interval needs at least 2 values (e.g. 2 seeds), got {len(v)}: run more seeds")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite numbers; check the runs that produced them")
    check_scalar(confidence, "confidence", Real, min_val=0, max_val=1, include_boundaries="neither", hint="e.g. 0.95")
    n, mean = len(v), float(v.mean())
    sem = float(v.std(ddof=1)) / math.sqrt(n)
    try:
        from scipy import stats
        z = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1))
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        from statistics import NormalDist
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return mean, mean - z * sem, mean + z * sem


def saturated_pixel_colour(train_images, train_labels, test_images, n_classes: int, k: int = 12) -> np.ndarray:
    """A colour rule that learns nothing (notebook 01's baseline): describe each image (N, 3, H, W) by
    the mean RGB of its `k` most saturated pixels (largest max - min over the channels), average that
    per class over the training images, and give each test image the class with the nearest average.
    Returns the predicted class of each test image, int64 (M,)."""
    train_labels = _labels(train_labels, "train_labels")

    def describe(images):
        x = _numpy(images, "images").astype(np.float64)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"images must have shape (N, 3, H, W), got {x.shape}")
        pixels = x.reshape(len(x), 3, -1)
        saturation = pixels.max(1) - pixels.min(1)                       # (N, H*W)
        top = np.argsort(-saturation, axis=1)[:, :k]                      # the k most saturated pixels
        return np.take_along_axis(pixels, top[:, None, :], axis=2).mean(2)  # (N, 3): their mean colour

    train, test = describe(train_images), describe(test_images)
    if len(train) != len(train_labels):
        raise ValueError(f"{len(train)} training images but {len(train_labels)} labels")
    means = np.stack([train[train_labels == c].mean(0) for c in range(n_classes)])
    return ((test[:, None, :] - means[None]) ** 2).sum(2).argmin(1).astype(np.int64)
