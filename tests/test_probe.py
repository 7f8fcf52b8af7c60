"""Tests for cmkt_lib.probe.linear_probe."""

import numpy as np
import pytest
import torch

from cmkt_lib.probe import linear_probe


def blobs(n, d=5, seed=0, informative=True):
    rng = np.random.default_rng(seed)
    y = rng.integers(3, size=n)
    x = rng.normal(size=(n, d)).astype(np.float32)
    if informative:
        x[:, 0] += 4.0 * y  # the label is written along the first axis, at a large scale
    return x * 100.0, y  # an awkward scale: standardisation must handle it


def test_probe_reads_a_linearly_written_label():
    assert linear_probe(*blobs(300), *blobs(200, seed=1)) > 0.9


def test_probe_is_at_chance_when_features_hold_nothing():
    acc = linear_probe(*blobs(300, informative=False), *blobs(600, seed=1, informative=False))
    assert abs(acc - 1 / 3) < 0.1


def test_probe_accepts_tensors():
    x, y = blobs(200)
    assert linear_probe(torch.as_tensor(x), torch.as_tensor(y), x, y) > 0.9


def test_bad_inputs():
    x, y = blobs(50)
    with pytest.raises(ValueError, match=r"train_features must be a 2-D array \(N, D\).*x\[:, None\]"):
        linear_probe(x[:, 0], y, x, y)
    with pytest.raises(ValueError, match=r"has 50 rows but train_labels has 49"):
        linear_probe(x, y[:-1], x, y)
    with pytest.raises(ValueError, match=r"test_labels must be a 1-D array of integer"):
        linear_probe(x, y, x, y.astype(float))
    with pytest.raises(TypeError, match=r"must be floating point"):
        linear_probe(x.astype(np.int64), y, x, y)
    with pytest.raises(ValueError, match=r"same encoder"):
        linear_probe(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match=r"single class"):
        linear_probe(x, np.zeros(50, dtype=np.int64), x, y)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        linear_probe(bad, y, x, y)
    with pytest.raises(ValueError, match=r"empty"):
        linear_probe(x, y, x[:0], y[:0])
