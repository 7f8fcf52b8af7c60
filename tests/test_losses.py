import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cmkt_lib.losses import LogitScale, info_nce_loss, triplet_loss, weight_decay_groups


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def written_out_info_nce(a, b, scale, positives):
    """Symmetric InfoNCE with explicit loops: -log(sum over matches / sum over all)."""
    B = len(a)
    s = [[scale * sum(a[i][d] * b[j][d] for d in range(len(a[0]))) for j in range(B)] for i in range(B)]
    rows = cols = 0.0
    for i in range(B):
        rows -= math.log(sum(math.exp(s[i][j]) for j in positives[i]) / sum(math.exp(s[i][j]) for j in range(B)))
        col_pos = [k for k in range(B) if i in positives[k]]
        cols -= math.log(sum(math.exp(s[k][i]) for k in col_pos) / sum(math.exp(s[k][i]) for k in range(B)))
    return 0.5 * (rows / B + cols / B)


def written_out_triplet(a, b, margin, positives):
    B = a.shape[0]
    s = (a @ b.T).tolist()
    total = 0.0
    for i in range(B):
        worst_b = max(s[i][j] for j in range(B) if j not in positives[i])
        worst_a = max(s[k][i] for k in range(B) if i not in positives[k])
        total += max(0.0, margin - s[i][i] + worst_b) + max(0.0, margin - s[i][i] + worst_a)
    return total / B


def test_info_nce_matches_written_out_computation():
    a, b = unit(5, 3, seed=1), unit(5, 3, seed=2)
    for log_scale in (0.0, math.log(1 / 0.07), math.log(3.0)):
        want = written_out_info_nce(a.tolist(), b.tolist(), math.exp(log_scale), [[i] for i in range(5)])
        assert info_nce_loss(a, b, log_scale).item() == pytest.approx(want, rel=1e-10)
        assert info_nce_loss(a, b, torch.tensor(log_scale, dtype=torch.float64)).item() == pytest.approx(want, rel=1e-10)


def test_info_nce_equals_cross_entropy_both_ways():
    a, b = unit(6, 4, seed=3), unit(6, 4, seed=4)
    logits = 10.0 * a @ b.T
    target = torch.arange(6)
    want = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    assert info_nce_loss(a, b, math.log(10.0)).item() == pytest.approx(want.item(), rel=1e-12)


def test_info_nce_positive_mask_matches_written_out_computation():
    a, b = unit(5, 3, seed=5), unit(5, 3, seed=6)
    positives = [[0, 2], [1], [0, 2], [3, 4], [3, 4]]
    mask = torch.zeros(5, 5, dtype=torch.bool)
    for i, js in enumerate(positives):
        mask[i, js] = True
    want = written_out_info_nce(a.tolist(), b.tolist(), 7.0, positives)
    assert info_nce_loss(a, b, math.log(7.0), positive_mask=mask).item() == pytest.approx(want, rel=1e-10)
    # a diagonal-only mask is the ordinary loss
    eye = torch.eye(5, dtype=torch.bool)
    assert info_nce_loss(a, b, 1.0, eye).item() == pytest.approx(info_nce_loss(a, b, 1.0).item(), rel=1e-12)


def test_in_batch_duplicates_need_the_mask():
    # pairs 0 and 1 describe the same thing: identical a rows and identical b rows.
    a = unit(4, 8, seed=7)
    a[1] = a[0]
    b = a.clone()  # a perfect encoder: every match has similarity 1
    mask = torch.eye(4, dtype=torch.bool)
    mask[0, 1] = mask[1, 0] = True
    # without the mask the duplicate is a "negative" as close as the positive: the loss cannot go
    # below log 2 however confident the model is; with the mask it goes to 0
    plain = info_nce_loss(a, b, math.log(100.0)).item()
    masked = info_nce_loss(a, b, math.log(100.0), positive_mask=mask).item()
    assert plain > 0.5 * math.log(2) - 1e-6
    assert masked < 1e-3
    # the triplet loss counts the duplicate as a violating negative unless it is masked
    assert triplet_loss(a, b, 0.2).item() > 0.19
    assert triplet_loss(a, b, 0.2, positive_mask=mask).item() == pytest.approx(0.0, abs=1e-9)


def test_triplet_matches_written_out_computation():
    a, b = unit(6, 3, seed=8), unit(6, 3, seed=9)
    for margin in (0.0, 0.2, 1.0):
        want = written_out_triplet(a, b, margin, [[i] for i in range(6)])
        assert triplet_loss(a, b, margin).item() == pytest.approx(want, rel=1e-10)
    positives = [[0, 1], [0, 1], [2], [3], [4, 5], [4, 5]]
    mask = torch.zeros(6, 6, dtype=torch.bool)
    for i, js in enumerate(positives):
        mask[i, js] = True
    want = written_out_triplet(a, b, 0.3, positives)
    assert triplet_loss(a, b, 0.3, positive_mask=mask).item() == pytest.approx(want, rel=1e-10)


def test_triplet_is_zero_when_every_negative_is_a_margin_away():
    a = torch.eye(4, dtype=torch.float64)
    assert triplet_loss(a, a.clone(), margin=0.5).item() == 0.0  # s_ii = 1, negatives 0
    assert triplet_loss(a, a.clone(), margin=1.5).item() == pytest.approx(2 * 0.5)


class TwoTowers(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Linear(5, 4)
        self.text = nn.Linear(3, 4)
        self.logit_scale = LogitScale()


@pytest.mark.parametrize("loss_name", ["info_nce", "triplet"])
def test_gradients_reach_both_encoders_and_the_temperature(loss_name):
    torch.manual_seed(0)
    model = TwoTowers()
    a = F.normalize(model.image(torch.randn(8, 5)), dim=-1)
    b = F.normalize(model.text(torch.randn(8, 3)), dim=-1)
    if loss_name == "info_nce":
        info_nce_loss(a, b, model.logit_scale()).backward()
        assert model.logit_scale.log_scale.grad is not None and model.logit_scale.log_scale.grad.abs() > 0
    else:
        triplet_loss(a, b, margin=0.5).backward()
    for tower in (model.image, model.text):
        assert tower.weight.grad is not None and tower.weight.grad.abs().sum() > 0


def test_learnable_temperature_moves_when_trained():
    torch.manual_seed(0)
    model = TwoTowers()
    opt = torch.optim.AdamW(weight_decay_groups(model, 0.1), lr=0.05)
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    start = model.logit_scale.log_scale.item()
    for _ in range(20):
        opt.zero_grad()
        loss = info_nce_loss(F.normalize(model.image(x), dim=-1), F.normalize(model.text(y), dim=-1), model.logit_scale())
        loss.backward()
        opt.step()
        model.logit_scale.clamp_()
    assert model.logit_scale.log_scale.item() != pytest.approx(start)


def test_logit_scale_starts_at_clip_value_and_is_clamped_at_100():
    scale = LogitScale()
    assert scale().item() == pytest.approx(math.log(1 / 0.07))
    assert scale.temperature == pytest.approx(0.07)
    with torch.no_grad():
        scale.log_scale.fill_(math.log(1000.0))
    assert scale().exp().item() == pytest.approx(100.0)  # the value used is capped
    scale.clamp_()
    assert scale.log_scale.item() == pytest.approx(math.log(100.0))  # and so is the parameter
    fixed = LogitScale(temperature=0.5, learnable=False)
    assert not fixed.log_scale.requires_grad and fixed.temperature == pytest.approx(0.5)


def test_logit_scale_rejects_bad_temperatures():
    with pytest.raises(ValueError, match="temperature must be > 0, got 0; CLIP uses 0.07"):
        LogitScale(temperature=0)
    with pytest.raises(TypeError, match="max_scale must be a number"):  # a wrong type: TypeError, as in scikit-learn
        LogitScale(max_scale="100")
    with pytest.raises(ValueError, match="above max_scale"):
        LogitScale(temperature=0.001)


def test_weight_decay_groups_exempt_the_temperature_and_biases():
    model = TwoTowers()
    decay, no_decay = weight_decay_groups(model, 0.01)
    ids = lambda group: {id(p) for p in group["params"]}
    assert ids(decay) == {id(model.image.weight), id(model.text.weight)}
    assert id(model.logit_scale.log_scale) in ids(no_decay)
    assert id(model.image.bias) in ids(no_decay)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    with pytest.raises(ValueError, match=">= 0"):
        weight_decay_groups(model, -1)
    with pytest.raises(TypeError, match="nn.Module"):
        weight_decay_groups([model.image.weight], 0.01)


@pytest.mark.parametrize("loss", [lambda a, b: info_nce_loss(a, b, 1.0), lambda a, b: triplet_loss(a, b, 0.2)])
def test_losses_refuse_bad_inputs(loss):
    a = unit(4, 3)
    with pytest.raises(ValueError, match=r"norms between .* F\.normalize\(a, dim=-1\)"):
        loss(a * 3, a)
    with pytest.raises(ValueError, match=r"F\.normalize\(b, dim=-1\)"):
        loss(a, torch.randn(4, 3, dtype=torch.float64) * 5)
    with pytest.raises(ValueError, match="same shape"):
        loss(a, unit(5, 3))
    with pytest.raises(ValueError, match="same shape"):
        loss(a, unit(4, 6))
    with pytest.raises(ValueError, match=r"add a batch dimension"):
        loss(a[0], a[0])
    with pytest.raises(TypeError, match="torch.Tensor"):
        loss(a.numpy(), a)
    with pytest.raises(TypeError, match="float tensor"):
        loss(torch.ones(4, 1, dtype=torch.int64), torch.ones(4, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN"):
        loss(torch.full((4, 3), float("nan")), a)
    with pytest.raises(ValueError, match="at least 2"):
        loss(a[:1], a[:1])


def test_bad_masks_and_scales_are_refused():
    a, b = unit(3, 2), unit(3, 2, seed=1)
    with pytest.raises(ValueError, match="diagonal"):
        info_nce_loss(a, b, 1.0, positive_mask=torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        info_nce_loss(a, b, 1.0, positive_mask=torch.eye(3))
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        triplet_loss(a, b, 0.2, positive_mask=torch.eye(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="no negative"):
        triplet_loss(a, b, 0.2, positive_mask=torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"margin must be >= 0, got -0.1; VSE\+\+ uses 0.2"):
        triplet_loss(a, b, -0.1)
    with pytest.raises(TypeError, match="margin must be a number"):
        triplet_loss(a, b, True)
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        weight_decay_groups(TwoTowers(), "0.01")
    with pytest.raises(TypeError, match="log_scale"):
        info_nce_loss(a, b, "hot")
    with pytest.raises(ValueError, match="single number"):
        info_nce_loss(a, b, torch.ones(2))


def test_a_temperature_passed_as_log_scale_is_refused():
    a, b = unit(3, 2), unit(3, 2, seed=1)
    with pytest.raises(ValueError, match=r"looks like a temperature.*LOG of 1/temperature.*math\.log\(1 / 0\.07\) = 2\.659"):
        info_nce_loss(a, b, 0.07)
    with pytest.raises(ValueError, match=r"finite"):
        info_nce_loss(a, b, float("inf"))
    with pytest.raises(TypeError, match=r"log_scale must be a number"):
        info_nce_loss(a, b, True)
    # the advised fixes work, and a tensor is taken at its word
    assert info_nce_loss(a, b, math.log(1 / 0.07)).item() == pytest.approx(
        info_nce_loss(a, b, LogitScale(0.07)()).item(), rel=1e-6)
    assert torch.isfinite(info_nce_loss(a, b, torch.tensor(0.07)))
