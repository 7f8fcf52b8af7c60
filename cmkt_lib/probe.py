"""Linear probes: what does a frozen encoder's feature vector know?

A probe is a linear classifier (logistic regression on standardised features) trained on
frozen features to read one attribute back. High probe accuracy means the attribute is there
in a linearly readable form; chance-level accuracy means the encoder threw it away (or
never saw it)."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _as_array(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as err:  # pragma: no cover - unusual array-likes
        raise TypeError(f"{name} must be an array or tensor, got {type(x).__name__}") from err


def check_features(x, name: str, one_d_hint: str = ": add a feature axis with x[:, None]") -> np.ndarray:
    """`x` as a numpy array, after checking it is a finite float matrix `(N, D)`; else a plain-words
    error. `one_d_hint` says what to do with a 1-D input (one feature per item, or one item)."""
    a = _as_array(x, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {a.shape}{one_d_hint if a.ndim == 1 else ''}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be floating point, got {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values: check the encoder's output")
    return a


def _check_pair(features, labels, which: str):
    f = check_features(features, f"{which}_features")
    y = _as_array(labels, f"{which}_labels")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{which}_labels must be a 1-D array of integer class labels, got {y.dtype} of shape {y.shape}")
    if len(f) != len(y):
        raise ValueError(f"{which}_features has {len(f)} rows but {which}_labels has {len(y)}: "
                         "they must describe the same items in the same order")
    if len(f) == 0:
        raise ValueError(f"{which}_features is empty: the probe needs at least one item per class")
    return f, y


def linear_probe(train_features, train_labels, test_features, test_labels, *, C: float = 1.0,
                 max_iter: int = 1000) -> float:
    """Test accuracy of a logistic regression fitted on frozen features.

    train_features `(N, D)`, train_labels int `(N,)`, test_features `(M, D)`, test_labels
    `(M,)`; numpy arrays or tensors. Features are standardised with the training set's mean
    and spread before the fit."""
    f_train, y_train = _check_pair(train_features, train_labels, "train")
    f_test, y_test = _check_pair(test_features, test_labels, "test")
    if f_train.shape[1] != f_test.shape[1]:
        raise ValueError(f"train features have {f_train.shape[1]} dimensions but test features have "
                         f"{f_test.shape[1]}: extract both with the same encoder")
    if len(np.unique(y_train)) < 2:
        raise ValueError("train_labels hold a single class: a probe needs at least two classes to tell apart")
    if not C > 0:
        raise ValueError(f"C (inverse regularisation strength) must be > 0, got {C!r}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    probe.fit(f_train, y_train)
    return float(probe.score(f_test, y_test))
