"""Every self-check: passes the reference, answers the stub and typical mistakes with their own
hint, and never raises, whatever the learner hands it."""

import pytest
import torch
import torch.nn.functional as F

from cmkt_lib import checks
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
    "distillation_loss": lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
                                                  reduction="batchmean") * T ** 2,
    "masked_mean": lambda e, t: (e * (t > 0)[..., None]).sum(1) / (t > 0).sum(1, keepdim=True),
    "accuracy": lambda lo, la: (lo.argmax(1) == la).float().mean(),
    "late_fusion": lambda ls: sum(F.softmax(x, -1) for x in ls) / len(ls),
    "flattened_size": lambda stack, shape: stack(torch.zeros(1, *shape)).numel(),
    "optimizer_covers": lambda enc, tr: torch.optim.SGD([*enc.parameters(), *tr.parameters()], lr=0.1),
}


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
    ("distillation_loss", lambda s, t, T: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
                                                   reduction="batchmean"), "T² factor is missing"),
    ("distillation_loss", lambda s, t, T: F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1),
                                                   reduction="batchmean") * T * T, "divide both logits by T"),
    ("masked_mean", lambda e, t: e.mean(1), "averaged the padding"),
    ("masked_mean", lambda e, t: (e * (t > 0)[..., None]).sum(1), "sum over real tokens"),
    ("accuracy", lambda lo, la: (lo.argmax(1) == la).sum(), "returned a count"),
    ("late_fusion", lambda ls: sum(ls) / len(ls), "averaged raw logits"),
    ("flattened_size", lambda stack, shape: stack(torch.zeros(1, *shape)).shape[-1] ** 2,
     "one channel's map"),
    ("optimizer_covers", lambda enc, tr: torch.optim.SGD(enc.parameters(), lr=0.1),
     "never sees the transfer network"),
]


@pytest.mark.parametrize("name, answer, hint", MISTAKES, ids=[f"{m[0]}:{m[2]}" for m in MISTAKES])
def test_typical_mistakes_get_their_own_hint(capsys, name, answer, hint):
    ok, out = verdict(capsys, CHECKS[name], answer)
    assert not ok and hint in out, out


def test_wrong_shape_is_described(capsys):
    ok, out = verdict(capsys, checks.check_late_fusion, lambda ls: torch.zeros(3))
    assert not ok and "shape" in out
