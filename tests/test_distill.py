import math

import pytest
import torch
import torch.nn.functional as F

from cmkt_lib.distill import class_embeddings, distillation_loss, feature_regression_loss, zero_shot_logits


def randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def written_out_distillation(student, teacher, t):
    """T^2 * mean over rows of sum_c p_c (log p_c - log q_c), with p, q softmaxes at temperature t."""
    total = 0.0
    for s_row, t_row in zip(student, teacher):
        zp = sum(math.exp(v / t) for v in t_row)
        zq = sum(math.exp(v / t) for v in s_row)
        p = [math.exp(v / t) / zp for v in t_row]
        q = [math.exp(v / t) / zq for v in s_row]
        total += sum(pc * (math.log(pc) - math.log(qc)) for pc, qc in zip(p, q))
    return t * t * total / len(student)


def test_distillation_matches_written_out_computation():
    s, t = randn(4, 5, seed=1), randn(4, 5, seed=2) * 3
    for temperature in (1.0, 2.0, 4.0, 0.5):
        want = written_out_distillation(s.tolist(), t.tolist(), temperature)
        assert distillation_loss(s, t, temperature).item() == pytest.approx(want, rel=1e-10)


def test_distillation_is_zero_when_student_equals_teacher_and_positive_otherwise():
    t = randn(3, 4, seed=3)
    assert distillation_loss(t.clone(), t, 2.0).item() == pytest.approx(0.0, abs=1e-12)
    # adding a constant to every logit of a row leaves its softmax unchanged
    assert distillation_loss(t + 7.0, t, 2.0).item() == pytest.approx(0.0, abs=1e-12)
    assert distillation_loss(randn(3, 4, seed=4), t, 2.0).item() > 0


def test_gradient_is_t_times_q_minus_p():
    # d/ds [T^2 KL(p_T || q_T)] = T (q_T - p_T), averaged over the batch
    s, t = randn(3, 5, seed=5), randn(3, 5, seed=6)
    for temperature in (1.0, 4.0):
        s_var = s.clone().requires_grad_(True)
        distillation_loss(s_var, t, temperature).backward()
        want = temperature * (F.softmax(s / temperature, 1) - F.softmax(t / temperature, 1)) / 3
        assert torch.allclose(s_var.grad, want, rtol=1e-10, atol=1e-12)


def test_t_squared_factor_keeps_gradients_comparable_across_temperatures():
    # for large T, T (q_T - p_T) tends to (s - t) / C for zero-mean logits: the T^2 factor
    # cancels the 1/T^2 by which the plain KL's gradients would shrink
    t, s = randn(2, 6, seed=7), randn(2, 6, seed=8)
    t, s = t - t.mean(1, keepdim=True), s - s.mean(1, keepdim=True)
    norms = {}
    for temperature in (50.0, 100.0):
        s_var = s.clone().requires_grad_(True)
        distillation_loss(s_var, t, temperature).backward()
        want = (s - t) / 6 / 2  # / C, / batch (batchmean)
        assert torch.allclose(s_var.grad, want, atol=0.05 * want.abs().max().item())
        norms[temperature] = s_var.grad.norm().item()
    # without the T^2 factor the two gradients would differ by a factor of 4
    assert norms[50.0] / norms[100.0] == pytest.approx(1.0, abs=0.05)


def test_loss_scales_by_t_squared_times_the_plain_kl():
    s, t = randn(3, 4, seed=9), randn(3, 4, seed=10)
    temperature = 3.0
    plain = F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="batchmean")
    assert distillation_loss(s, t, temperature).item() == pytest.approx(9.0 * plain.item(), rel=1e-10)


def test_no_gradient_reaches_the_teacher():
    s = randn(3, 4, seed=9).requires_grad_(True)
    t = randn(3, 4, seed=10).requires_grad_(True)
    distillation_loss(s, t, 2.0).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None
    fs = randn(3, 5, seed=11).requires_grad_(True)
    ft = randn(3, 5, seed=12).requires_grad_(True)
    feature_regression_loss(fs, ft).backward()
    assert fs.grad is not None and ft.grad is None


def test_feature_regression_is_the_mean_squared_difference():
    s, t = randn(3, 5, seed=13), randn(3, 5, seed=14)
    diffs = [(a - b) ** 2 for row_s, row_t in zip(s.tolist(), t.tolist()) for a, b in zip(row_s, row_t)]
    assert feature_regression_loss(s, t).item() == pytest.approx(sum(diffs) / len(diffs), rel=1e-12)


@pytest.mark.parametrize("loss", [distillation_loss, feature_regression_loss])
def test_bad_inputs_say_what_is_wrong(loss):
    good = randn(3, 4)
    with pytest.raises(ValueError, match="same shape"):
        loss(randn(3, 4), randn(3, 5))
    with pytest.raises(ValueError, match="add a batch dimension"):
        loss(randn(4), randn(4))
    with pytest.raises(TypeError, match="float"):
        loss(torch.ones(3, 4, dtype=torch.int64), good)
    with pytest.raises(TypeError, match="torch.Tensor"):
        loss(good.tolist(), good)
    with pytest.raises(ValueError, match="NaN"):
        loss(good, torch.full((3, 4), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="empty batch"):
        loss(randn(0, 4), randn(0, 4))


@pytest.mark.parametrize("temperature, error, message", [
    (0, ValueError, r"temperature must be > 0, got 0; 1 is a plain softmax"),
    (-1.0, ValueError, "temperature must be > 0"),
    (float("inf"), ValueError, "temperature must be a finite number"),
    (True, TypeError, "temperature must be a number"),  # a wrong type is a TypeError, as in scikit-learn
    ("2", TypeError, "temperature must be a number")])
def test_bad_temperature_is_refused(temperature, error, message):
    with pytest.raises(error, match=message):
        distillation_loss(randn(2, 3), randn(2, 3), temperature)


def test_distillation_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        distillation_loss(randn(2, 1), randn(2, 1))


def unit(*shape, seed=0):
    return F.normalize(randn(*shape, seed=seed), dim=-1)


def test_class_embeddings_average_prompts_then_renormalise():
    prompts = unit(3, 4, 5, seed=15)
    got = class_embeddings(prompts)
    assert got.shape == (3, 5)
    for c in range(3):
        mean = [sum(prompts[c, p, d].item() for p in range(4)) / 4 for d in range(5)]
        norm = math.sqrt(sum(v * v for v in mean))
        assert got[c].tolist() == pytest.approx([v / norm for v in mean], rel=1e-10)
    assert torch.allclose(got.norm(dim=1), torch.ones(3, dtype=torch.float64))


def test_class_embeddings_bad_inputs():
    with pytest.raises(ValueError, match="add the prompt axis"):
        class_embeddings(unit(3, 5))
    with pytest.raises(ValueError, match="L2-normalise"):
        class_embeddings(randn(3, 4, 5) * 2)
    with pytest.raises(TypeError, match="torch.Tensor"):
        class_embeddings([[1.0]])
    opposite = unit(1, 1, 4, seed=16)
    with pytest.raises(ValueError, match="cancel out"):
        class_embeddings(torch.cat([opposite, -opposite], dim=1))


def test_zero_shot_logits_are_cosines():
    images, classes = unit(4, 6, seed=17), unit(3, 6, seed=18)
    got = zero_shot_logits(images, classes)
    assert got.shape == (4, 3)
    for i in range(4):
        for c in range(3):
            want = sum(images[i, d].item() * classes[c, d].item() for d in range(6))
            assert got[i, c].item() == pytest.approx(want, rel=1e-10)


def test_zero_shot_logits_bad_inputs():
    with pytest.raises(ValueError, match="same shared space"):
        zero_shot_logits(unit(4, 6), unit(3, 5))
    with pytest.raises(ValueError, match="L2-normalise"):
        zero_shot_logits(randn(4, 6) * 3, unit(3, 6))
