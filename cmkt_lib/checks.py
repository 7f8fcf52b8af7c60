"""Self-checks for the exercises.

`check_<exercise>(answer)` runs your function on small test cases, compares it with the course's
reference, and prints one verdict with a hint. It never raises: a wrong answer, a wrong type or
shape, or an error inside your code all get advice instead of a traceback. It returns True when
your answer passes, so a grader can count the passes.
"""

import math

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


def _difference(got, want, atol: float):
    """None when got matches want, else a plain-words description of the difference."""
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
        got, problem = _call(answer, *args)
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
    cases = [(_unit(a), _unit(b), torch.tensor(math.log(1 / 0.07))) for a, b in raw]
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


# ---------------------------------------------------------------- 05: distillation

def _distillation(student, teacher, temperature):
    t = temperature
    return F.kl_div(F.log_softmax(student / t, -1), F.softmax(teacher / t, -1), reduction="batchmean") * t * t


def check_distillation_loss(answer) -> bool:
    """answer(student_logits (B, C), teacher_logits (B, C), temperature) -> KL(teacher || student)
    on temperature-softened distributions, times T² (Hinton et al.)."""
    cases = [(*pair, t) for pair, t in zip(_cases(((5, 4), (5, 4)), ((3, 6), (3, 6)), seed=4), (4.0, 2.0))]
    t2 = lambda s, te, t: _distillation(s, te, t) / (t * t)  # noqa: E731
    mistakes = [
        (t2, "the T² factor is missing: soft targets shrink the gradients by 1/T², so multiply the loss by T²"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s / t, -1), F.softmax(te / t, -1), reduction="sum") * t * t,
         "you summed over the batch: use reduction='batchmean' so the loss does not grow with batch size"),
        (lambda s, te, t: F.kl_div(F.log_softmax(s, -1), F.softmax(te, -1), reduction="batchmean") * t * t,
         "the temperature is missing inside the softmaxes: divide both logits by T first"),
    ]
    return _check("distillation loss", answer, _distillation, cases, mistakes)


# ---------------------------------------------------------------- 02: pooling and accuracy

def _masked_mean(embeddings, tokens):
    mask = (tokens != 0).float().unsqueeze(-1)
    return (embeddings * mask).sum(1) / mask.sum(1).clamp(min=1)


def check_masked_mean(answer) -> bool:
    """answer(embeddings (B, L, D), tokens (B, L) int64, 0 = padding) -> (B, D) mean over real tokens."""
    g = torch.Generator().manual_seed(5)
    tokens = torch.tensor([[5, 7, 9, 0, 0], [3, 0, 0, 0, 0], [4, 4, 6, 8, 2]])
    cases = [(torch.randn(3, 5, 4, generator=g), tokens)]
    mistakes = [
        (lambda e, t: e.mean(1), "you averaged the padding too: multiply by a mask of (tokens != 0) "
                                 "and divide by the number of real tokens"),
        (lambda e, t: (e * (t != 0).float().unsqueeze(-1)).sum(1),
         "that is the sum over real tokens: divide by how many real tokens each caption has"),
        (lambda e, t: (e * (t != 0).float().unsqueeze(-1)).sum(1) / t.shape[1],
         "you divided by the padded length: divide by each caption's number of real tokens"),
    ]
    return _check("masked mean", answer, _masked_mean, cases, mistakes)


def _accuracy(logits, labels):
    return (logits.argmax(dim=1) == labels).float().mean().item()


def check_accuracy(answer) -> bool:
    """answer(logits (N, C), labels (N,) int64) -> fraction of rows whose largest logit is the label."""
    g = torch.Generator().manual_seed(6)
    cases = [(torch.randn(10, 4, generator=g), torch.randint(0, 4, (10,), generator=g)),
             (torch.randn(7, 3, generator=g), torch.randint(0, 3, (7,), generator=g))]
    mistakes = [
        (lambda lo, la: _accuracy(lo, la) * len(la), "you returned a count: divide by the number of examples"),
        (lambda lo, la: (lo.argmin(dim=1) == la).float().mean().item(), "the prediction is the LARGEST logit (argmax)"),
    ]
    return _check("accuracy", answer, _accuracy, cases, mistakes)


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


CHECKS = {
    "cosine_similarity": check_cosine_similarity,
    "info_nce": check_info_nce,
    "recall_at_k": check_recall_at_k,
    "distillation_loss": check_distillation_loss,
    "masked_mean": check_masked_mean,
    "accuracy": check_accuracy,
    "late_fusion": check_late_fusion,
    "flattened_size": check_flattened_size,
    "optimizer_covers": check_optimizer_covers,
}
