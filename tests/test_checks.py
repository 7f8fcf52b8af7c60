"""Every self-check: passes the reference, answers the stub and typical mistakes with their own
hint, and never raises, whatever the learner hands it."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from cmkt_lib import checks, distill, evaluation, losses, retrieval
from cmkt_lib.checks import CHECKS


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


def crashes(*args):
    return args[0].no_such_method()


def verdict(capsys, check, answer):
    ok = check(answer)
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0, "one verdict line"
    return ok, out


REFERENCES = {
    "cosine_similarity": lambda a, b: F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T,
    "info_nce": lambda a, b, s: (F.cross_entropy(s.exp() * a @ b.T, torch.arange(len(a)))
                                 + F.cross_entropy(s.exp() * b @ a.T, torch.arange(len(a)))) / 2,
    "recall_at_k": lambda s, k: (s.topk(k, 1).indices == torch.arange(len(s))[:, None]).any(1).float().mean().item(),
    "modality_gap": lambda a, b: (a.mean(0) - b.mean(0)).norm().item(),
    "triplet_loss": lambda a, b, m: triplet_by_hand(a, b, m),
    "distillation_loss": lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
                                                  reduction="batchmean") * T ** 2,
    "masked_mean": lambda e, t: (e * (t > 0)[..., None]).sum(1) / (t > 0).sum(1, keepdim=True),
    "drop_words": lambda t, w: t.masked_fill(torch.isin(t, torch.tensor(w, dtype=torch.long)), 0),
    "late_fusion": lambda ls: sum(F.softmax(x, -1) for x in ls) / len(ls),
    "flattened_size": lambda stack, shape: stack(torch.zeros(1, *shape)).numel(),
    "optimizer_covers": lambda enc, tr: torch.optim.SGD([*enc.parameters(), *tr.parameters()], lr=0.1),
    "available_late_fusion": lambda ls, av: (sum(F.softmax(x, -1) * av[:, m, None] for m, x in enumerate(ls))
                                             / av.sum(1, keepdim=True)),
    "prompt_ensemble": lambda x: F.normalize(x.mean(1), dim=-1),
    "macro_f1": lambda p, y, n: macro_f1_by_hand(p, y, n),
    "median_rank": lambda s: float(np.median([(row > row[i]).sum().item() + 1 for i, row in enumerate(s)])),
    "alignment": lambda a, b: ((a - b) ** 2).sum(1).mean().item(),
    "uniformity": lambda x, t: uniformity_by_hand(x, t),
    "zero_shot_predict": lambda i, c: (F.normalize(i, dim=1) @ F.normalize(c, dim=1).T).argmax(1),
    "teacher_forcing_shift": lambda t: (t[:, :-1], t[:, 1:]),
    "token_accuracy": lambda lo, t: ((lo.argmax(-1) == t) & (t != 0)).sum().item() / (t != 0).sum().item(),
    "freeze": lambda m: m.requires_grad_(False).eval(),
    "left_out_of": lambda o, m: [n for n, p in m.named_parameters() if p.requires_grad
                                 and not any(p is q for g in o.param_groups for q in g["params"])],
    "feature_regression_loss": lambda s, t: F.mse_loss(s, t.detach()),
    "harmonic_mean": lambda s, u: 2 / (1 / s + 1 / u) if s and u else 0.0,
    # ---- notebook 01, exercise 2 (change, predict, measure): corrupt a share of the caption labels
    "corrupt_labels": lambda y, q, n, seed: corrupt_by_hand(y, q, n, seed),
}


def corrupt_by_hand(labels, fraction, n_classes, seed):
    rng = np.random.default_rng(seed)
    out = labels.copy()
    for i in rng.permutation(len(labels))[:round(fraction * len(labels))]:
        out[i] = rng.choice([c for c in range(n_classes) if c != labels[i]])
    return out


def corrupt_in_place(labels, fraction, n_classes, seed):
    labels[:] = corrupt_by_hand(labels, fraction, n_classes, seed)
    return labels


def corrupt_any_class(labels, fraction, n_classes, seed):  # the new class may be the old one
    rng = np.random.default_rng(seed)
    out = labels.copy()
    picked = rng.permutation(len(labels))[:round(fraction * len(labels))]
    out[picked] = rng.integers(0, n_classes, size=len(picked))
    return out


def triplet_by_hand(a, b, margin):
    s = (a @ b.T).tolist()
    total = 0.0
    for i in range(len(s)):
        hardest_b = max(s[i][j] for j in range(len(s)) if j != i)
        hardest_a = max(s[j][i] for j in range(len(s)) if j != i)
        total += max(0.0, margin - s[i][i] + hardest_b) + max(0.0, margin - s[i][i] + hardest_a)
    return total / len(s)


def macro_f1_by_hand(predictions, labels, n_classes):
    scores = []
    for c in range(n_classes):
        tp = ((predictions == c) & (labels == c)).sum().item()
        wrong = ((predictions == c) != (labels == c)).sum().item()  # false positives + false negatives
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return sum(scores) / n_classes


def uniformity_by_hand(x, t):
    pairs = [math.exp(-t * ((x[i] - x[j]) ** 2).sum().item()) for i in range(len(x)) for j in range(len(x)) if i != j]
    return math.log(sum(pairs) / len(pairs))


def test_every_check_has_a_reference_here():
    assert set(REFERENCES) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_passes(capsys, name):
    ok, out = verdict(capsys, CHECKS[name], REFERENCES[name])
    assert ok and out.startswith(checks.PASS), out


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_stub_gets_advice_not_a_traceback(capsys, name):
    ok, out = verdict(capsys, CHECKS[name], stub)
    assert not ok and "not written yet" in out


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("bad", [crashes, 42, lambda *a: "a string", lambda *a: None])
def test_never_raises_on_junk(capsys, name, bad):
    ok, out = verdict(capsys, CHECKS[name], bad)
    assert not ok and out.startswith(checks.FAIL)


MISTAKES = [
    ("cosine_similarity", lambda a, b: a @ b.T, "L2-normalise"),
    ("cosine_similarity", lambda a, b: F.normalize(b, dim=-1) @ F.normalize(a, dim=-1).T, "transposed"),
    ("info_nce", lambda a, b, s: F.cross_entropy(s.exp() * a @ b.T, torch.arange(len(a))), "only one direction"),
    ("info_nce", lambda a, b, s: (F.cross_entropy(a @ b.T, torch.arange(len(a)))
                                  + F.cross_entropy(b @ a.T, torch.arange(len(a)))) / 2, "temperature is missing"),
    ("info_nce", lambda a, b, s: (F.cross_entropy(s * a @ b.T, torch.arange(len(a)))
                                  + F.cross_entropy(s * b @ a.T, torch.arange(len(a)))) / 2, "is a logarithm"),
    ("recall_at_k", lambda s, k: (s.topk(k, 1).indices == torch.arange(len(s))[:, None]).any(1).sum().item(),
     "returned a count"),
    ("recall_at_k", lambda s, k: (s.topk(k, 1, largest=False).indices == torch.arange(len(s))[:, None]).any(1)
     .float().mean().item(), "LARGEST"),
    ("modality_gap", lambda a, b: (a - b).norm(dim=1).mean(), "CENTRES"),
    ("modality_gap", lambda a, b: (F.normalize(a.mean(0), dim=0) - F.normalize(b.mean(0), dim=0)).norm(),
     "normalised the centres"),
    ("modality_gap", lambda a, b: ((a.mean(0) - b.mean(0)) ** 2).sum(), "squared distance"),
    ("triplet_loss", lambda a, b, m: sum(max(0.0, m - (a @ b.T)[i, i].item() + (a @ b.T)[i, j].item())
                                         + max(0.0, m - (a @ b.T)[i, i].item() + (a @ b.T)[j, i].item())
                                         for i in range(len(a)) for j in range(len(a)) if j != i) / len(a),
     "HARDEST negative"),
    ("triplet_loss", lambda a, b, m: (m - (a @ b.T).diagonal() + (a @ b.T - 9 * torch.eye(len(a))).max(1).values)
     .clamp(min=0).mean(), "only one direction"),
    ("triplet_loss", lambda a, b, m: ((m - (a @ b.T).diagonal() + (a @ b.T).max(1).values).clamp(min=0)
                                      + (m - (a @ b.T).diagonal() + (a @ b.T).max(0).values).clamp(min=0)).mean(),
     "mask the diagonal"),
    ("distillation_loss", lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
                                                   reduction="batchmean"), "T² factor is missing"),
    ("distillation_loss", lambda s, t, T: F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1),
                                                   reduction="batchmean") * T * T, "divide both logits by T"),
    ("masked_mean", lambda e, t: e.mean(1), "averaged the padding"),
    ("masked_mean", lambda e, t: (e * (t > 0)[..., None]).sum(1), "sum over real tokens"),
    ("drop_words", lambda t, w: t.masked_fill(torch.isin(t, torch.tensor(w, dtype=torch.long)), 1), "<unk>"),
    ("drop_words", lambda t, w: t.masked_fill(t == w[0], 0) if w else t, "only the first id"),
    ("late_fusion", lambda ls: sum(ls) / len(ls), "averaged raw logits"),
    ("flattened_size", lambda stack, shape: stack(torch.zeros(1, *shape)).shape[-1] ** 2,
     "one channel's map"),
    ("optimizer_covers", lambda enc, tr: torch.optim.SGD(enc.parameters(), lr=0.1),
     "never sees the transfer network"),
    ("available_late_fusion", lambda ls, av: sum(F.softmax(x, -1) for x in ls) / len(ls), "missing ones included"),
    ("available_late_fusion", lambda ls, av: sum(F.softmax(x, -1) * av[:, m, None] for m, x in enumerate(ls)) / len(ls),
     "divided by all M"),
    ("available_late_fusion", lambda ls, av: sum(x * av[:, m, None] for m, x in enumerate(ls)) / av.sum(1, keepdim=True),
     "averaged raw logits"),
    ("prompt_ensemble", lambda x: x.mean(1), "not re-normalised"),
    ("prompt_ensemble", lambda x: F.normalize(x.mean(0), dim=-1), "averaged over the classes"),
    ("macro_f1", lambda p, y, n: (p == y).float().mean().item(), "accuracy"),
    ("macro_f1", lambda p, y, n: f1_score(y, p, average="micro"), "micro-F1"),
    ("macro_f1", lambda p, y, n: f1_score(y, p, average="weighted", zero_division=0), "weighted each class"),
    ("median_rank", lambda s: float(np.median([(row > row[i]).sum().item() for i, row in enumerate(s)])), "start at 0"),
    ("median_rank", lambda s: float(np.median([(row < row[i]).sum().item() + 1 for i, row in enumerate(s)])),
     "LARGEST"),
    ("median_rank", lambda s: float(((s >= s.diagonal()[:, None]).sum(1)).median()), "two middle ranks"),
    ("alignment", lambda a, b: (a - b).norm(dim=1).mean().item(), "square each distance"),
    ("uniformity", lambda x, t: torch.exp(-t * torch.cdist(x, x) ** 2).mean().log().item(), "i = j"),
    ("uniformity", lambda x, t: math.exp(uniformity_by_hand(x, t)), "log is missing"),
    ("zero_shot_predict", lambda i, c: (i @ c.T).argmax(1), "raw dot products"),
    ("zero_shot_predict", lambda i, c: (F.normalize(i, dim=1) @ F.normalize(c, dim=1).T).argmax(0),
     "argmax over the images"),
    ("teacher_forcing_shift", lambda t: (t, t), "the same tokens"),
    ("teacher_forcing_shift", lambda t: (t[:, 1:], t[:, :-1]), "swapped"),
    ("token_accuracy", lambda lo, t: (lo.argmax(-1) == t).float().mean().item(), "counted the padding"),
    ("freeze", lambda m: m, "nothing was frozen"),
    ("freeze", lambda m: m.requires_grad_(False), "call module.eval() too"),
    ("freeze", lambda m: m.eval(), "still require a gradient"),
    ("freeze", lambda m: setattr(m, "training", False) or m.requires_grad_(False), "outer module only"),
    ("freeze", lambda m: m.requires_grad_(False).eval() and None, "return the module itself"),
    ("left_out_of", lambda o, m: [n for n, p in m.named_parameters()
                                  if not any(p is q for g in o.param_groups for q in g["params"])],
     "frozen parameters too"),
    ("left_out_of", lambda o, m: [n for n, p in m.named_parameters()
                                  if p.requires_grad and not any(p is q for q in o.param_groups[0]["params"])],
     "first param group only"),
    ("left_out_of", lambda o, m: [n for n, p in m.named_parameters() if p.requires_grad and not any(
        torch.equal(p, q) for g in o.param_groups for q in g["params"] if q.shape == p.shape)],
     "compared values"),
    ("left_out_of", lambda o, m: [n for n, p in m.named_parameters()
                                  if p.requires_grad and any(p is q for g in o.param_groups for q in g["params"])],
     "the optimizer holds"),
    ("feature_regression_loss", lambda s, t: ((s - t.detach()) ** 2).sum(1).mean(), "summed over the D"),
    ("feature_regression_loss", lambda s, t: (s - t.detach()).norm(dim=1).mean(), "averaged the distances"),
    ("feature_regression_loss", lambda s, t: (s - t.detach()).abs().mean(), "mean absolute error"),
    ("feature_regression_loss", lambda s, t: ((s - t.detach()) ** 2).sum(), "summed over the batch"),
    ("feature_regression_loss", lambda s, t: F.mse_loss(s, t), "detach them"),
    ("feature_regression_loss", lambda s, t: F.mse_loss(s.detach(), t.detach()), "no gradient can flow back"),
    ("harmonic_mean", lambda s, u: (s + u) / 2, "arithmetic mean"),
    ("harmonic_mean", lambda s, u: math.sqrt(s * u), "geometric mean"),
    ("harmonic_mean", lambda s, u: s * u / (s + u) if s + u else 0.0, "factor 2 is missing"),
    # ---- notebook 01, exercise 2 (change, predict, measure)
    ("corrupt_labels", corrupt_any_class, "among the other"),
    ("corrupt_labels", corrupt_in_place, "in place"),
    ("corrupt_labels", lambda y, q, n, seed: np.where(np.arange(len(y)) < round(q * len(y)), (y + 1) % n, y),
     "systematic renaming"),
    ("corrupt_labels", lambda y, q, n, seed: corrupt_by_hand(y, q, n, 0), "use the seed"),
    ("corrupt_labels", lambda y, q, n, seed: corrupt_by_hand(y, q, n, np.random.randint(1 << 30)), "same seed"),
    ("corrupt_labels", lambda y, q, n, seed: corrupt_by_hand(y, 1.0, n, seed), "expected exactly"),
    ("corrupt_labels", lambda y, q, n, seed: corrupt_by_hand(y, q, n, seed).astype(float), "integers"),
    ("corrupt_labels", lambda y, q, n, seed: corrupt_by_hand(y, q, n, seed)[:-1], "shape"),
]


@pytest.mark.parametrize("name, answer, hint", MISTAKES, ids=[f"{m[0]}:{m[2]}" for m in MISTAKES])
def test_typical_mistakes_get_their_own_hint(capsys, name, answer, hint):
    ok, out = verdict(capsys, CHECKS[name], answer)
    assert not ok and hint in out, out


def test_wrong_shape_is_described(capsys):
    ok, out = verdict(capsys, checks.check_late_fusion, lambda ls: torch.zeros(3))
    assert not ok and "shape" in out


@pytest.mark.parametrize("answer, message", [
    (lambda t: t[:, :-1], "it returned Tensor; return a tuple of 2 values"),
    (lambda t: (t[:, :-1],), "it returned 1 value, expected 2"),
    (lambda t: [t[:, :-1], t[:, :-1]], "value 2 of 2 is off"),
    (lambda t: (t[:, :-1], t[:, 2:]), "value 2 of 2 is off: it returned shape"),
])
def test_a_tuple_answer_is_compared_element_by_element(capsys, answer, message):
    ok, out = verdict(capsys, checks.check_teacher_forcing_shift, answer)
    assert not ok and message in out, out


LIBRARY = {  # the library function each exercise points to, called the exercise's way
    "modality_gap": retrieval.modality_gap,
    "triplet_loss": losses.triplet_loss,
    "alignment": retrieval.alignment,
    "uniformity": retrieval.uniformity,
    "median_rank": lambda s: retrieval.median_rank(s, torch.eye(len(s), dtype=torch.bool)),
    # evaluation.macro_f1 averages over the classes that occur in labels or predictions, which the
    # exercise does not accept (a class that occurs nowhere counts): its scikit-learn form with labels=
    "macro_f1": lambda p, y, n: f1_score(y, p, labels=list(range(n)), average="macro", zero_division=0),
    "zero_shot_predict": lambda i, c: torch.from_numpy(evaluation.zero_shot_predict(i, c)),
    "prompt_ensemble": distill.class_embeddings,
    "feature_regression_loss": distill.feature_regression_loss,
}


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_the_library_function_passes_its_exercise_check(capsys, name):
    ok, out = verdict(capsys, CHECKS[name], LIBRARY[name])
    assert ok, out


def test_an_answer_that_edits_its_inputs_in_place_is_judged_fairly(capsys):
    def in_place(a, b):
        a -= b  # a is now a - b: the reference must still see the original a
        return (a ** 2).sum(1).mean().item()

    ok, out = verdict(capsys, checks.check_alignment, in_place)
    assert ok, out


def test_checks_that_build_modules_leave_the_notebooks_random_numbers_alone(capsys):
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    checks.check_freeze(REFERENCES["freeze"])
    checks.check_left_out_of(REFERENCES["left_out_of"])
    assert torch.equal(torch.rand(3), want)


def test_an_info_nce_with_the_temperature_typed_in_fails(capsys):
    def typed_in(a, b, logit_scale):  # ignores logit_scale: uses CLIP's starting temperature
        logits = a @ b.T / 0.07
        target = torch.arange(len(a))
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    ok, out = verdict(capsys, checks.check_info_nce, typed_in)
    assert not ok, out


# ---------------------------------------------------------------- 02: predict, then measure

def test_compare_prediction_prints_each_name_and_passes_only_when_all_are_close(capsys):
    measured = {"colour": 0.18, "shape": 0.96}
    assert checks.compare_prediction({"colour": 0.2, "shape": 0.95}, measured) is True
    out = capsys.readouterr().out
    assert "predicted 0.200   measured 0.180" in out and "✅ prediction" in out
    assert checks.compare_prediction({"colour": 0.6, "shape": 0.95}, measured) is False
    assert "❌ colour" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [{"colour": 0.2}, {"colour": "low", "shape": 0.9}, [0.2, 0.9],
                                 {"colour": float("nan"), "shape": 0.9}])
def test_compare_prediction_explains_a_malformed_prediction(capsys, bad):
    assert checks.compare_prediction(bad, {"colour": 0.18, "shape": 0.96}) is False
    assert "predict" in capsys.readouterr().out


# ================================================================ notebooks 04 and 05 (issue 15): the masked
# InfoNCE and the two change-predict-measure exercises

REFERENCES.update({
    "masked_info_nce": lambda a, b, s, m: losses.info_nce_loss(a, b, s, m),
    "spoke_experiment": lambda: {"prediction": "near chance", "t2s_R@1": 0.012, "s2t_R@1": 0.009, "chance": 0.0105},
    "gap_experiment": lambda: {"prediction": "larger at 0.05", "gap_cold": 0.21, "gap_warm": 0.05},
})


def masked_by_hand(a, b, s, m):
    logits = (s.exp() * a @ b.T).tolist()
    total = 0.0
    for rows, mask in ((logits, m.tolist()), ([list(c) for c in zip(*logits)], m.T.tolist())):
        for row, match in zip(rows, mask):
            total -= math.log(sum(math.exp(v) for v, k in zip(row, match) if k) / sum(math.exp(v) for v in row))
    return torch.tensor(total / (2 * len(logits)))


def test_masked_info_nce_reference_agrees_with_a_loop_by_hand(capsys):
    ok, out = verdict(capsys, checks.check_masked_info_nce, masked_by_hand)
    assert ok, out


@pytest.mark.parametrize("answer, hint", [
    (lambda a, b, s, m: (F.cross_entropy(s.exp() * a @ b.T, torch.arange(len(a)))
                         + F.cross_entropy(s.exp() * b @ a.T, torch.arange(len(a)))) / 2, "the mask is ignored"),
    (lambda a, b, s, m: checks._one_way(s.exp() * a @ b.T, m), "only one direction"),
    (lambda a, b, s, m: (checks._one_way(s.exp() * a @ b.T, m)
                         + F.cross_entropy(s.exp() * b @ a.T, torch.arange(len(a)))) / 2, "b -> a half ignores the mask"),
    (lambda a, b, s, m: checks._masked_info_nce(a, b, torch.log(s), m), "logit_scale is a logarithm"),
    (lambda a, b, s, m: (-(F.log_softmax(s.exp() * a @ b.T, 1) * m).sum(1) / m.sum(1)).mean() / 2
     - ((F.log_softmax(s.exp() * b @ a.T, 1) * m.T).sum(1) / m.T.sum(1)).mean() / 2, "log of a sum"),
])
def test_masked_info_nce_mistakes_get_their_own_hint(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_masked_info_nce, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("check, answer, hint", [
    (checks.check_spoke_experiment, lambda: {"prediction": "maybe", "t2s_R@1": 0.01, "s2t_R@1": 0.01,
                                             "chance": 0.0105}, "must be one of"),
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": 0.01}, "return a dict"),
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": 0.01, "s2t_R@1": 0.01,
                                             "chance": 3.0}, "fraction between 0 and 1"),
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": 12.0, "s2t_R@1": 0.01,
                                             "chance": 0.0105}, "Recall@1 is a fraction"),
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": float("nan"), "s2t_R@1": 0.01,
                                             "chance": 0.0105}, "NaN"),
    (checks.check_gap_experiment, lambda: {"prediction": "larger at 0.05", "gap_cold": 0.1, "gap_warm": 0.1},
     "both gaps are the same number"),
    (checks.check_gap_experiment, lambda: {"prediction": "larger at 0.05", "gap_cold": "big", "gap_warm": 0.1},
     "must be numbers"),
    (checks.check_gap_experiment, lambda: {"prediction": "larger at 0.05", "gap_cold": 5.0, "gap_warm": 0.1},
     "between 0 and 2"),
])
def test_an_experiment_check_rejects_a_malformed_measurement(capsys, check, answer, hint):
    ok, out = verdict(capsys, check, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("check, answer, outcome, agrees", [
    # every measured outcome is accepted; the verdict says whether the prediction agreed with it
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": 0.012, "s2t_R@1": 0.009,
                                             "chance": 0.0105}, "near chance", True),
    (checks.check_spoke_experiment, lambda: {"prediction": "well above chance", "t2s_R@1": 0.01, "s2t_R@1": 0.01,
                                             "chance": 0.0105}, "near chance", False),
    (checks.check_spoke_experiment, lambda: {"prediction": "near chance", "t2s_R@1": 0.9, "s2t_R@1": 0.8,
                                             "chance": 0.0105}, "well above chance", False),
    (checks.check_spoke_experiment, lambda: {"prediction": "well above chance", "t2s_R@1": 0.1, "s2t_R@1": 0.1,
                                             "chance": 0.0105}, "well above chance", True),
    (checks.check_gap_experiment, lambda: {"prediction": "about the same", "gap_cold": 0.2, "gap_warm": 0.05},
     "larger at 0.05", False),
    (checks.check_gap_experiment, lambda: {"prediction": "larger at 0.05", "gap_cold": 0.05, "gap_warm": 0.2},
     "larger at 0.5", False),
    (checks.check_gap_experiment, lambda: {"prediction": "larger at 0.5", "gap_cold": 0.05, "gap_warm": 0.2},
     "larger at 0.5", True),
    (checks.check_gap_experiment, lambda: {"prediction": "about the same", "gap_cold": 0.104, "gap_warm": 0.1},
     "about the same", True),
])
def test_an_experiment_check_accepts_any_measured_outcome_and_compares_the_prediction(capsys, check, answer,
                                                                                       outcome, agrees):
    ok, out = verdict(capsys, check, answer)
    assert ok, out
    assert (f"You predicted {outcome!r} and it agrees" in out) == agrees, out
    assert agrees or f"it says {outcome!r}, so your prediction was wrong" in out, out


def test_an_experiment_verdict_that_passes_prints_no_measured_number(capsys):
    """Exercise cells are compared by nbval: a passing verdict must read the same on every machine."""
    for name in ("spoke_experiment", "gap_experiment"):
        ok, out = verdict(capsys, CHECKS[name], REFERENCES[name])
        assert ok and not any(ch.isdigit() for ch in out.replace("0.05", "").replace("0.5", "")), out


# ---------------------------------------------------------------- 03: change, predict, measure (issue 15)
# (tests of the check added for notebook 03's exercise 3; the generic tests above run it too)

REFERENCES["dropout_prediction"] = lambda: {"share_one_modality": 3 * 0.2 * 0.8 ** 2 / (1 - 0.8 ** 3),
                                            "only_image": "up", "all_three": "down"}


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"share_one_modality": 3 * 0.2 * 0.8 ** 2, "only_image": "up", "all_three": "up"},
     "independent drops"),
    (lambda: {"share_one_modality": 0.2, "only_image": "up", "all_three": "up"}, "count the ways"),
    (lambda: {"share_one_modality": 0.79, "only_image": "higher", "all_three": "up"}, "'up' or 'down'"),
    (lambda: {"share_one_modality": 0.79}, "exactly the keys"),
    (lambda: {"share_one_modality": "most", "only_image": "up", "all_three": "up"}, "a number"),
])
def test_dropout_prediction_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_dropout_prediction, answer)
    assert not ok and hint in out, out


def test_dropout_prediction_measures_the_masks_and_leaves_the_random_state(capsys):
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    ok, out = verdict(capsys, lambda a: checks.check_dropout_prediction(a, p=0.5, n_modalities=2),
                      lambda: {"share_one_modality": 2 / 3, "only_image": "down", "all_three": "up"})
    assert ok and "0.66" in out or "0.67" in out, out
    assert torch.equal(torch.rand(3), want)


# --- notebook 07 -----------------------------------------------------------------------------------
# the distillation check names the one-sided temperature and accepts the soft-target cross-entropy;
# the change-predict-measure check of exercise 3 (the temperature on the teacher's side only)

def soft_cross_entropy(s, t, T):
    return -(F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).sum(-1).mean() * T * T


@pytest.mark.parametrize("answer, hint", [
    (lambda s, t, T: F.kl_div(F.log_softmax(s, -1), F.softmax(t / T, -1), reduction="batchmean") * T * T,
     "only the teacher's logits are divided by T"),
    (lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t, -1), reduction="batchmean") * T * T,
     "only the student's logits are divided by T"),
    (lambda s, t, T: F.kl_div(F.log_softmax(t / T, -1), F.softmax(s / T, -1), reduction="batchmean") * T * T,
     "reversed"),
])
def test_distillation_check_names_the_one_sided_temperature_and_the_reversed_kl(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_distillation_loss, answer)
    assert not ok and hint in out and (hint == "reversed" or "on one side only" in out), out


def test_distillation_check_accepts_the_soft_target_cross_entropy_and_says_what_it_is(capsys):
    ok, out = verdict(capsys, checks.check_distillation_loss, soft_cross_entropy)
    assert ok and "cross-entropy" in out and "teacher's entropy" in out and "same" in out, out


def test_what_the_check_says_of_the_soft_target_cross_entropy_is_true():
    g = torch.Generator().manual_seed(7)
    s, t = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    for T in (1.0, 3.0):
        grads = []
        for loss in (soft_cross_entropy, distill.distillation_loss):
            x = s.clone().requires_grad_()
            loss(x, t, T).backward()
            grads.append(x.grad)
        assert torch.allclose(grads[0], grads[1], atol=1e-6)  # the same gradient
        p = F.softmax(t / T, -1)
        entropy = -(p * p.log()).sum(-1).mean()
        assert soft_cross_entropy(s, t, T).item() == pytest.approx(
            distill.distillation_loss(s, t, T).item() + T * T * entropy.item(), rel=1e-5)  # values differ by T²·H


def one_sided(acc="about the same", conf="lower", a1=0.91, a2=0.92, c1=0.70, c2=0.91):
    return lambda: {"accuracy": acc, "confidence": conf, "accuracy_one_sided": a1, "accuracy_both_sides": a2,
                    "confidence_one_sided": c1, "confidence_both_sides": c2}


REFERENCES["one_sided_experiment"] = one_sided()


@pytest.mark.parametrize("answer, hint", [
    (one_sided(acc="same"), "must be one of"),
    (lambda: {"accuracy": "lower", "accuracy_one_sided": 0.9}, "return a dict"),
    (one_sided(a1="high"), "must be numbers"),
    (one_sided(c1=70.0), "between 0 and 1"),
    (one_sided(a1=float("nan")), "between 0 and 1"),
    (one_sided(a1=0.9, a2=0.9, c1=0.8, c2=0.8), "exactly the same"),
])
def test_one_sided_experiment_rejects_a_malformed_measurement(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_one_sided_experiment, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("answer, agrees, wrong", [
    (one_sided(), True, ""),
    (one_sided(acc="lower"), False, "accuracy 'lower', this run says 'about the same'"),
    (one_sided(conf="about the same"), False, "confidence 'about the same', this run says 'lower'"),
    (one_sided(acc="lower", conf="lower", a1=0.80), True, ""),
    (one_sided(conf="higher", c1=0.99, c2=0.90), True, ""),
])
def test_one_sided_experiment_accepts_any_outcome_and_the_verdict_compares_both_predictions(capsys, answer, agrees,
                                                                                            wrong):
    kept = {}
    ok, out = verdict(capsys, lambda a: checks.check_one_sided_experiment(a, keep=kept), answer)
    assert ok and "predicted" in out and set(kept) == {"accuracy", "confidence", *checks.ONE_SIDED_KEYS}, out
    assert not any(ch.isdigit() for ch in out), "a passing check prints no measured number (nbval compares it)"
    ok = checks.one_sided_verdict(kept)
    out = capsys.readouterr().out
    assert out.count("\n") == 3, "the two measurements, then one verdict line"
    assert ok == agrees and ("both predictions agree" in out) == agrees and wrong in out, out


def test_one_sided_verdict_without_a_kept_measurement_says_what_to_do(capsys):
    ok = checks.one_sided_verdict({})
    out = capsys.readouterr().out
    assert not ok and "run the exercise cell first" in out, out

# --- notebook 12 ---
# (tests of the check of notebook 12's exercise 3; the generic tests above run it too)

REFERENCES["caption_prediction"] = lambda: {"shape": 0.9, "colour": 0.99, "size": 0.95, "position": 0.99}


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"shape": 0.9, "colour": 0.99}, "exactly the keys"),
    (lambda: [0.9, 0.99, 0.95, 0.99], "exactly the keys"),
    (lambda: {"shape": 90, "colour": 99, "size": 95, "position": 99}, "not a percentage"),
    (lambda: {"shape": "high", "colour": 0.99, "size": 0.95, "position": 0.99}, "shape: predict a number"),
    (lambda: {"shape": True, "colour": 0.99, "size": 0.95, "position": float("nan")}, "shape, position"),
])
def test_caption_prediction_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_caption_prediction, answer)
    assert not ok and hint in out, out


def test_caption_prediction_echoes_the_numbers(capsys):
    ok, out = verdict(capsys, checks.check_caption_prediction, REFERENCES["caption_prediction"])
    assert ok and "shape 0.90" in out and "position 0.99" in out, out

# --- notebook 09 ---
# macro-F1 over all the classes (issue 16), the teacher experiment (change, predict, measure)

REFERENCES["teacher_experiment"] = lambda: {"prediction": "in between", "shape_teacher": 0.61,
                                            "colour_teacher": 0.83, "scratch": 0.34}


def test_macro_f1_averaging_only_over_the_classes_that_occur_is_named(capsys):
    ok, out = verdict(capsys, checks.check_macro_f1, lambda p, y, n: f1_score(y, p, average="macro", zero_division=0))
    assert not ok and "only over the classes that occur" in out and "n_classes" in out, out
    ok, out = verdict(capsys, checks.check_macro_f1,
                      lambda p, y, n: f1_score(y, p, labels=list(range(n)), average="macro", zero_division=0))
    assert ok, out


@pytest.mark.parametrize("shape, outcome", [(0.36, "no better than scratch"), (0.61, "in between"),
                                            (0.80, "as good as the colour teacher")])
def test_teacher_experiment_accepts_each_outcome(capsys, shape, outcome):
    for prediction in ("no better than scratch", "in between", "as good as the colour teacher"):
        ok, out = verdict(capsys, checks.check_teacher_experiment, lambda: {
            "prediction": prediction, "shape_teacher": shape, "colour_teacher": 0.83, "scratch": 0.34})
        assert ok and (f"You predicted {outcome!r} and it agrees" in out) == (prediction == outcome), out


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"prediction": "better", "shape_teacher": 0.6, "colour_teacher": 0.8, "scratch": 0.3}, "must be one of"),
    (lambda: {"prediction": "in between", "shape_teacher": 60, "colour_teacher": 80, "scratch": 30}, "fractions"),
    (lambda: {"prediction": "in between", "shape_teacher": 0.8, "colour_teacher": 0.8, "scratch": 0.3},
     "exactly the same"),
    (lambda: {"prediction": "in between", "shape_teacher": 0.6}, "return a dict"),
])
def test_teacher_experiment_rejects_a_malformed_measurement(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_teacher_experiment, answer)
    assert not ok and hint in out, out


def test_teacher_experiment_quiet_mode_keeps_the_verdict_for_the_next_cell(capsys):
    answer = lambda: {"prediction": "in between", "shape_teacher": 0.61, "colour_teacher": 0.83, "scratch": 0.34}
    ok, out = verdict(capsys, lambda a: checks.check_teacher_experiment(a, verdict=False), answer)
    assert ok and "0.61" not in out and "agrees" not in out and "next cell" in out, out
    checks.teacher_experiment_verdict()
    out = capsys.readouterr().out
    assert "shape_teacher 0.610" in out and "You predicted 'in between' and it agrees" in out, out
    ok, out = verdict(capsys, lambda a: checks.check_teacher_experiment(a, verdict=False),
                      lambda: {"prediction": "better", "shape_teacher": 0.6, "colour_teacher": 0.8, "scratch": 0.3})
    assert not ok and "must be one of" in out, out

# ---------------------------------------------------------------- notebook 11 ---
# 11: your own word list, predict then measure (the measuring is done in the notebook)

_WORDS = {"red": ["ruby", "cherry"], "orange": ["carrot", "tangerine"], "yellow": ["lemon", "banana"],
          "green": ["grass", "lime"], "blue": ["sky", "sea"], "purple": ["plum", "grape"]}
REFERENCES["word_list"] = lambda: (_WORDS, 0.5)


def test_word_list_refuses_caption_words_short_lists_and_bad_predictions(capsys):
    for answer, message in (
            (lambda: ({**_WORDS, "red": ["crimson", "ruby"]}, 0.5), "uses a caption word"),
            (lambda: ({**_WORDS, "red": ["deep red", "ruby"]}, 0.5), "uses a caption word"),
            (lambda: ({**_WORDS, "red": ["ruby"]}, 0.5), "at least 2 words"),
            (lambda: ({"red": ["ruby", "rose"]}, 0.5), "exactly these classes"),
            (lambda: (_WORDS, 2), "between 0 and 1"),
            (lambda: _WORDS, "return two things")):
        ok, out = verdict(capsys, checks.check_word_list, answer)
        assert not ok and message in out, out


def test_word_list_with_other_classes(capsys):
    ok, out = verdict(capsys, lambda a: checks.check_word_list(a, caption_words={"circle": ("circle", "disc")}),
                      lambda: ({"circle": ["ring", "wheel"]}, 0.7))
    assert ok and "2 words for 1 classes" in out


def test_word_list_refuses_caption_word_pieces_with_a_tokenizer(capsys):
    class Pieces:  # stands in for the teacher's WordPiece tokenizer
        def tokenize(self, text):
            return ["blue", "##bell"] if text == "bluebell" else text.split()

    answer = lambda: ({**_WORDS, "blue": ["bluebell", "sea"]}, 0.5)
    ok, out = verdict(capsys, lambda a: checks.check_word_list(a, tokenizer=Pieces()), answer)
    assert not ok and "word pieces" in out, out
    ok, out = verdict(capsys, checks.check_word_list, answer)   # without a tokenizer only whole words are checked
    assert ok, out

# --- notebook 10 ---
# ---------------------------------------------------------------- 10: change, predict, measure (issue 16)


def lie_partners_reference(labels, seed):
    rng = np.random.default_rng(seed)
    return np.array([rng.choice(np.flatnonzero(labels == (c + 1) % 6)) for c in labels])


REFERENCES["lie_partners"] = lie_partners_reference


@pytest.mark.parametrize("answer, hint", [
    (lambda labels, seed: np.arange(len(labels)), "own colour"),
    (lambda labels, seed: np.array([np.flatnonzero(labels == (c - 1) % 6)[0] for c in labels]), "previous colour"),
    (lambda labels, seed: np.array([np.flatnonzero(labels == (c + 2) % 6)[0] for c in labels]), "not of the next colour"),
    (lambda labels, seed: np.zeros(3, dtype=int), "shape"),
    (lambda labels, seed: np.full(len(labels), len(labels)), "an index into labels"),
])
def test_lie_partners_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_lie_partners, answer)
    assert not ok and hint in out, out


LIE_CLEAN = {"clean_recall_at_1": 0.9, "clean_transfer": 0.84, "chance_recall_at_1": 0.167, "scratch": 0.35}


@pytest.mark.parametrize("measured, outcome", [
    ({"recall_at_1": 0.02, "transfer": 0.82}, "transfer stays high, retrieval collapses"),
    ({"recall_at_1": 0.85, "transfer": 0.80}, "both stay high"),
    ({"recall_at_1": 0.85, "transfer": 0.36}, "retrieval stays high, transfer collapses"),
    ({"recall_at_1": 0.10, "transfer": 0.30}, "both collapse"),
])
@pytest.mark.parametrize("prediction", checks.LIE_OUTCOMES)
def test_lie_verdict_prints_the_numbers_and_compares_the_prediction(capsys, measured, outcome, prediction):
    assert checks.lie_verdict(prediction, {**measured, **LIE_CLEAN}) == outcome
    out = capsys.readouterr().out
    assert f"{measured['recall_at_1']:.3f}" in out and f"{measured['transfer']:.3f}" in out
    assert ("it agrees" in out) == (prediction == outcome), out

# --- notebook 06 ---
# (tests of the check added for notebook 06's exercise 3, the broken camera; the generic tests above run it too)

REFERENCES["camera_prediction"] = lambda: {"f_no_picture": 0.472, "g_no_picture_clean": 0.95,
                                           "g_no_picture_loudest": 0.5}


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"f_no_picture": 1 / 3, "g_no_picture_clean": 0.9, "g_no_picture_loudest": 0.4}, "uniform random guess"),
    (lambda: {"f_no_picture": 0.0, "g_no_picture_clean": 0.9, "g_no_picture_loudest": 0.4}, "best fixed answer"),
    (lambda: {"f_no_picture": 0.6, "g_no_picture_clean": 0.9, "g_no_picture_loudest": 0.4}, "most common concept"),
    (lambda: {"f_no_picture": 0.472, "g_no_picture_clean": 0.9}, "exactly the keys"),
    (lambda: {"f_no_picture": 0.472, "g_no_picture_clean": "high", "g_no_picture_loudest": 0.4}, "between 0 and 1"),
    (lambda: {"f_no_picture": 0.472, "g_no_picture_clean": 95, "g_no_picture_loudest": 0.4}, "between 0 and 1"),
])
def test_camera_prediction_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_camera_prediction, answer)
    assert not ok and hint in out, out


def test_camera_prediction_uses_the_floor_it_is_given(capsys):
    answer = lambda: {"f_no_picture": 0.45, "g_no_picture_clean": 0.9, "g_no_picture_loudest": 0.4}
    ok, out = verdict(capsys, lambda a: checks.check_camera_prediction(a, floor=0.448), answer)
    assert ok and "0.448" in out and "next cell" in out, out
    ok, out = verdict(capsys, lambda a: checks.check_camera_prediction(a, floor=0.5), answer)
    assert not ok and "0.500" in out, out

# --- notebook 08 ---
# (the check of notebook 08's exercise 3; the generic tests above run it too)

REFERENCES["colour_only_prediction"] = lambda: {"colour_right": 0.95, "accuracy": 0.48}


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"colour_right": 0.9, "accuracy": 0.8}, "cannot score more"),
    (lambda: {"colour_right": 0.3, "accuracy": 0.4}, "cannot exceed the colour-right share"),
    (lambda: {"colour_right": 95, "accuracy": 0.4}, "between 0 and 1"),
    (lambda: {"colour_right": "high", "accuracy": 0.4}, "between 0 and 1"),
    (lambda: {"colour_right": 0.9}, "exactly the keys"),
])
def test_colour_only_prediction_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_colour_only_prediction, answer)
    assert not ok and hint in out, out


def test_colour_only_prediction_marks_against_the_colour_rule_given(capsys):
    answer = lambda: {"colour_right": 0.9, "accuracy": 0.7}  # noqa: E731
    ok, out = verdict(capsys, lambda a: checks.check_colour_only_prediction(a, colour_rule=0.72), answer)
    assert ok and not any(ch.isdigit() for ch in out), out

# --- notebook 13 ---
# (the checks of notebook 13's exercises 1 and 3; the generic tests above run them too)


def pixel_neighbour_reference(unseen_pixels, seen_pixels, seen_names, unseen_names):
    # written independently of checks.py: loops, numpy
    up, sp = unseen_pixels.numpy(), seen_pixels.numpy()
    sn, un = seen_names.numpy(), unseen_names.numpy()
    out = np.zeros((len(up), len(un)))
    for i, u in enumerate(up):
        cos = [u @ s / (np.linalg.norm(u) * np.linalg.norm(s)) for s in sp]
        name = sn[int(np.argmax(cos))]
        out[i] = [name @ n / (np.linalg.norm(name) * np.linalg.norm(n)) for n in un]
    return torch.as_tensor(out, dtype=torch.float32)


REFERENCES["pixel_neighbour_scores"] = pixel_neighbour_reference
REFERENCES["prompt_prediction"] = lambda: {"template": "{}", "prediction": "lower"}


@pytest.mark.parametrize("mistake, hint", [
    (lambda up, sp, sn, un: F.normalize(sn[torch.cdist(up, sp).argmin(dim=1)], dim=1) @ F.normalize(un, dim=1).T,
     "Euclidean"),
    (lambda up, sp, sn, un: F.normalize(sn[(F.normalize(up, dim=1) @ F.normalize(sp, dim=1).T).argmin(dim=1)], dim=1)
     @ F.normalize(un, dim=1).T, "argmax"),
    (lambda up, sp, sn, un: sn[(F.normalize(up, dim=1) @ F.normalize(sp, dim=1).T).argmax(dim=1)] @ un.T, "normalise"),
    (lambda up, sp, sn, un: pixel_neighbour_reference(up, sp, sn, un).T, "swapped"),
])
def test_pixel_neighbour_scores_names_the_mistake(capsys, mistake, hint):
    ok, out = verdict(capsys, checks.check_pixel_neighbour_scores, mistake)
    assert not ok and hint in out, out


@pytest.mark.parametrize("answer, hint", [
    (lambda: {"template": "an emoji", "prediction": "lower"}, "exactly one {}"),
    (lambda: {"template": "{} {}", "prediction": "lower"}, "exactly one {}"),
    (lambda: {"template": "{}", "prediction": "worse"}, "must be one of"),
    (lambda: {"template": "{}"}, "exactly the keys"),
])
def test_prompt_prediction_names_the_mistake(capsys, answer, hint):
    ok, out = verdict(capsys, checks.check_prompt_prediction, answer)
    assert not ok and hint in out, out


@pytest.mark.parametrize("new, outcome", [(0.30, "higher"), (0.21, "about the same"), (0.10, "lower")])
def test_prompt_verdict_measures_the_outcome(capsys, new, outcome):
    assert checks.prompt_verdict("about the same", new, 0.22) == outcome
    out = capsys.readouterr().out
    assert f"{new:.3f}" in out and ("it agrees" in out) == (outcome == "about the same"), out
