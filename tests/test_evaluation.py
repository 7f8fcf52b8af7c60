"""Tests of the evaluation toolkit against scikit-learn, scipy and written-out computations."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import f1_score

from cmkt_lib.evaluation import (accuracy, confusion, few_shot_probe, linear_probe, macro_f1,
                                 match_mask, mean_average_precision, mean_ci, median_rank,
                                 recall_at_k, zero_shot_accuracy, zero_shot_predict)

Y = np.array([0, 0, 1, 1, 2, 2])
P = np.array([0, 1, 1, 1, 2, 0])


def test_accuracy_counts_matches_and_takes_argmax_of_scores():
    assert accuracy(Y, P) == pytest.approx(4 / 6)
    scores = np.eye(3, dtype=np.float32)[P] + 0.1  # argmax of each row is P
    assert accuracy(Y, scores) == pytest.approx(4 / 6)
    assert accuracy(torch.as_tensor(Y), torch.as_tensor(scores)) == pytest.approx(4 / 6)


def test_macro_f1_is_the_unweighted_mean_of_per_class_f1():
    per_class = []
    for c in range(3):
        tp = np.sum((P == c) & (Y == c))
        precision, recall = tp / np.sum(P == c), tp / np.sum(Y == c)
        per_class.append(2 * precision * recall / (precision + recall))
    assert macro_f1(Y, P) == pytest.approx(np.mean(per_class))
    assert macro_f1(Y, P) == pytest.approx(f1_score(Y, P, average="macro"))


def test_confusion_rows_are_true_classes_and_keep_unpredicted_classes():
    cm = confusion(Y, P, n_classes=4)
    assert cm.shape == (4, 4)
    assert cm[0].tolist() == [1, 1, 0, 0] and cm[2].tolist() == [1, 0, 1, 0]
    assert cm.sum() == len(Y)
    assert np.allclose(confusion(Y, P, normalize="true")[:3].sum(axis=1), 1)


def test_classification_inputs_are_checked():
    with pytest.raises(ValueError, match="same items"):
        accuracy(Y, P[:-1])
    with pytest.raises(TypeError, match="integer class ids"):
        accuracy(Y.astype(float), P)
    with pytest.raises(TypeError, match="pass the \\(N, C\\) scores"):
        accuracy(Y, P.astype(float))
    with pytest.raises(ValueError, match="class ids \\(N,\\) or scores"):
        accuracy(Y, np.zeros((6, 3, 1)))
    with pytest.raises(ValueError, match="empty"):
        macro_f1(np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="must lie in 0..1"):
        confusion(Y, P, n_classes=2)
    with pytest.raises(ValueError, match="normalize"):
        confusion(Y, P, normalize="rows")
    with pytest.raises(TypeError, match="numpy array"):
        accuracy("abc", P)


def test_arguments_in_the_wrong_order_are_refused_with_the_order_named():
    scores = np.eye(3, dtype=np.float32)[P] + 0.1
    for fn in (accuracy, macro_f1, confusion):
        with pytest.raises(ValueError, match=rf"looks like scores.*{fn.__name__}\(labels, predictions\).*swap"):
            fn(scores, Y)
        with pytest.raises(TypeError, match=rf"integer class ids.*{fn.__name__}\(labels, predictions\)"):
            fn(P.astype(np.float32), Y)
    with pytest.raises(ValueError, match=r"labels has 6 items but predictions has 5: they must describe the same items in the same order$"):
        confusion(Y, P[:-1])  # notebook 09 shows this message word for word
    with pytest.raises(ValueError, match=r"labels \(the first argument\).*row = true class"):
        confusion(Y, P, n_classes=2)


def test_labels_beyond_the_score_columns_are_explained():
    scores = np.eye(3, dtype=np.float32)[P]
    with pytest.raises(ValueError, match=r"labels go from 0 to 4, but the scores have 3 columns"):
        accuracy(np.array([0, 0, 1, 1, 2, 4]), scores)


def test_confusion_takes_the_number_of_classes_from_scores():
    scores = np.eye(4, dtype=np.float32)[P]  # 4 columns although class 3 is never predicted
    assert confusion(Y, scores).shape == (4, 4)
    with pytest.raises(ValueError, match="scores for 4 classes but n_classes is 3"):
        confusion(Y, scores, n_classes=3)
    with pytest.raises(ValueError, match=r"n_classes must be >= 2"):
        confusion(Y, P, n_classes=1)


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_average_precision_equals_scikit_learn_with_ties(seed):
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(seed)
    q, g = rng.integers(1, 12), rng.integers(2, 40)
    s = np.round(rng.standard_normal((q, g)), 0 if seed % 2 else 3)  # rounded to 0 decimals: many ties
    m = rng.random((q, g)) < rng.uniform(0.05, 0.9)
    m[np.arange(q), rng.integers(g, size=q)] = True
    if seed == 5:
        s[:] = 0.0  # every item tied
    expected = np.mean([average_precision_score(m[i], s[i]) for i in range(q)])
    assert mean_average_precision(s, m) == pytest.approx(expected, abs=1e-12)
    assert mean_average_precision(torch.as_tensor(s, dtype=torch.float32), torch.as_tensor(m)) == \
        pytest.approx(np.mean([average_precision_score(m[i], s[i].astype(np.float32)) for i in range(q)]), abs=1e-6)


def _brute_force_ap(scores, relevant):
    order = np.argsort(-scores, kind="stable")
    hits, precisions = 0, []
    for rank, j in enumerate(order, start=1):
        if relevant[j]:
            hits += 1
            precisions.append(hits / rank)
    return np.mean(precisions)


def test_mean_average_precision_matches_a_brute_force_count():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(5, 12))  # no ties, so sklearn's and the written-out ranking agree
    m = rng.random((5, 12)) < 0.3
    m[:, 0] = True
    expected = np.mean([_brute_force_ap(s[i], m[i]) for i in range(5)])
    assert mean_average_precision(s, m) == pytest.approx(expected)


def test_mean_average_precision_is_one_when_every_match_is_ranked_first():
    m = match_mask(np.array([0, 1]), np.array([0, 0, 1, 1, 1]))
    s = m.astype(np.float32) + 0.01 * np.arange(5)
    assert mean_average_precision(s, m) == pytest.approx(1.0)
    # one match at the top but another at the bottom: Recall@1 is perfect, mAP is not
    s2 = np.array([[1.0, 0.0, 0.5, 0.4, 0.3]])
    m2 = np.array([[True, True, False, False, False]])
    assert recall_at_k(s2, m2, ks=1)["R@1"] == 1.0
    assert mean_average_precision(s2, m2) == pytest.approx((1 + 2 / 5) / 2)


def test_mean_average_precision_inputs_are_checked():
    s = np.zeros((2, 3))
    with pytest.raises(TypeError, match="boolean"):
        mean_average_precision(s, np.ones((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        mean_average_precision(s, np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError, match="no relevant item"):
        mean_average_precision(s, np.array([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match="NaN"):
        mean_average_precision(np.full((2, 3), np.nan), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="2-D"):
        mean_average_precision(np.zeros(3), np.ones(3, dtype=bool))


def test_recall_and_median_rank_are_the_retrieval_module_s():
    s = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0]])
    m = torch.eye(3, dtype=torch.bool)[:2]
    assert recall_at_k(s, m, ks=(1, 2)) == {"R@1": 0.5, "R@2": 1.0}
    assert median_rank(s, m) == 1.5


def test_zero_shot_picks_the_class_with_the_highest_cosine_similarity():
    classes = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    x = np.array([[5.0, 1.0], [0.1, 3.0], [-2.0, -0.5], [1.0, 1.1]])
    assert zero_shot_predict(x, classes).tolist() == [0, 1, 2, 1]
    assert zero_shot_accuracy(x, classes, np.array([0, 1, 2, 0])) == pytest.approx(0.75)


def test_zero_shot_inputs_are_checked():
    classes = np.eye(3)
    with pytest.raises(ValueError, match="same shared space"):
        zero_shot_predict(np.ones((2, 4)), classes)
    with pytest.raises(ValueError, match="all-zero row"):
        zero_shot_predict(np.zeros((2, 3)), classes)
    with pytest.raises(ValueError, match="batch dimension"):
        zero_shot_predict(np.ones(3), classes)
    with pytest.raises(ValueError, match="at least two classes"):
        zero_shot_predict(np.ones((2, 3)), classes[:1])
    with pytest.raises(ValueError, match="only 3 class embeddings"):
        zero_shot_accuracy(np.ones((2, 3)), classes, np.array([0, 3]))


def test_few_shot_probe_uses_only_the_budget_and_beats_chance_on_separable_data():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    f = (np.eye(3)[y] * 4 + rng.normal(size=(150, 3))).astype(np.float32)
    acc = few_shot_probe(f, y, f, y, per_class=2, seed=1)
    assert acc > 0.8
    # with all labels it equals the plain probe
    assert few_shot_probe(f, y, f, y, per_class=50) == pytest.approx(linear_probe(f, y, f, y))
    with pytest.raises(ValueError, match="fewer than the"):
        few_shot_probe(f, y, f, y, per_class=51)


def test_mean_ci_is_the_student_t_interval():
    values = [0.70, 0.74, 0.78]
    mean, low, high = mean_ci(values)
    t = stats.t.ppf(0.975, df=2)
    half = t * np.std(values, ddof=1) / np.sqrt(3)
    assert mean == pytest.approx(0.74)
    assert (low, high) == pytest.approx((0.74 - half, 0.74 + half))
    narrow = mean_ci(values, confidence=0.5)
    assert narrow[2] - narrow[1] < high - low
    assert mean_ci([0.5, 0.5]) == pytest.approx((0.5, 0.5, 0.5))


def test_mean_ci_inputs_are_checked():
    with pytest.raises(ValueError, match="at least 2 values"):
        mean_ci([0.7])
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 95; e.g. 0.95"):
        mean_ci([0.7, 0.8], confidence=95)
    with pytest.raises(TypeError, match="confidence must be a number"):  # a wrong type: TypeError, as in scikit-learn
        mean_ci([0.7, 0.8], confidence="95%")
    with pytest.raises(ValueError, match="NaN"):
        mean_ci([0.7, float("nan")])


def test_saturated_pixel_colour_reads_the_colour_of_the_shape_not_the_background():
    from cmkt_lib.evaluation import saturated_pixel_colour
    rng = np.random.default_rng(0)
    colours = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.9]])
    labels = rng.integers(0, 3, size=30)
    images = np.full((30, 3, 8, 8), 0.5) + rng.normal(0, 0.02, size=(30, 3, 8, 8))  # grey, noisy
    images[:, :, 2:4, 2:4] = colours[labels][:, :, None, None]                       # a 2x2 coloured patch
    predicted = saturated_pixel_colour(images[:20], labels[:20], images[20:], n_classes=3, k=4)
    assert predicted.dtype == np.int64 and (predicted == labels[20:]).all()
    with pytest.raises(ValueError, match="shape"):
        saturated_pixel_colour(images[:20, 0], labels[:20], images[20:], n_classes=3)
