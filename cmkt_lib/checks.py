"""Self-checks for the exercises.

`check_<exercise>(answer)` runs your function on small test cases, compares it with the course's
reference, and prints one verdict with a hint. It never raises: a wrong answer, a wrong type or
shape, or an error inside your code all get advice instead of a traceback. It returns True when
your answer passes, so a grader can count the passes.
"""

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

PASS, FAIL = "✅", "❌"


# ---------------------------------------------------------------- the machinery

def _report(ok: bool, name: str, message: str) -> bool:
    print(f"{PASS if ok else FAIL} {name}: {message}")
    return ok


def _call(fn, *args):
    """(result, problem): problem is a plain-words string when `fn` could not be run."""
    if not callable(fn):
        return None, (f"expected a function, got {type(fn).__name__}; pass the function itself, "
                      "e.g. check_x(my_function), without calling it")
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "not written yet: replace `raise NotImplementedError()` with your code"
    except Exception as err:  # the learner's code failed: explain, do not crash
        return None, f"your function raised {type(err).__name__}: {err}"


def _predicted_accuracies(answer, keys):
    """(prediction, problem): answer() must return a dict with exactly `keys`, each an accuracy in
    [0, 1]; problem is a plain-words string when it does not."""
    got, problem = _call(answer)
    if problem:
        return None, problem
    if not isinstance(got, dict) or set(got) != set(keys):
        return None, f"return a dict with exactly the keys {sorted(keys)}"
    bad = [k for k in sorted(keys) if isinstance(got[k], bool) or not isinstance(got[k], (int, float))
           or not math.isfinite(got[k]) or not 0 <= got[k] <= 1]
    if bad:
        return None, f"{', '.join(bad)}: predict an accuracy, a number between 0 and 1"
    return got, None


def _difference(got, want, atol: float):
    """None when got matches want, else a plain-words description of the difference.
    `want` is a tensor, a number, or a tuple of those (compared element by element)."""
    if isinstance(want, tuple):
        if not isinstance(got, (tuple, list)):
            return f"it returned {type(got).__name__}; return a tuple of {len(want)} values"
        if len(got) != len(want):
            return f"it returned {len(got)} value{'s' * (len(got) != 1)}, expected {len(want)}"
        for k, (g, w) in enumerate(zip(got, want), start=1):
            problem = _difference(g, w, atol)
            if problem:
                return f"value {k} of {len(want)} is off: {problem}"
        return None
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"it returned {type(got).__name__}; return a torch tensor"
        if got.shape != want.shape:
            hint = " (transposed? check which input gives the rows)" if got.shape == want.shape[::-1] else ""
            return f"it returned shape {tuple(got.shape)}, expected {tuple(want.shape)}{hint}"
        got = got.detach().float().cpu()
        if not torch.isfinite(got).all():
            return "it returned NaN or infinite values"
        err = (got - want.float()).abs().max().item()
        return None if err <= atol else f"its values differ from the reference by up to {err:.3g}"
    try:
        got = float(got)
    except (TypeError, ValueError):
        return f"it returned {type(got).__name__}; return a number"
    if not math.isfinite(got):
        return "it returned NaN or infinity"
    return None if abs(got - float(want)) <= atol else f"it returned {got:.4g}, expected {float(want):.4g}"


def _check(name, answer, reference, cases, mistakes=(), atol=1e-4) -> bool:
    """Run `answer` and `reference` on each case (a tuple of arguments); on a mismatch, name
    the first known mistake the answer matches, else describe the difference."""
    for args in cases:
        # the answer gets copies: one that edits its inputs in place cannot change what the reference sees
        got, problem = _call(answer, *copy.deepcopy(args))
        if problem is None:
            problem = _difference(got, reference(*args), atol)
        if problem is None:
            continue
        if got is not None:
            for mistake, hint in mistakes:
                try:
                    if _difference(got, mistake(*args), atol) is None:
                        return _report(False, name, hint)
                except Exception:  # a mistake model that does not apply to this answer
                    pass
        return _report(False, name, problem)
    return _report(True, name, f"correct on all {len(cases)} test cases")


def _unit(x):
    return F.normalize(x, dim=-1)


def _cases(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [tuple(torch.randn(*s, generator=g) for s in group) for group in shapes]


# ---------------------------------------------------------------- 04: similarity, InfoNCE, Recall@K

def _cosine(a, b):
    return _unit(a) @ _unit(b).T


def check_cosine_similarity(answer) -> bool:
    """answer(a (N, D), b (M, D)) -> (N, M) cosine similarities."""
    cases = _cases(((4, 3), (5, 3)), ((2, 8), (2, 8)), seed=1)
    mistakes = [
        (lambda a, b: a @ b.T, "you took dot products of raw vectors: L2-normalise each row first "
                               "(F.normalize(x, dim=-1)), so only directions count"),
        (lambda a, b: F.normalize(a, dim=0) @ F.normalize(b, dim=0).T,
         "you normalised along the wrong dimension: each row (dim=-1) must have length 1"),
    ]
    return _check("cosine similarity", answer, _cosine, cases, mistakes)


def _info_nce(a, b, logit_scale):
    logits = logit_scale.exp() * _unit(a) @ _unit(b).T
    target = torch.arange(len(a))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def check_info_nce(answer) -> bool:
    """answer(a (B, D), b (B, D), logit_scale scalar tensor) -> symmetric InfoNCE (scalar);
    a and b are L2-normalised, pair i is (a[i], b[i])."""
    raw = _cases(((6, 4), (6, 4)), ((3, 5), (3, 5)), seed=2)
    # two temperatures, so that an answer with 0.07 written into it cannot pass
    cases = [(_unit(a), _unit(b), torch.tensor(math.log(1 / t))) for (a, b), t in zip(raw, (0.07, 0.2))]
    target = lambda a: torch.arange(len(a))  # noqa: E731
    mistakes = [
        (lambda a, b, s: F.cross_entropy(s.exp() * a @ b.T, target(a)),
         "only one direction: average the a→b loss and the b→a loss (use the transposed logits)"),
        (lambda a, b, s: (F.cross_entropy(a @ b.T, target(a)) + F.cross_entropy(b @ a.T, target(a))) / 2,
         "the temperature is missing: multiply the similarities by logit_scale.exp()"),
        (lambda a, b, s: (F.cross_entropy(s * a @ b.T, target(a)) + F.cross_entropy(s * b @ a.T, target(a))) / 2,
         "logit_scale is a logarithm: multiply by logit_scale.exp(), not by logit_scale"),
    ]
    return _check("InfoNCE", answer, _info_nce, cases, mistakes)


def _recall_at_k(similarity, k):
    top = similarity.topk(k, dim=1).indices
    return (top == torch.arange(len(similarity))[:, None]).any(dim=1).float().mean().item()


def check_recall_at_k(answer) -> bool:
    """answer(similarity (N, N), k) -> fraction of rows whose match (the diagonal) is in the top k."""
    g = torch.Generator().manual_seed(3)
    sims = [torch.randn(8, 8, generator=g) + 2 * torch.eye(8), torch.randn(12, 12, generator=g)]
    cases = [(s, k) for s in sims for k in (1, 3)]
    mistakes = [
        (lambda s, k: _recall_at_k(s.T.contiguous(), k), "you ranked along the wrong axis: each ROW is a query, rank its columns"),
        (lambda s, k: _recall_at_k(s, k) * len(s), "you returned a count: divide by the number of queries"),
        (lambda s, k: _recall_at_k(-s, k), "you ranked the least similar first: the top k are the LARGEST similarities"),
    ]
    return _check("Recall@K", answer, _recall_at_k, cases, mistakes)


def _one_way(logits, mask):
    """-log(softmax mass on each row's matches), averaged over rows."""
    return (logits.logsumexp(dim=1) - logits.masked_fill(~mask, float("-inf")).logsumexp(dim=1)).mean()


def _masked_info_nce(a, b, logit_scale, positive_mask):
    logits = logit_scale.exp() * a @ b.T
    return (_one_way(logits, positive_mask) + _one_way(logits.T, positive_mask.T)) / 2


def _masked_cases():
    """Batches with duplicates: pairs that share their attributes, so the mask has off-diagonal Trues."""
    g = torch.Generator().manual_seed(4)
    groups = [torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([3, 1, 3, 0, 1])]
    cases = []
    for labels, t in zip(groups, (0.07, 0.2)):
        a = _unit(torch.randn(len(labels), 5, generator=g))
        b = _unit(a + 0.8 * torch.randn(len(labels), 5, generator=g))
        cases.append((a, b, torch.tensor(math.log(1 / t)), labels[:, None] == labels[None, :]))
    return cases


def check_masked_info_nce(answer) -> bool:
    """answer(a (B, D), b (B, D), logit_scale scalar tensor, positive_mask bool (B, B)) -> the
    symmetric InfoNCE whose target is "any match": -log(sum over matches / sum over all) per row,
    for rows (a -> b) and columns (b -> a), averaged."""
    target = lambda a: torch.arange(len(a))  # noqa: E731

    def mean_over_matches(a, b, s, m):  # the mean of -log p over each row's matches (SupCon's "out" form)
        logp = (s.exp() * a @ b.T).log_softmax(dim=1)
        logq = (s.exp() * b @ a.T).log_softmax(dim=1)
        return (-(logp * m).sum(1) / m.sum(1) - (logq * m.T).sum(1) / m.T.sum(1)).mean() / 2

    mistakes = [
        (lambda a, b, s, m: (F.cross_entropy(s.exp() * a @ b.T, target(a)) + F.cross_entropy(s.exp() * b @ a.T, target(a))) / 2,
         "the mask is ignored: that is plain InfoNCE, which calls a duplicate a negative. The target of "
         "row i is ANY j with positive_mask[i, j]: -log(sum of exp over the matches / sum of exp over all)"),
        (lambda a, b, s, m: (_one_way(s.exp() * a @ b.T, m) + F.cross_entropy(s.exp() * b @ a.T, target(a))) / 2,
         "the b -> a half ignores the mask: use the transposed logits AND the transposed mask"),
        (lambda a, b, s, m: _one_way(s.exp() * a @ b.T, m),
         "only one direction: average the a -> b loss (rows) and the b -> a loss (columns)"),
        (mean_over_matches, "you averaged -log p over the matches; the loss of section 3 takes -log of the SUM "
                            "of the matches' probabilities (log of a sum, not a mean of logs)"),
        (lambda a, b, s, m: _masked_info_nce(a, b, torch.log(s), m),
         "logit_scale is a logarithm: multiply by logit_scale.exp(), not by logit_scale"),
    ]
    return _check("InfoNCE with a positive mask", answer, _masked_info_nce, _masked_cases(), mistakes)


def _experiment(name, answer, keys, options, judge) -> bool:
    """A change-predict-measure exercise: answer() returns a dict with "prediction" (one of
    `options`, written down before running) and the measured numbers `keys`; judge(measured)
    gives (the option the measurement supports, a problem with the measurement or None, why).

    The check fails only when the answer is malformed or the numbers cannot be the measurement
    asked for. Any outcome the measurement can have is accepted: a prediction that the
    measurement contradicts is reported as such (that is what the exercise is for), not as an
    error, and the check still passes."""
    got, problem = _call(answer)
    if problem:
        return _report(False, name, problem)
    if not isinstance(got, dict) or "prediction" not in got or not all(k in got for k in keys):
        return _report(False, name, f"return a dict with 'prediction' and the measured {', '.join(map(repr, keys))}")
    if got["prediction"] not in options:
        return _report(False, name, f"'prediction' must be one of {', '.join(map(repr, options))}, got {got['prediction']!r}")
    try:
        measured = {k: float(got[k]) for k in keys}
    except (TypeError, ValueError):
        return _report(False, name, f"the measured {', '.join(map(repr, keys))} must be numbers")
    if not all(math.isfinite(v) for v in measured.values()):
        return _report(False, name, "a measured number is NaN or infinite")
    supported, problem, why = judge(measured)
    if problem:
        return _report(False, name, problem)
    if got["prediction"] != supported:
        return _report(True, name, f"the measurement was done as asked. You predicted {got['prediction']!r}; "
                                   f"it says {supported!r}, so your prediction was wrong, which is worth knowing. {why}")
    return _report(True, name, f"the measurement was done as asked. You predicted {supported!r} and it agrees. {why}")


def check_spoke_experiment(answer) -> bool:
    """answer() -> {"prediction": "near chance" or "well above chance", "t2s_R@1", "s2t_R@1",
    "chance"}: text<->sound Recall@1 of a space trained on image<->caption pairs only, and the
    chance Recall@1 of that gallery. "near chance" means below 5 times chance in both directions,
    the bound the notebook uses for its untrained control; anything higher is "well above chance".
    Either outcome is a valid measurement."""
    def judge(m):
        if not 0 < m["chance"] < 1:
            return None, f"'chance' must be a fraction between 0 and 1, got {m['chance']:.4g}", ""
        if not all(0 <= m[k] <= 1 for k in ("t2s_R@1", "s2t_R@1")):
            return None, "Recall@1 is a fraction between 0 and 1: return the recalls themselves", ""
        if m["t2s_R@1"] == m["s2t_R@1"] == 1:
            return None, "both recalls are exactly 1: did you evaluate text against sound on the test gallery?", ""
        ratio = max(m["t2s_R@1"], m["s2t_R@1"]) / m["chance"]
        if ratio < 5:
            return "near chance", None, (
                "Without the image-sound term nothing moves the sound encoder, so this model's sounds are "
                "those of an untrained encoder (compare the untrained control of the retrieval section): the text-sound "
                "retrieval of the main model needs the image-sound term. The experiment does not show more "
                "than that, e.g. how the link forms.")
        return "well above chance", None, (
            "Text-sound retrieval works without the image-sound term. Check that the model was trained on "
            "[('image', 'text')] only: if it was, the sound encoder's random features already carry the "
            "attributes, which the untrained control of the retrieval section does not suggest.")

    return _experiment("spoke experiment", answer, ("t2s_R@1", "s2t_R@1", "chance"),
                       ("near chance", "well above chance"), judge)


# ---------------------------------------------------------------- 05: modality gap, hard-negative triplet loss

def _number(fn):
    """`fn` with its result as a float, so that a tensor answer and a float answer both compare."""
    return lambda *args: float(fn(*args))


def _modality_gap(a, b):
    return (a.mean(dim=0) - b.mean(dim=0)).norm().item()


def check_modality_gap(answer) -> bool:
    """answer(a (N, D), b (M, D), unit rows) -> the distance between the two clouds' centres."""
    g = torch.Generator().manual_seed(21)
    shift = torch.tensor([1.5, 0.0, 0.0, 0.0])  # b's cloud sits to one side of a's
    cases = [(_unit(torch.randn(6, 4, generator=g)), _unit(torch.randn(6, 4, generator=g) + shift)),
             (_unit(torch.randn(5, 3, generator=g) + 1), _unit(torch.randn(8, 3, generator=g)))]
    mistakes = [
        (lambda a, b: (a - b).norm(dim=1).mean(), "you averaged the distances between paired rows: that is "
                                                  "(close to) alignment. The gap compares the two CENTRES: "
                                                  "mean over rows of a, mean over rows of b, then one distance"),
        (lambda a, b: (_unit(a.mean(dim=0)) - _unit(b.mean(dim=0))).norm(),
         "you normalised the centres: keep the means as they are (a mean of unit vectors is shorter than 1, "
         "and how much shorter is part of the answer)"),
        (lambda a, b: (a.mean(dim=0) - b.mean(dim=0)).pow(2).sum(), "that is the squared distance: take its square root"),
        (lambda a, b: (a.mean(dim=1) - b.mean(dim=1)).norm(), "you averaged over dimensions (dim 1): average over the rows (dim 0)"),
    ]
    return _check("modality gap", answer, _modality_gap, cases, [(_number(m), hint) for m, hint in mistakes])


def _hinge(s, margin, dim):
    eye = torch.eye(len(s), dtype=torch.bool)
    hardest = s.masked_fill(eye, float("-inf")).max(dim=dim).values
    return (margin - s.diagonal() + hardest).clamp(min=0)


def _triplet(a, b, margin):
    s = a @ b.T
    return (_hinge(s, margin, 1) + _hinge(s, margin, 0)).mean().item()


def check_triplet_loss(answer) -> bool:
    """answer(a (B, D), b (B, D), margin) -> VSE++: for each pair the hinge against the hardest
    negative in both directions, summed, averaged over the batch; a and b are L2-normalised."""
    raw = _cases(((6, 4), (6, 4)), ((5, 3), (5, 3)), seed=22)
    cases = [(_unit(a), _unit(a + 0.7 * b), m) for (a, b), m in zip(raw, (0.2, 0.5))]

    def sum_of_hinges(a, b, margin):  # VSE0: every negative counts, not only the hardest
        s = a @ b.T
        eye = torch.eye(len(s), dtype=torch.bool)
        rows = (margin - s.diagonal()[:, None] + s).clamp(min=0).masked_fill(eye, 0).sum(dim=1)
        cols = (margin - s.diagonal()[None, :] + s).clamp(min=0).masked_fill(eye, 0).sum(dim=0)
        return (rows + cols).mean()

    mistakes = [
        (sum_of_hinges, "you summed the hinge over every negative (the older VSE0 loss): VSE++ keeps only "
                        "the HARDEST negative, the max over j != i"),
        (lambda a, b, m: _hinge(a @ b.T, m, 1).mean(), "only one direction: add the hinge for the hardest "
                                                       "image of each caption (the max over each column)"),
        (lambda a, b, m: ((m - (a @ b.T).diagonal() + (a @ b.T).max(dim=1).values).clamp(min=0)
                          + (m - (a @ b.T).diagonal() + (a @ b.T).max(dim=0).values).clamp(min=0)).mean(),
         "the match itself was taken as the hardest negative: mask the diagonal (j = i) before the max"),
        (lambda a, b, m: (m - (a @ b.T).diagonal() + (a @ b.T).masked_fill(torch.eye(len(a), dtype=torch.bool),
                                                                             float("-inf")).max(dim=1).values).mean() * 2,
         "the hinge is missing: clamp each term at 0 ([x]_+ = max(x, 0)), so pairs already beyond the margin cost nothing"),
    ]
    return _check("VSE++ triplet loss", answer, _triplet, cases, [(_number(m), hint) for m, hint in mistakes])


def check_gap_experiment(answer) -> bool:
    """answer() -> {"prediction": "larger at 0.05", "larger at 0.5" or "about the same",
    "gap_cold", "gap_warm"}: the image-caption modality gap of projection heads trained at a fixed
    temperature of 0.05 (cold) and of 0.5 (warm). "about the same" means within 0.01 of each other.
    Any of the three outcomes is a valid measurement."""
    def judge(m):
        if not all(0 <= m[k] <= 2 for k in ("gap_cold", "gap_warm")):
            return None, "a modality gap between unit vectors lies between 0 and 2: return the gaps themselves", ""
        if m["gap_cold"] == m["gap_warm"]:
            return None, "both gaps are the same number: did you train two runs, one at each temperature?", ""
        if m["gap_cold"] > m["gap_warm"] + 0.01:
            return "larger at 0.05", None, ("This is the direction of every stored seed's sweep; the sweep does not "
                                            "say why (the reading of the sweep offers a likely reason).")
        if m["gap_warm"] > m["gap_cold"] + 0.01:
            return "larger at 0.5", None, ("This goes against every stored seed's sweep: check that temperature=0.05 "
                                           "and 0.5 reached train_heads; if they did, this run is an exception.")
        return "about the same", None, ("Every stored seed's sweep has a clearly larger gap at the colder of two "
                                        "such temperatures: check that temperature=0.05 and 0.5 reached train_heads.")

    return _experiment("gap experiment", answer, ("gap_cold", "gap_warm"),
                       ("larger at 0.05", "larger at 0.5", "about the same"), judge)


# ---------------------------------------------------------------- 07 and 08: the distillation loss, the prompt ensemble

def _distillation(student, teacher, temperature):
    t = temperature
    return F.kl_div(F.log_softmax(student / t, -1), F.softmax(teacher / t, -1), reduction="batchmean") * t * t


def _soft_cross_entropy(student, teacher, temperature):
    """T² times the cross-entropy of the student's softened output against the teacher's (Hinton et
    al. wrote the loss this way). It equals T²·KL(p_T || q_T) + T²·H(p_T): the teacher's entropy
    H(p_T) does not depend on the student, so both losses have the same gradient."""
    t = temperature
    return -(F.softmax(teacher / t, -1) * F.log_softmax(student / t, -1)).sum(-1).mean() * t * t


def check_distillation_loss(answer) -> bool:
    """answer(student_logits (B, C), teacher_logits (B, C), temperature) -> KL(teacher || student)
    on temperature-softened distributions, times T² (Hinton et al.). The soft-target cross-entropy
    (same gradient, a value larger by T² times the teacher's entropy) is accepted and named."""
    name = "distillation loss"
    cases = [(*pair, t) for pair, t in zip(_cases(((5, 4), (5, 4)), ((3, 6), (3, 6)), seed=4), (4.0, 2.0))]
    if all(_difference(_call(answer, *copy.deepcopy(c))[0], _soft_cross_entropy(*c), 1e-4) is None for c in cases):
        return _report(True, name, "correct on all 2 test cases, written as the soft-target cross-entropy "
                                   "T²·(-Σ p_T log q_T). It is larger than T²·KL(p_T || q_T) by T²·H(p_T), the "
                                   "teacher's entropy, which does not depend on the student: the gradient is the "
                                   "same and it trains the same student. (KL is 0 when the student matches the "
                                   "teacher; the cross-entropy's floor is T²·H(p_T).)")
    t2 = lambda s, te, t: _distillation(s, te, t) / (t * t)  # noqa: E731
    one_side = "the temperature is on one side only: "
    mistakes = [
        (t2, "the T² factor is missing: soft targets shrink the gradients by 1/T², so multiply the loss by T²"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s / t, -1), F.softmax(te / t, -1), reduction="sum") * t * t,
         "you summed over the batch: use reduction='batchmean' so the loss does not grow with batch size"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s, -1), F.softmax(te, -1), reduction="batchmean") * t * t,
         "the temperature is missing inside the softmaxes: divide both logits by T first"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s, -1), F.softmax(te / t, -1), reduction="batchmean") * t * t,
         one_side + "only the teacher's logits are divided by T. Divide the student's too: the student "
                    "would otherwise learn logits t/T, the teacher's answers with the teacher's softened "
                    "confidence"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s / t, -1), F.softmax(te, -1), reduction="batchmean") * t * t,
         one_side + "only the student's logits are divided by T. Divide the teacher's too, or its "
                    "targets are not softened at all"),
        (lambda s, te, t: F.kl_div(F.log_softmax(te / t, -1), F.softmax(s / t, -1), reduction="batchmean") * t * t,
         "the KL divergence is reversed: the teacher's p_T is the target, so the first argument of "
         "F.kl_div is the STUDENT's log-probabilities and the second the teacher's probabilities"),
    ]
    return _check(name, answer, _distillation, cases, mistakes)


def _prompt_ensemble(prompts):
    return _unit(prompts.mean(dim=1))


def check_prompt_ensemble(answer) -> bool:
    """answer(prompt_embeddings (K, P, D), unit rows) -> (K, D): each class's mean over its P
    prompts, normalised again to unit length."""
    cases = [(_unit(x),) for (x,) in _cases(((4, 3, 5),), ((2, 5, 3),), seed=8)]
    mistakes = [
        (lambda x: x.mean(dim=1), "the mean is not re-normalised: a mean of unit vectors is shorter than 1, "
                                  "so divide each class's mean by its length (F.normalize(..., dim=-1))"),
        (lambda x: _unit(x.mean(dim=0)), "you averaged over the classes (dim 0): average each class's "
                                         "P prompts, over dim 1, to get one row per class"),
    ]
    return _check("prompt ensemble", answer, _prompt_ensemble, cases, mistakes)


# ---------------------------------------------------------------- 02: pooling and accuracy

def _masked_mean(embeddings, tokens):
    mask = (tokens != 0).float().unsqueeze(-1)
    return (embeddings * mask).sum(1) / mask.sum(1).clamp(min=1)


def check_masked_mean(answer) -> bool:
    """answer(embeddings (B, L, D), tokens (B, L) int64, 0 = padding) -> (B, D) mean over real tokens."""
    g = torch.Generator().manual_seed(5)
    tokens = torch.tensor([[5, 7, 9, 0, 0], [3, 0, 0, 0, 0], [4, 4, 6, 8, 2]])
    cases = [(torch.randn(3, 5, 4, generator=g), tokens),
             (torch.randn(2, 3, 6, generator=g), torch.tensor([[8, 0, 0], [2, 9, 0]]))]
    mistakes = [
        (lambda e, t: e.mean(1), "you averaged the padding too: multiply by a mask of (tokens != 0) "
                                 "and divide by the number of real tokens"),
        (lambda e, t: (e * (t != 0).float().unsqueeze(-1)).sum(1),
         "that is the sum over real tokens: divide by how many real tokens each caption has"),
        (lambda e, t: (e * (t != 0).float().unsqueeze(-1)).sum(1) / t.shape[1],
         "you divided by the padded length: divide by each caption's number of real tokens"),
    ]
    return _check("masked mean", answer, _masked_mean, cases, mistakes)


def _drop_words(tokens, word_ids):
    out = tokens.clone()
    out[torch.isin(out, torch.as_tensor(list(word_ids), dtype=out.dtype))] = 0
    return out


def check_drop_words(answer) -> bool:
    """answer(tokens (B, L) int64, word_ids list of ints) -> (B, L): the same token ids, with every
    id in word_ids replaced by 0, the padding id, so that the bag of words never sees those words."""
    cases = [(torch.tensor([[5, 7, 9, 0], [7, 7, 3, 0]]), [7]),
             (torch.tensor([[4, 2, 8, 6, 0, 0]]), [2, 6]),
             (torch.tensor([[3, 5, 0]]), [])]
    mistakes = [
        (lambda t, w: torch.where(torch.isin(t, torch.tensor(w, dtype=t.dtype)), torch.ones_like(t), t),
         "you replaced the words with id 1 (<unk>): the bag of words still averages an <unk> vector in "
         "their place; replace them with 0, the padding, which the mean leaves out"),
        (lambda t, w: _drop_words(t, w[:1]), "only the first id of word_ids is gone: drop every id in the list"),
    ]
    return _check("drop words", answer, _drop_words, cases, mistakes)


def compare_prediction(predicted: dict, measured: dict, tolerance: float = 0.05) -> bool:
    """Print your predictions beside what the experiment measured, name by name, and say which were
    within `tolerance`. A prediction is for learning, not for marks: a wrong one that you can now
    explain teaches more than a lucky one. Returns True when every prediction was within tolerance."""
    if not isinstance(predicted, dict) or set(predicted) != set(measured):
        return _report(False, "prediction", f"predict a number for each of {sorted(measured)}, as a dict, "
                                            f"e.g. {{{', '.join(repr(k) + ': 0.5' for k in measured)}}}")
    bad = [k for k, v in predicted.items() if isinstance(v, bool) or not isinstance(v, (int, float))
           or not math.isfinite(v)]
    if bad:
        return _report(False, "prediction", f"{', '.join(map(repr, bad))}: predict a number (an accuracy between 0 and 1)")
    close = True
    for name in measured:
        off = predicted[name] - measured[name]
        close &= abs(off) <= tolerance
        mark = PASS if abs(off) <= tolerance else FAIL
        print(f"  {mark} {name:10s} predicted {predicted[name]:.3f}   measured {measured[name]:.3f}   ({off:+.3f})")
    return _report(close, "prediction", "every prediction within " + f"{tolerance}" if close else
                   f"some predictions were more than {tolerance} off: find the reason before you read on")


# ---------------------------------------------------------------- 03: fusion

def _late_fusion(logits_list):
    return torch.stack([F.softmax(lo, dim=-1) for lo in logits_list]).mean(0)


def check_late_fusion(answer) -> bool:
    """answer(list of logits, each (B, C)) -> (B, C) average of the per-modality probabilities."""
    cases = [(list(group),) for group in _cases(((4, 3), (4, 3)), ((2, 5), (2, 5), (2, 5)), seed=7)]
    mistakes = [
        (lambda ls: torch.stack(ls).mean(0), "you averaged raw logits: turn each into probabilities with softmax first"),
        (lambda ls: F.softmax(torch.stack(ls).sum(0), dim=-1), "you summed logits then took one softmax: "
                                                                "average the per-modality probabilities instead"),
    ]
    return _check("late fusion", answer, _late_fusion, cases, mistakes)


def _available_late_fusion(logits_list, available):
    probs = torch.stack([F.softmax(lo, dim=-1) for lo in logits_list], dim=1)  # (B, M, C)
    weight = available.float().unsqueeze(-1)                                     # (B, M, 1)
    return (probs * weight).sum(1) / weight.sum(1)


def check_available_late_fusion(answer) -> bool:
    """answer(list of M logits (B, C), available bool (B, M)) -> (B, C): each row's average of the
    probabilities of the modalities available for that row (at least one per row)."""
    available = [torch.tensor([[1, 1, 1], [1, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=torch.bool),
                 torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.bool)]
    groups = _cases(((4, 5), (4, 5), (4, 5)), ((3, 4), (3, 4)), seed=9)
    cases = [(list(g), a) for g, a in zip(groups, available)]
    mistakes = [
        (lambda ls, a: _late_fusion(ls), "you averaged over every modality, missing ones included: "
                                         "average only the available ones, dividing by how many a row has"),
        (lambda ls, a: torch.stack(ls, 1).mul(a.float()[..., None]).sum(1) / a.float().sum(1, keepdim=True),
         "you averaged raw logits: turn each into probabilities with softmax first"),
        (lambda ls, a: sum(F.softmax(lo, -1) * a[:, m, None] for m, lo in enumerate(ls)) / len(ls),
         "you dropped the missing modalities but divided by all M: divide by the number available in each row"),
    ]
    return _check("late fusion with missing modalities", answer, _available_late_fusion, cases, mistakes)



def _share_one_modality(p, n_modalities, draws=200_000):
    """Measured on the masks themselves: the fraction of rows left with exactly one modality."""
    from .fusion import modality_mask

    with torch.random.fork_rng():  # leaves the notebook's random state as it was
        torch.manual_seed(0)
        kept = modality_mask(draws, n_modalities, p, keep_one=True).sum(dim=1)
    return (kept == 1).float().mean().item()


def check_dropout_prediction(answer, p=0.8, n_modalities=3) -> bool:
    """answer() -> {"share_one_modality": float, "only_image": "up"/"down", "all_three": "up"/"down"}:
    predictions for modality dropout p. The share is measured on modality_mask's draws (empty rows
    drawn again); the two directions are only echoed (the notebook measures them by training)."""
    got, problem = _call(answer)
    if problem:
        return _report(False, "prediction", problem)
    keys = {"share_one_modality", "only_image", "all_three"}
    if not isinstance(got, dict) or set(got) != keys:
        return _report(False, "prediction", f"return a dict with exactly the keys {sorted(keys)}")
    bad = [k for k in ("only_image", "all_three") if got[k] not in ("up", "down")]
    if bad:
        return _report(False, "prediction", f"{', '.join(bad)} must be the word 'up' or 'down'")
    try:
        share = float(got["share_one_modality"])
    except (TypeError, ValueError):
        return _report(False, "prediction", "share_one_modality must be a number between 0 and 1")
    measured = _share_one_modality(p, n_modalities)
    independent = n_modalities * (1 - p) * p ** (n_modalities - 1)
    if abs(share - measured) > 0.01:
        hint = (" - that is the share for independent drops: the sampler draws an empty row again, so divide "
                "by the chance that at least one modality is kept, 1 - p**M") if abs(share - independent) < 0.01 else \
            " - count the ways to keep exactly one of M modalities, each kept with probability 1 - p"
        return _report(False, "prediction", f"measured share of examples with one modality at p = {p}: "
                                            f"{measured:.3f}; you predicted {share:.3f}{hint}")
    return _report(True, "prediction", f"share of one-modality examples {measured:.3f} at p = {p}, as you predicted; "
                                       f"your directions (only image {got['only_image']}, all three "
                                       f"{got['all_three']}) are measured in the next cell")


# ---------------------------------------------------------------- 01: shapes and optimizers

def check_flattened_size(answer) -> bool:
    """answer(conv_stack, image_shape (C, H, W)) -> int: the number of features after flattening."""
    import torch.nn as nn
    stacks = [
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(3, 16, 5), nn.ReLU(), nn.Conv2d(16, 4, 3, stride=2)),
    ]
    cases = [(s, (3, 32, 32)) for s in stacks]

    def reference(stack, shape):
        with torch.no_grad():
            return stack(torch.zeros(1, *shape)).flatten(1).shape[1]

    mistakes = [
        (lambda s, shape: reference(s, shape) // [m for m in s if isinstance(m, nn.Conv2d)][-1].out_channels,
         "that is the size of one channel's map: multiply by the number of output channels"),
    ]
    return _check("flattened size", answer, reference, cases, mistakes, atol=0)


def check_optimizer_covers(answer) -> bool:
    """answer(encoder, transfer_net) -> a torch optimizer that updates BOTH modules' parameters."""
    import torch.nn as nn
    encoder, transfer = nn.Linear(4, 3), nn.Linear(3, 2)
    optimizer, problem = _call(answer, encoder, transfer)
    name = "optimizer covers every trained module"
    if problem:
        return _report(False, name, problem)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return _report(False, name, f"it returned {type(optimizer).__name__}; return a torch.optim optimizer")
    seen = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [m for m, mod in (("encoder", encoder), ("transfer network", transfer))
               if not all(id(p) in seen for p in mod.parameters())]
    if missing:
        return _report(False, name, f"the optimizer never sees the {' and the '.join(missing)}'s weights, so "
                                    "they will never move: pass list(encoder.parameters()) + list(transfer_net.parameters())")
    return _report(True, name, "both modules' parameters are in the optimizer")


def _labels_problem(got, want_shape):
    """None when `got` is a 1-D integer array (or tensor) of `want_shape`, else what is wrong."""
    import numpy as np
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().numpy()
    if not isinstance(got, (np.ndarray, list, tuple)):
        return f"it returned {type(got).__name__}; return an array of class ids, like the labels it was given"
    got = np.asarray(got)
    if got.shape != want_shape:
        return f"it returned shape {got.shape}, expected {want_shape}: one label per input label"
    if not np.issubdtype(got.dtype, np.integer):
        return f"it returned {got.dtype} values; class ids are integers (keep the labels' dtype)"
    return None


def check_corrupt_labels(answer) -> bool:
    """answer(labels (N,) int64 numpy, fraction, n_classes, seed) -> a new (N,) array in which exactly
    round(fraction * N) labels, picked at random, are replaced by a *different* class drawn at random
    among the other n_classes - 1; the same seed gives the same result. Checked on what can be
    measured: the count, that each changed label really changed, the spread of the wrong classes,
    the input left alone, and the seed."""
    import numpy as np
    name = "corrupt labels"
    big = np.random.default_rng(7).integers(0, 6, size=600)
    cases = [(big, 0.5, 6, 0), (np.arange(7) % 3, 0.3, 3, 1), (big[:40], 1.0, 6, 2), (big[:40], 0.0, 6, 3)]
    outputs = []
    for labels, fraction, n_classes, seed in cases:
        given = labels.copy()
        got, problem = _call(answer, given, fraction, n_classes, seed)
        if problem is None:
            problem = _labels_problem(got, labels.shape)
        if problem:
            return _report(False, name, problem)
        got = np.asarray(got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else got)
        if not np.array_equal(given, labels):
            return _report(False, name, "it changed the labels it was given, in place: work on a copy "
                                        "(labels.copy()) so that the clean labels survive")
        if got.min() < 0 or got.max() >= n_classes:
            return _report(False, name, f"it returned class ids outside 0..{n_classes - 1}")
        want, changed = round(fraction * len(labels)), int((got != labels).sum())
        if changed < want:
            return _report(False, name, f"with fraction {fraction} of {len(labels)} labels, {changed} changed, "
                                        f"expected exactly {want}: a new class drawn among all {n_classes} is "
                                        f"sometimes the old one; draw it among the other {n_classes - 1}")
        if changed > want:
            return _report(False, name, f"with fraction {fraction} of {len(labels)} labels, {changed} changed, "
                                        f"expected exactly round(fraction * N) = {want}")
        outputs.append(got)
    wrong = outputs[0] != big
    if any(len(set(outputs[0][wrong & (big == c)])) < 2 for c in range(6)):
        return _report(False, name, "every wrong label of one class is the same class (always the next one?): "
                                    "that is a systematic renaming, which a model would just learn; draw each "
                                    "wrong class at random among the other classes")
    again, problem = _call(answer, big.copy(), 0.5, 6, 0)
    other, problem2 = _call(answer, big.copy(), 0.5, 6, 1)
    if problem or problem2 or not np.array_equal(np.asarray(again), outputs[0]):
        return _report(False, name, "the same seed gave different labels: draw every random number from "
                                    "np.random.default_rng(seed)")
    if np.array_equal(np.asarray(other), outputs[0]):
        return _report(False, name, "seeds 0 and 1 gave the same labels: use the seed argument")
    return _report(True, name, "exactly round(fraction * N) labels changed, each to another class at random")


# ---------------------------------------------------------------- 09: macro-F1 and median rank

def _macro_f1(predictions, labels, n_classes, average="macro"):
    from sklearn.metrics import f1_score
    return float(f1_score(labels.numpy(), predictions.numpy(), labels=list(range(n_classes)),
                          average=average, zero_division=0))


def check_macro_f1(answer) -> bool:
    """answer(predictions (N,) int64, labels (N,) int64, n_classes) -> float: the F1 score of each
    of the n_classes classes, averaged with equal weight per class. A class never predicted scores
    0, and so does a class that occurs nowhere (neither in labels nor in predictions): the mean is
    over all n_classes, as scikit-learn's f1_score(..., labels=range(n_classes), zero_division=0)."""
    labels = [torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 2]), torch.tensor([0, 1, 1, 1, 2, 2, 2, 2, 3]),
              torch.tensor([0, 0, 1, 1, 1, 3, 3, 3])]
    predictions = [torch.tensor([0, 0, 0, 0, 1, 1, 1, 0, 2, 0]), torch.tensor([0, 1, 0, 1, 2, 2, 1, 2, 2]),
                   torch.tensor([0, 1, 1, 1, 3, 3, 3, 0])]
    # the third case has 5 classes, but classes 2 and 4 occur nowhere: they count as F1 = 0
    cases = [(p, y, int(y.max()) + 1) for p, y in zip(predictions[:2], labels[:2])] + [(predictions[2], labels[2], 5)]

    def occurring_only(p, y, n):
        present = sorted(set(y.tolist()) | set(p.tolist()))
        return _macro_f1(p, y, max(present) + 1) * (max(present) + 1) / len(present)

    mistakes = [
        (lambda p, y, n: (p == y).float().mean().item(),
         "that is the accuracy (which equals micro-F1): compute F1 for each class separately, then average"),
        (lambda p, y, n: _macro_f1(p, y, n, average="weighted"),
         "you weighted each class by its number of items: macro-F1 gives every class the same weight"),
        (occurring_only,
         "you averaged only over the classes that occur in labels or predictions: divide by n_classes, all of "
         "the classes; a class that occurs nowhere scores F1 = 0 and still counts (scikit-learn does this "
         "when you pass labels=range(n_classes))"),
    ]
    return _check("macro-F1", answer, _macro_f1, cases, mistakes)


def _match_ranks(similarity):
    return (similarity >= similarity.diagonal()[:, None]).sum(dim=1)  # 1 = the match is the top entry


def _median_rank(similarity):
    return _match_ranks(similarity).double().quantile(0.5).item()  # the mean of the two middle ranks if N is even


def check_median_rank(answer) -> bool:
    """answer(similarity (N, N), row i's match is column i) -> float: the median over rows of the
    rank of the match among its row's entries, largest first (1 = best)."""
    g = torch.Generator().manual_seed(22)  # cases where each mistake below gives its own answer
    cases = [(torch.randn(9, 9, generator=g) + 1.5 * torch.eye(9) + torch.linspace(-1, 1, 9),),
             (torch.randn(8, 8, generator=g) + torch.eye(8) + torch.linspace(-0.8, 0.8, 8),)]
    mistakes = [
        (lambda s: _median_rank(s) - 1, "your ranks start at 0: the best place is rank 1, so add 1"),
        (lambda s: _median_rank(-s), "you ranked the smallest similarity first: rank 1 is the LARGEST entry"),
        (lambda s: _median_rank(s.T.contiguous()),
         "you ranked along the wrong axis: each ROW is a query, rank its columns"),
        (lambda s: float(_match_ranks(s).median()),
         "with an even number of queries the median is the mean of the two middle ranks "
         "(torch.median returns the lower one; use np.median or torch.quantile(ranks.float(), 0.5))"),
    ]
    return _check("median rank", answer, _median_rank, cases, mistakes)


# ---------------------------------------------------------------- 10: alignment and uniformity

def _alignment(a, b):
    return (a - b).norm(dim=1).pow(2).mean().item()


def check_alignment(answer) -> bool:
    """answer(a (N, D), b (N, D), unit rows, pair i = (a[i], b[i])) -> float: the mean squared
    distance between matching rows (Wang & Isola's alignment, alpha = 2)."""
    cases = [(_unit(a), _unit(a + 0.5 * b)) for a, b in _cases(((6, 4), (6, 4)), ((5, 3), (5, 3)), seed=11)]
    mistakes = [
        (lambda a, b: (a - b).norm(dim=1).mean().item(), "that is the mean distance: square each distance first"),
        (lambda a, b: (a - b).norm(dim=1).pow(2).sum().item(), "you summed over the pairs: take the mean"),
    ]
    return _check("alignment", answer, _alignment, cases, mistakes)


def _uniformity(x, t, include_self=False, log=True):
    sq_dist = torch.cdist(x.double(), x.double()).pow(2)
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool)
    potential = (-t * sq_dist).exp()
    mean = potential.mean() if include_self else potential[off_diagonal].mean()
    return (mean.log() if log else mean).item()


def check_uniformity(answer) -> bool:
    """answer(x (N, D) unit rows, t) -> float: log of the mean of exp(-t ||x_i - x_j||^2) over the
    pairs i != j (Wang & Isola's uniformity; lower = more spread out)."""
    cases = [(_unit(x), t) for (x,), t in zip(_cases(((7, 3),), ((5, 4),), seed=12), (2.0, 1.0))]
    mistakes = [
        (lambda x, t: _uniformity(x, t, include_self=True), "you included each point with itself (i = j, "
                                                             "distance 0): average over the pairs i != j only"),
        (lambda x, t: _uniformity(x, t, log=False), "the log is missing: return the log of the mean"),
    ]
    return _check("uniformity", answer, _uniformity, cases, mistakes)


# ---------------------------------------------------------------- 11: zero-shot prediction

def _zero_shot_predict(images, classes):
    return (_unit(images) @ _unit(classes).T).argmax(dim=1)


def check_zero_shot_predict(answer) -> bool:
    """answer(image_embeddings (N, D), class_embeddings (K, D), not unit length) -> (N,) int64:
    for each image, the class of highest cosine similarity."""
    g = torch.Generator().manual_seed(13)
    lengths = torch.tensor([0.2, 1.0, 5.0, 0.5])[:, None]  # long class vectors win raw dot products
    cases = [(3 * torch.randn(12, 5, generator=g), lengths * torch.randn(4, 5, generator=g)),
             (torch.randn(7, 3, generator=g), lengths[:3] * torch.randn(3, 3, generator=g))]
    mistakes = [
        (lambda i, c: (i @ c.T).argmax(dim=1), "you compared raw dot products: normalise the class embeddings "
                                               "(and the images) to unit length, or the longest class vector wins"),
        (lambda i, c: (_unit(i) @ _unit(c).T).argmax(dim=0),
         "you took the argmax over the images (dim 0): for each image (row), pick the best class (dim=1)"),
    ]
    return _check("zero-shot prediction", answer, _zero_shot_predict, cases, mistakes, atol=0)


# ---------------------------------------------------------------- 12: teacher forcing and token accuracy

def _shift(tokens):
    return tokens[:, :-1], tokens[:, 1:]


def check_teacher_forcing_shift(answer) -> bool:
    """answer(tokens (B, L) int64, each row starting with <bos>) -> (inputs, targets): the decoder
    reads tokens[:, :-1] and must predict tokens[:, 1:], the next token at each position."""
    g = torch.Generator().manual_seed(14)
    cases = [(torch.cat([torch.full((b, 1), 2), torch.randint(3, 40, (b, n), generator=g)], dim=1),)
             for b, n in ((3, 6), (2, 4))]
    mistakes = [
        (lambda t: (t, t), "inputs and targets are the same tokens: the target at each position is the NEXT "
                           "token, so drop the last token from the inputs and the first from the targets"),
        (lambda t: (t[:, 1:], t[:, :-1]), "inputs and targets are swapped: the decoder reads tokens[:, :-1] "
                                          "and predicts tokens[:, 1:]"),
    ]
    return _check("teacher-forcing shift", answer, _shift, cases, mistakes, atol=0)


def _token_accuracy(logits, targets, count_padding=False):
    real = torch.ones_like(targets, dtype=torch.bool) if count_padding else targets != 0
    return (logits.argmax(dim=-1) == targets)[real].float().mean().item()


def check_token_accuracy(answer) -> bool:
    """answer(logits (B, L, V), targets (B, L) int64, 0 = padding) -> float: the fraction of
    non-padding positions where the largest logit is the target."""
    g = torch.Generator().manual_seed(15)
    targets = torch.tensor([[5, 3, 7, 2, 0, 0], [4, 4, 1, 0, 0, 0], [6, 2, 3, 5, 7, 1]])
    logits = torch.randn(3, 6, 8, generator=g)
    logits[:, :3].scatter_add_(-1, targets[:, :3, None], torch.full((3, 3, 1), 2.5))  # some right answers
    cases = [(logits, targets), (logits[1:, :4], targets[1:, :4])]
    mistakes = [
        (lambda lo, t: _token_accuracy(lo, t, count_padding=True),
         "you counted the padding positions: keep only positions where targets != 0"),
        (lambda lo, t: _token_accuracy(lo, t) * (t != 0).sum().item(), "you returned a count: divide by the "
                                                                        "number of non-padding positions"),
    ]
    return _check("token accuracy", answer, _token_accuracy, cases, mistakes)


# ---------------------------------------------------------------- 06: freezing and the optimizer

def _toy_source():
    import torch.nn as nn
    with torch.random.fork_rng(devices=[]):  # building it must not move the notebook's random numbers
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5),
                             nn.Linear(4 * 6 * 6, 3))


def check_freeze(answer) -> bool:
    """answer(module) -> the same module, frozen in place: no parameter requires a gradient AND
    the module and every submodule are in eval mode."""
    name = "freeze"
    module = _toy_source().train()
    got, problem = _call(answer, module)
    if problem:
        return _report(False, name, problem)
    still_learning = [n for n, p in module.named_parameters() if p.requires_grad]
    still_training = [n or "the module itself" for n, m in module.named_modules() if m.training]
    if still_learning and still_training:
        return _report(False, name, "nothing was frozen: turn off the gradients with module.requires_grad_(False) "
                                    "and switch to eval mode with module.eval()")
    if still_learning:
        return _report(False, name, f"in eval mode, but {len(still_learning)} parameter(s) still require a gradient "
                                    f"({', '.join(still_learning[:3])}): an optimizer would still update them; "
                                    "call module.requires_grad_(False)")
    if still_training and not module.training:
        return _report(False, name, "you set .training = False on the outer module only: its submodules (the "
                                    "batch-norm layer among them) are still in training mode; module.eval() "
                                    "switches every submodule")
    if still_training:
        return _report(False, name, "no gradients, but still in training mode: a batch-norm layer keeps updating "
                                    "its running mean and variance on every batch it sees (and dropout keeps "
                                    "dropping), so the 'frozen' network would still drift; call module.eval() too")
    if got is not module:
        return _report(False, name, f"it froze the module but returned {type(got).__name__}; return the module "
                                    "itself, so that the call can be chained")
    return _report(True, name, "no gradients and eval mode, in every submodule")


def _left_out_of(optimizer, model):
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in held]


def _left_out_cases():
    """(optimizer, model) pairs: a model with a frozen source, a trained encoder and a trained head."""
    import torch.nn as nn

    def model():
        m = nn.ModuleDict({"source": nn.Linear(4, 3), "encoder": nn.Linear(5, 6), "head": nn.Linear(9, 2)})
        m["source"].requires_grad_(False)
        return m

    with torch.random.fork_rng(devices=[]):  # building them must not move the notebook's random numbers
        torch.manual_seed(16)
        m1, m2, m3, m4 = model(), model(), model(), model()
    return [
        (torch.optim.Adam(m1["encoder"].parameters()), m1),                          # the head is missing
        (torch.optim.Adam([p for p in m2.parameters() if p.requires_grad]), m2),      # right: nothing missing
        (torch.optim.Adam([{"params": m3["encoder"].parameters()},                    # two groups, both count
                           {"params": m3["head"].parameters(), "lr": 1e-4}]), m3),
        (torch.optim.Adam(copy.deepcopy(m4).parameters()), m4),                       # built on a copy
    ]


def check_left_out_of(answer) -> bool:
    """answer(optimizer, model) -> list of the names (from model.named_parameters()) of the
    parameters that require a gradient but are in none of the optimizer's param groups."""
    name = "parameters left out of the optimizer"

    def by_value(optimizer, model):
        held = [p for group in optimizer.param_groups for p in group["params"]]
        return [n for n, p in model.named_parameters()
                if p.requires_grad and not any(p.shape == q.shape and torch.equal(p, q) for q in held)]

    mistakes = [
        (lambda o, m: [n for n, p in m.named_parameters()
                       if id(p) not in {id(q) for g in o.param_groups for q in g["params"]}],
         "you listed the frozen parameters too: a parameter with requires_grad=False is meant to stay out "
         "of the optimizer; list only those that require a gradient"),
        (lambda o, m: [n for n, p in m.named_parameters()
                       if p.requires_grad and id(p) not in {id(q) for q in o.param_groups[0]["params"]}],
         "you looked in the first param group only: an optimizer can hold several "
         "(optimizer.param_groups is a list); look in every one"),
        (by_value, "you compared values (or shapes), not the parameters themselves: an optimizer built on a "
                   "copy of the model holds equal tensors that are not the model's, and trains the copy; "
                   "compare identities (id(p) or `is`)"),
        (lambda o, m: [n for n, p in m.named_parameters() if p.requires_grad and n not in _left_out_of(o, m)],
         "you listed the parameters the optimizer holds: list the trainable ones it does NOT hold"),
    ]
    for optimizer, model in _left_out_cases():
        got, problem = _call(answer, optimizer, model)
        want = _left_out_of(optimizer, model)
        if problem is None:
            problem = _names_difference(got, want)
        if problem is None:
            continue
        if got is not None:
            for mistake, hint in mistakes:
                if _names_difference(got, mistake(optimizer, model)) is None:
                    return _report(False, name, hint)
        return _report(False, name, problem)
    return _report(True, name, "right on all 4 test cases (a missing head, a frozen part, two param groups, "
                               "an optimizer built on a copy)")


def _names_difference(got, want):
    """None when `got` is a list of the names in `want` (any order), else what differs."""
    if not isinstance(got, (list, tuple)) or not all(isinstance(n, str) for n in got):
        return f"it returned {type(got).__name__}; return a list of parameter names (strings)"
    if sorted(got) == sorted(want):
        return None
    extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
    if not extra and not missing:
        return "some names appear more than once: list each parameter once"
    return (f"it listed {extra or 'nothing extra'} that should not be there"
            f" and missed {missing or 'nothing'}")


# ---------------------------------------------------------------- 07: feature regression

def _feature_regression(student, teacher):
    return ((student - teacher.detach()) ** 2).mean()


def check_feature_regression_loss(answer) -> bool:
    """answer(student_features (B, D), teacher_features (B, D)) -> scalar: the mean over every entry
    of the squared difference, with no gradient sent into the teacher's features."""
    name = "feature regression loss"
    cases = _cases(((5, 8), (5, 8)), ((3, 2), (3, 2)), seed=17)
    mistakes = [
        (lambda s, t: ((s - t) ** 2).sum(1).mean(), "you summed over the D feature dimensions: average over "
                                                    "every entry (divide by B·D), so the loss does not grow with D"),
        (lambda s, t: (s - t).norm(dim=1).mean(), "you averaged the distances ||student - teacher||: square the "
                                                  "differences and average every entry"),
        (lambda s, t: (s - t).abs().mean(), "that is the mean absolute error: square each difference"),
        (lambda s, t: ((s - t) ** 2).sum(), "you summed over the batch and the dimensions: take the mean"),
    ]
    problem = _gradient_problem(answer)
    if problem:
        return _report(False, name, problem)
    return _check(name, answer, _feature_regression, cases, mistakes)


def _gradient_problem(answer):
    """A hint when `answer` gives the right value but sends gradients to the wrong side, else None."""
    g = torch.Generator().manual_seed(18)
    student, teacher = (torch.randn(4, 3, generator=g).requires_grad_() for _ in range(2))
    got, problem = _call(answer, student, teacher)
    if problem or _difference(got, _feature_regression(student, teacher).detach(), 1e-4):
        return None  # the value check says what is wrong
    if not got.requires_grad:
        return ("the values are right, but no gradient can flow back from it: compute the loss with torch "
                "operations on the student's features (no .detach() or .item() on the student side)")
    try:
        got.backward()
    except Exception as err:
        return f"the values are right, but backpropagating through it failed ({type(err).__name__}: {err})"
    if teacher.grad is not None and teacher.grad.abs().sum() > 0:
        return ("the values are right, but gradients flow into the teacher's features: the teacher is frozen, "
                "so detach them (teacher_features.detach())")
    if student.grad is None or student.grad.abs().sum() == 0:
        return "the values are right, but no gradient reaches the student's features: do not detach them"
    return None


# ---------------------------------------------------------------- 08: harmonic mean

def _harmonic_mean(seen, unseen):
    return 0.0 if seen + unseen == 0 else 2 * seen * unseen / (seen + unseen)


def check_harmonic_mean(answer) -> bool:
    """answer(seen_accuracy, unseen_accuracy) -> float: their harmonic mean 2su / (s + u), 0 when
    both are 0 (generalised zero-shot's summary number)."""
    cases = [(0.9, 0.3), (0.6, 0.6), (0.95, 0.05), (1.0, 0.0), (0.0, 0.0)]
    mistakes = [
        (lambda s, u: (s + u) / 2, "that is the arithmetic mean: it hides a collapse on one side (0.95 and 0.05 "
                                   "average to 0.5); the harmonic mean 2su / (s + u) is high only when both are"),
        (lambda s, u: math.sqrt(s * u), "that is the geometric mean: the harmonic mean is 2su / (s + u)"),
        (lambda s, u: _harmonic_mean(s, u) / 2, "the factor 2 is missing: 2su / (s + u), so that two equal "
                                                "accuracies give that same accuracy"),
    ]
    return _check("harmonic mean", answer, _harmonic_mean, cases, mistakes, atol=1e-6)


CHECKS = {
    "cosine_similarity": check_cosine_similarity,
    "info_nce": check_info_nce,
    "recall_at_k": check_recall_at_k,
    "modality_gap": check_modality_gap,
    "triplet_loss": check_triplet_loss,
    "masked_info_nce": check_masked_info_nce,
    "spoke_experiment": check_spoke_experiment,
    "gap_experiment": check_gap_experiment,
    "distillation_loss": check_distillation_loss,
    "masked_mean": check_masked_mean,
    "drop_words": check_drop_words,
    "late_fusion": check_late_fusion,
    "flattened_size": check_flattened_size,
    "optimizer_covers": check_optimizer_covers,
    "corrupt_labels": check_corrupt_labels,
    "available_late_fusion": check_available_late_fusion,
    "dropout_prediction": check_dropout_prediction,
    "prompt_ensemble": check_prompt_ensemble,
    "macro_f1": check_macro_f1,
    "median_rank": check_median_rank,
    "alignment": check_alignment,
    "uniformity": check_uniformity,
    "zero_shot_predict": check_zero_shot_predict,
    "teacher_forcing_shift": check_teacher_forcing_shift,
    "token_accuracy": check_token_accuracy,
    # notebooks 06-08 (transfer network, cross-modal distillation, zero-shot through language)
    "freeze": check_freeze,
    "left_out_of": check_left_out_of,
    "feature_regression_loss": check_feature_regression_loss,
    "harmonic_mean": check_harmonic_mean,
}


# --- notebook 07 ---------------------------------------------------------- change, predict, measure

ONE_SIDED_KEYS = ("accuracy_one_sided", "accuracy_both_sides", "confidence_one_sided", "confidence_both_sides")


def check_one_sided_experiment(answer, keep: dict | None = None) -> bool:
    """answer() -> {"accuracy": ..., "confidence": ... (each "lower", "about the same" or "higher",
    written down before running), "accuracy_one_sided", "accuracy_both_sides", "confidence_one_sided",
    "confidence_both_sides"}: test accuracy and mean top probability of a student distilled with the
    temperature on the teacher's side only, and of the notebook's student (T on both sides).
    "about the same" means within 0.05. Any outcome is a valid measurement.

    This check verifies that the numbers can be the measurement asked for and prints no measured
    number, so its output is the same on any machine; when `keep` (a dict) is given, the returned
    dict is copied into it, for `one_sided_verdict(keep)` to compare predictions and measurements."""
    name = "one-sided temperature experiment"
    options = ("lower", "about the same", "higher")
    keys = ONE_SIDED_KEYS
    got, problem = _call(answer)
    if problem:
        return _report(False, name, problem)
    if not isinstance(got, dict) or not all(k in got for k in ("accuracy", "confidence", *keys)):
        return _report(False, name, "return a dict with your predictions 'accuracy' and 'confidence' and the "
                                    f"measured {', '.join(map(repr, keys))}")
    for k in ("accuracy", "confidence"):
        if got[k] not in options:
            return _report(False, name, f"the prediction {k!r} must be one of {', '.join(map(repr, options))}, "
                                        f"got {got[k]!r}")
    try:
        m = {k: float(got[k]) for k in keys}
    except (TypeError, ValueError):
        return _report(False, name, f"the measured {', '.join(map(repr, keys))} must be numbers")
    if not all(math.isfinite(v) and 0 <= v <= 1 for v in m.values()):
        return _report(False, name, "accuracies and mean top probabilities are fractions between 0 and 1: "
                                    "return the measurements themselves")
    if m["accuracy_one_sided"] == m["accuracy_both_sides"] and m["confidence_one_sided"] == m["confidence_both_sides"]:
        return _report(False, name, "both students measure exactly the same: did you train a new student with "
                                    "the one-sided loss, rather than measure the notebook's student twice?")
    if keep is not None:
        keep.clear()
        keep.update({"accuracy": got["accuracy"], "confidence": got["confidence"], **m})
    return _report(True, name, f"the measurement was done as asked; you predicted accuracy {got['accuracy']!r} and "
                               f"confidence {got['confidence']!r}. The next cell prints the four numbers beside "
                               "your predictions.")


def one_sided_verdict(kept: dict) -> bool:
    """Print the four measurements of exercise 3 kept by `check_one_sided_experiment(..., keep=kept)`
    beside the predictions, and say which agree ("about the same" = within 0.05). Its output holds
    measured numbers, so its cell is not compared by nbval. True when both predictions agree."""
    name = "one-sided temperature experiment, measured"
    if not isinstance(kept, dict) or not all(k in kept for k in ("accuracy", "confidence", *ONE_SIDED_KEYS)):
        return _report(False, name, "nothing to compare: run the exercise cell first, until its check passes")

    def outcome(one, both):
        return "higher" if one > both + 0.05 else "lower" if one < both - 0.05 else "about the same"

    said = {}
    for k in ("accuracy", "confidence"):
        one, both = kept[f"{k}_one_sided"], kept[f"{k}_both_sides"]
        said[k] = outcome(one, both)
        print(f"  {k:10s}: T on one side {one:.3f}, on both sides {both:.3f} ({one - both:+.3f}): "
              f"{said[k]!r}; you predicted {kept[k]!r}")
    wrong = [k for k in said if kept[k] != said[k]]
    verdict = ("both predictions agree with this run" if not wrong else
               "you predicted " + " and ".join(f"{k} {kept[k]!r}, this run says {said[k]!r}" for k in wrong)
               + ", which is worth understanding")
    why = ("The argument for 'about the same' accuracy and 'lower' confidence: softmax(s) is matched to "
           "softmax(t/T) by logits s = t/T (plus a constant), the teacher's ranking of the classes, so its "
           "answers, with the confidence of its softened output. One run is one draw: the stored runs below "
           "say whether it holds on every seed.")
    return _report(not wrong, name, f"{verdict}. {why}")


CHECKS["one_sided_experiment"] = check_one_sided_experiment

# --- notebook 12 ---
# (exercise 3: change, predict, measure; the decoder is fed caption embeddings instead of image ones)

CAPTION_ATTRIBUTES = ("shape", "colour", "size", "position")


def check_caption_prediction(answer) -> bool:
    """answer() -> {"shape": float, "colour": float, "size": float, "position": float}: predicted
    attribute accuracy (0-1) of captions decoded from caption embeddings. Only the form is checked
    here; the notebook measures the numbers and compares them with compare_prediction."""
    got, problem = _call(answer)
    if problem:
        return _report(False, "prediction", problem)
    if not isinstance(got, dict) or set(got) != set(CAPTION_ATTRIBUTES):
        return _report(False, "prediction", f"return a dict with exactly the keys {list(CAPTION_ATTRIBUTES)}, "
                                            "one predicted accuracy each")
    bad = [k for k in CAPTION_ATTRIBUTES if isinstance(got[k], bool) or not isinstance(got[k], (int, float))
           or not math.isfinite(got[k]) or not 0 <= got[k] <= 1]
    if bad:
        return _report(False, "prediction", f"{', '.join(bad)}: predict a number between 0 and 1 (a fraction "
                                            "of test objects, e.g. 0.8), not a percentage")
    said = ", ".join(f"{k} {got[k]:.2f}" for k in CAPTION_ATTRIBUTES)
    return _report(True, "prediction", f"recorded ({said}); the next cell decodes and measures")


CHECKS["caption_prediction"] = check_caption_prediction

# --- notebook 09 ---
# (a change-predict-measure exercise: what does a teacher that never learnt colour transfer?)

_TEACHER_EXPERIMENT = {}   # the last measurement of check_teacher_experiment(..., verdict=False)


def check_teacher_experiment(answer, verdict: bool = True) -> bool:
    """answer() -> {"prediction": "no better than scratch", "in between" or "as good as the colour
    teacher", "shape_teacher", "colour_teacher", "scratch"}: caption colour accuracy with 2 labels
    per class of a probe on a text student aligned to an image teacher trained on SHAPE labels only,
    of the same probe on the student of the notebook's teacher (trained on shape, colour and size),
    and of the text model trained from scratch on the same labels. "no better than scratch" means
    the shape teacher's probe is less than 0.05 above scratch, "as good as the colour teacher" means
    less than 0.05 below the colour teacher's, anything else is "in between". Any outcome is a valid
    measurement.

    verdict=False prints only whether the measurement was done as asked (so that the output does not
    depend on the numbers, which move with the machine); teacher_experiment_verdict() then prints
    the numbers and whether they agree with the prediction."""
    def judge(m):
        if not all(0 <= v <= 1 for v in m.values()):
            return None, "accuracies are fractions between 0 and 1: return the accuracies themselves", ""
        if m["shape_teacher"] == m["colour_teacher"]:
            return None, ("the two teachers gave exactly the same accuracy: did you align the new student to "
                          "the shape-only teacher (align(\"image\", \"text\", epochs, teacher=shape_teacher))?"), ""
        if m["shape_teacher"] < m["scratch"] + 0.05:
            return "no better than scratch", None, (
                "In this run, the student of a teacher that never saw a colour label read colour no better "
                "than scratch: one run, so a measurement of this run, not a rule.")
        if m["shape_teacher"] > m["colour_teacher"] - 0.05:
            return "as good as the colour teacher", None, (
                "In this run, the shape-only teacher's student read colour about as well as the colour "
                "teacher's (within 0.05): here the colour labels added little. One run, not a rule.")
        return "in between", None, (
            "In this run, the shape-only teacher's student gained over scratch, and the colour teacher's "
            "student gained more. One run: how far this holds for other seeds is not measured here.")

    keys, options = ("shape_teacher", "colour_teacher", "scratch"), ("no better than scratch", "in between",
                                                                     "as good as the colour teacher")
    if verdict:
        return _experiment("teacher experiment", answer, keys, options, judge)
    import contextlib
    import io
    got = {}

    def kept():
        got["answer"] = answer()
        return got["answer"]

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        ok = _experiment("teacher experiment", kept, keys, options, judge)
    _TEACHER_EXPERIMENT.clear()
    if not ok:
        print(printed.getvalue(), end="")
        return False
    _TEACHER_EXPERIMENT.update(numbers={k: float(got["answer"][k]) for k in keys}, verdict=printed.getvalue())
    return _report(True, "teacher experiment", f"the measurement was done as asked (you predicted "
                                               f"{got['answer']['prediction']!r}); the next cell prints what it measured")


def teacher_experiment_verdict() -> None:
    """Print the numbers of the last check_teacher_experiment(..., verdict=False) and its verdict."""
    if not _TEACHER_EXPERIMENT:
        print("run the exercise cell first: there is no measurement yet")
        return
    print(", ".join(f"{k} {v:.3f}" for k, v in _TEACHER_EXPERIMENT["numbers"].items()))
    print(_TEACHER_EXPERIMENT["verdict"], end="")


CHECKS["teacher_experiment"] = check_teacher_experiment

# ---------------------------------------------------------------- notebook 11 ---
# 11: your own unseen word list, predict then measure

def check_word_list(answer, caption_words=None, tokenizer=None) -> bool:
    """answer() -> (words, predicted): `words` maps each class of `caption_words` (by default the
    caption colour words) to 2 or more words or short phrases that are not caption words;
    `predicted` is your guess, a number between 0 and 1, of the list's text-only ceiling. With a
    `tokenizer` (the teacher's, with a .tokenize(text) method), no word may contain a caption word
    among its word pieces either ("bluebell" = "blue" + "##bell"). One verdict line; the notebook then
    measures the ceiling and compares it with your guess."""
    if caption_words is None:
        from .captions import COLOUR_WORDS as caption_words
    name = "word list"
    result, problem = _call(answer)
    if problem:
        return _report(False, name, problem)
    if not isinstance(result, tuple) or len(result) != 2:
        return _report(False, name, "return two things: (dict class -> list of words, your predicted share)")
    words, predicted = result
    if not isinstance(words, dict) or set(words) != set(caption_words):
        return _report(False, name, f"give words for exactly these classes: {sorted(caption_words)}")
    banned = {w for ws in caption_words.values() for w in ws}
    problems = []
    for c in caption_words:
        ws = [words[c]] if isinstance(words[c], str) else words[c]
        if not isinstance(ws, (list, tuple)) or len(ws) < 2:
            problems.append(f"{c}: give a list of at least 2 words")
            continue
        problems += [f"{w!r} is not a non-empty string" for w in ws if not isinstance(w, str) or not w.strip()]
        problems += [f"{w!r} uses a caption word" for w in ws
                     if isinstance(w, str) and set(w.lower().replace("-", " ").split()) & banned]
        if tokenizer is not None:
            problems += [f"{w!r} contains a caption word among the teacher's word pieces" for w in ws
                         if isinstance(w, str) and w.strip()
                         and not set(w.lower().replace("-", " ").split()) & banned
                         and {p.removeprefix("##") for p in tokenizer.tokenize(w)} & banned]
    if problems:
        return _report(False, name, "; ".join(problems[:3]))
    if isinstance(predicted, bool) or not isinstance(predicted, (int, float)) or not 0 <= predicted <= 1:
        return _report(False, name, "predict the text-only ceiling as a number between 0 and 1")
    n = sum(len(words[c]) for c in caption_words)
    return _report(True, name, f"{n} words for {len(caption_words)} classes, none a caption word; "
                               f"your prediction: {predicted:.2f}")


CHECKS["word_list"] = check_word_list

# --- notebook 10 ---
# ---------------------------------------------------------------- 10: change, predict, measure (issue 16)

LIE_OUTCOMES = ("both stay high", "transfer stays high, retrieval collapses",
                "retrieval stays high, transfer collapses", "both collapse")


def check_lie_partners(answer) -> bool:
    """answer(labels, seed) -> (N,) int indices: for each item i, the index of an item whose label is
    (labels[i] + 1) % 6, the next colour, drawn at random with `seed`. Checked on made-up labels, so
    the verdict does not depend on any training."""
    rng = np.random.default_rng(3)
    cases = [rng.integers(0, 6, size=n) for n in (12, 60)]
    cases[0][:6] = np.arange(6)   # every colour present
    cases[1][:6] = np.arange(6)
    for labels in cases:
        got, problem = _call(answer, labels.copy(), 0)
        if problem:
            return _report(False, "lie partners", problem)
        try:
            idx = np.asarray(got)
        except Exception:  # noqa: BLE001 - any junk is the learner's to fix, with advice
            idx = None
        if idx is None or idx.shape != labels.shape or not np.issubdtype(idx.dtype, np.integer):
            return _report(False, "lie partners", f"return one integer index per item, an array of shape {labels.shape}")
        if idx.min() < 0 or idx.max() >= len(labels):
            return _report(False, "lie partners", "each partner must be an index into labels (0 to len(labels) - 1)")
        partner = labels[idx]
        if (partner == labels).all():
            return _report(False, "lie partners", "each item got a partner of its own colour: that is a true pair, "
                                                  "pick one of the next colour, (c + 1) % 6")
        if (partner == (labels - 1) % 6).all():
            return _report(False, "lie partners", "each partner has the previous colour: use (c + 1) % 6, the next one")
        if not (partner == (labels + 1) % 6).all():
            return _report(False, "lie partners", "some partners are not of the next colour, (c + 1) % 6")
    return _report(True, "lie partners", "every item is paired with an item of the next colour. Run the cell "
                                         "below: it trains the student on these pairs and prints the verdict")


def lie_outcome(m: dict) -> str:
    """Which of LIE_OUTCOMES the measured numbers show: a score stays "high" when it is closer to the
    clean student's than to its floor (chance for Recall@1, scratch for the transfer)."""
    transfer_high = m["transfer"] - m["scratch"] > (m["clean_transfer"] - m["scratch"]) / 2
    recall_high = m["recall_at_1"] - m["chance_recall_at_1"] > (m["clean_recall_at_1"] - m["chance_recall_at_1"]) / 2
    return {(True, True): LIE_OUTCOMES[0], (True, False): LIE_OUTCOMES[1],
            (False, True): LIE_OUTCOMES[2], (False, False): LIE_OUTCOMES[3]}[(transfer_high, recall_high)]


def lie_verdict(prediction, measured: dict) -> str:
    """Print the lie experiment's measured numbers, the outcome they show and whether `prediction`
    (one of LIE_OUTCOMES) said so; return the outcome. Its output depends on training."""
    outcome = lie_outcome(measured)
    m = measured
    print(f"Recall@1 {m['recall_at_1']:.3f} (clean student {m['clean_recall_at_1']:.3f}, chance "
          f"{m['chance_recall_at_1']:.3f}); transfer {m['transfer']:.3f} (clean student {m['clean_transfer']:.3f}, "
          f"scratch {m['scratch']:.3f})")
    print(f"this run shows: {outcome!r}")
    if prediction not in LIE_OUTCOMES:
        print(f"your prediction {prediction!r} is not one of {LIE_OUTCOMES}")
    else:
        print(f"you predicted {prediction!r}: " + ("it agrees." if prediction == outcome else
                                                     "this run says otherwise, which is worth knowing."))
    return outcome


CHECKS["lie_partners"] = check_lie_partners

# --- notebook 06 ---
# Exercise 3 of notebook 06 changes the test (the camera breaks: no picture for any object), asks
# for a prediction, then measures it. Only the floor can be checked here; g's scores need training.

def check_camera_prediction(answer, floor: float = 0.472) -> bool:
    """answer() -> {"f_no_picture": float, "g_no_picture_clean": float, "g_no_picture_loudest": float}:
    predicted test accuracies with no picture at all. f_no_picture is checked against `floor` (the
    share of the test split's most common training concept: the best fixed answer; by default the
    notebook's own world at SEED = 0); the two g predictions are echoed (the notebook measures them)."""
    got, problem = _predicted_accuracies(answer, {"f_no_picture", "g_no_picture_clean", "g_no_picture_loudest"})
    if problem:
        return _report(False, "prediction", problem)
    guess = float(got["f_no_picture"])
    if abs(guess - floor) > 0.01:
        if abs(guess - 1 / 3) < 0.01:
            hint = (" - 1/3 is what a uniform random guess scores; without a picture the best fixed answer is the "
                    "most common concept, so f alone scores that concept's share of the test split")
        elif guess < 0.05:
            hint = (" - f cannot look at anything, but a system built on it still answers: its best fixed answer is "
                    "the most common concept, whose share section 1 prints")
        else:
            hint = " - always answering the most common concept scores its share of the test split (section 1)"
        return _report(False, "prediction", f"with no picture f alone scores at most the floor, {floor:.3f}; "
                                            f"you predicted {guess:.3f}{hint}")
    return _report(True, "prediction", f"f alone without a picture: the floor {floor:.3f}, as you predicted; your "
                                       "two predictions for g (clean sound, loudest noise) are measured in the next cell")


CHECKS["camera_prediction"] = check_camera_prediction

# --- notebook 08 ---

def check_colour_only_prediction(answer, colour_rule: float = 0.52) -> bool:
    """answer() -> {"colour_right", "accuracy"}: predictions, each a number between 0 and 1, for
    notebook 08's image-text model trained on captions without shape words: the share of unseen
    objects whose colour it reads right, and its 12-way score (its colour, then the colour rule's
    shape guess). Only what follows from the set-up is marked: that score cannot exceed the
    colour-right share, nor the colour rule's score `colour_rule` (a perfect colour reader with the
    best shape guess). The values themselves are measured in the notebook's next cell."""
    got, problem = _predicted_accuracies(answer, {"colour_right", "accuracy"})
    if problem:
        return _report(False, "prediction", problem)
    if got["accuracy"] > got["colour_right"] + 1e-9:
        return _report(False, "prediction", "its answer is right only if its colour is right: the accuracy cannot "
                                            "exceed the colour-right share")
    if got["accuracy"] > colour_rule + 0.02:
        return _report(False, "prediction", "a model that never saw a shape word can only guess the shape: it cannot "
                                            "score more than the colour-only rule of section 1, which reads every "
                                            "colour right and guesses the shape as well as possible")
    return _report(True, "prediction", "consistent with what a colour reader can do; both predictions are "
                                       "measured in the next cell")


CHECKS["colour_only_prediction"] = check_colour_only_prediction

# --- notebook 13 ---
# (exercise 1: the pixel nearest-neighbour baseline; exercise 3: change the prompt, predict, measure)


def _pixel_neighbour_scores(unseen_pixels, seen_pixels, seen_names, unseen_names):
    nearest = (_unit(unseen_pixels) @ _unit(seen_pixels).T).argmax(dim=1)     # (U,) nearest seen picture
    return _unit(seen_names[nearest]) @ _unit(unseen_names).T                   # (U, U)


def check_pixel_neighbour_scores(answer) -> bool:
    """answer(unseen_pixels (U, P), seen_pixels (S, P), seen_names (S, D), unseen_names (U, D)) ->
    (U, U) scores: row i is the cosine similarity between the name of the seen picture nearest to
    unseen picture i (by cosine similarity of pixels) and each unseen name."""
    g = torch.Generator().manual_seed(13)
    cases = []
    for u, s, p, d in ((5, 7, 16, 4), (3, 9, 25, 6), (6, 6, 12, 3)):
        cases.append((torch.rand(u, p, generator=g), torch.rand(s, p, generator=g) * torch.rand(s, 1, generator=g) * 3,
                      torch.randn(s, d, generator=g) * 2, torch.randn(u, d, generator=g) * 2))
    mistakes = [
        (lambda up, sp, sn, un: _unit(sn[torch.cdist(up, sp).argmin(dim=1)]) @ _unit(un).T,
         "that picks the nearest seen picture by Euclidean distance: use cosine similarity of the pixels "
         "(a picture drawn with more ink is not a different picture)"),
        (lambda up, sp, sn, un: _unit(sn[(_unit(up) @ _unit(sp).T).argmin(dim=1)]) @ _unit(un).T,
         "argmin of a similarity picks the LEAST similar seen picture: use argmax"),
        (lambda up, sp, sn, un: sn[(_unit(up) @ _unit(sp).T).argmax(dim=1)] @ un.T,
         "the name embeddings are not of unit length here: normalise both before the dot product"),
        (lambda up, sp, sn, un: (_unit(sn[(_unit(up) @ _unit(sp).T).argmax(dim=1)]) @ _unit(un).T).T,
         "rows and columns are swapped: row i is unseen PICTURE i, column j unseen NAME j"),
    ]
    return _check("pixel nearest-neighbour scores", answer, _pixel_neighbour_scores, cases, mistakes, atol=1e-5)


PROMPT_OUTCOMES = ("lower", "about the same", "higher")


def check_prompt_prediction(answer) -> bool:
    """answer() -> {"template": a prompt with one "{}" for the name, other than the notebook's,
    "prediction": "lower", "about the same" or "higher"}: the unseen Recall@10 (picture -> name) of
    an image tower trained and tested with that template, against the notebook's. Only the form is
    checked; the next cell trains and measures."""
    name = "prompt experiment"
    got, problem = _call(answer)
    if problem:
        return _report(False, name, problem)
    if not isinstance(got, dict) or set(got) != {"template", "prediction"}:
        return _report(False, name, "return a dict with exactly the keys 'template' and 'prediction'")
    template = got["template"]
    if not isinstance(template, str) or template.count("{}") != 1:
        return _report(False, name, "the template must be a string with exactly one {} where the name goes, "
                                    "e.g. 'a picture of a {}'")
    if got["prediction"] not in PROMPT_OUTCOMES:
        return _report(False, name, f"the prediction must be one of {', '.join(map(repr, PROMPT_OUTCOMES))}, "
                                    f"got {got['prediction']!r}")
    return _report(True, name, f"recorded: with {template!r} you predict {got['prediction']!r}; "
                               "the next cell trains a tower with it and measures")


def prompt_verdict(prediction: str, new: float, old: float, tolerance: float = 0.03) -> str:
    """Print the measured unseen Recall@10 with the new template beside the notebook's, and whether
    the prediction agrees ("about the same" = within `tolerance`). Returns the measured outcome."""
    outcome = "higher" if new > old + tolerance else "lower" if new < old - tolerance else "about the same"
    agree = "it agrees with your prediction" if outcome == prediction else f"you predicted {prediction!r}"
    print(f"unseen R@10, picture -> name: {new:.3f} with your template, {old:.3f} with the notebook's "
          f"({new - old:+.3f}): {outcome!r}; {agree}. One run is one draw: a difference of a few "
          "hundredths can be noise (compare the spread over seeds in section 5).")
    return outcome


CHECKS["pixel_neighbour_scores"] = check_pixel_neighbour_scores
CHECKS["prompt_prediction"] = check_prompt_prediction
