"""Tests for cmkt_lib.fusion: shapes, missing modalities, modality dropout, a tiny training run."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from cmkt_lib import WorldDataset, make_world
from cmkt_lib.encoders import AudioEncoder, BagOfWordsEncoder, Classifier, ImageEncoder
from cmkt_lib.fusion import (
    DictDataset, EarlyFusion, Features, IntermediateFusion, LateFusion, modality_mask,
)
from cmkt_lib.train import evaluate_accuracy, fit

B = 6


def inputs(b=B):
    torch.manual_seed(0)
    return torch.rand(b, 3, 32, 32), torch.randint(1, 20, (b, 16)), torch.randn(b, 1, 32, 32)


def encoders(dim=16):
    return {"image": ImageEncoder(dim, width=8), "text": BagOfWordsEncoder(dim), "audio": AudioEncoder(dim, width=8)}


def models(p=0.0):
    return {
        "early": EarlyFusion(3, modality_dropout=p),
        "intermediate": IntermediateFusion(encoders(), 3, modality_dropout=p),
        "late": LateFusion({m: Classifier(e, 3) for m, e in encoders().items()}, modality_dropout=p),
    }


@pytest.mark.parametrize("kind", ["early", "intermediate", "late"])
def test_shapes_and_inputs(kind):
    model = models()[kind]
    assert model.inputs == ("image", "tokens", "spectrogram")
    assert model(*inputs()).shape == (B, 3)


@pytest.mark.parametrize("kind", ["early", "intermediate", "late"])
def test_gradients_reach_every_parameter(kind):
    model = models()[kind]
    model(*inputs()).logsumexp(dim=1).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_missing_modality_is_zeroed_in_intermediate_fusion():
    model = IntermediateFusion(encoders(), 3).eval()
    x = inputs()
    with model.without("audio"):
        out = model(*x)
        assert model.absent == {"audio"}
    assert model.absent == frozenset()
    feats = torch.cat([model.encoders["image"](x[0]), model.encoders["text"](x[1]), torch.zeros(B, 16)], 1)
    assert torch.allclose(out, model.head(feats), atol=1e-6)
    # the missing input's values no longer matter
    with model.without("audio"):
        assert torch.allclose(out, model(x[0], x[1], torch.randn(B, 1, 32, 32)), atol=1e-6)


def test_missing_modality_is_left_out_of_late_fusion_average():
    model = LateFusion({m: Classifier(e, 3) for m, e in encoders().items()}).eval()
    x = inputs()
    each = [model.classifiers[m](v) for m, v in zip(model.modalities, x)]
    assert torch.allclose(model(*x), sum(each) / 3, atol=1e-6)
    with model.without("text"):
        assert torch.allclose(model(*x), (each[0] + each[2]) / 2, atol=1e-6)


def test_missing_modality_in_early_fusion_ignores_its_input():
    model = EarlyFusion(3).eval()
    img, tok, spec = inputs()
    with model.without("image"):
        assert torch.allclose(model(img, tok, spec), model(torch.rand_like(img), tok, spec), atol=1e-6)
    assert not torch.allclose(model(img, tok, spec), model(torch.rand_like(img), tok, spec))


def test_modality_mask_rate():
    torch.manual_seed(0)
    mask = modality_mask(20_000, 3, 0.3, keep_one=False)
    assert mask.shape == (20_000, 3)
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert abs((1 - mask.mean(dim=0)) - 0.3).max() < 0.02


@pytest.mark.parametrize("kind", ["intermediate", "late"])
def test_modality_dropout_only_in_training(kind):
    """In train mode about p of the modality slots are dropped; in eval mode never."""
    torch.manual_seed(0)
    model = models(p=0.4)[kind]
    model.keep_one = False  # independent drops: about p of the slots
    model.train()
    masks = torch.cat([model.mask(1000, "cpu") for _ in range(10)])
    assert abs((1 - masks.mean()).item() - 0.4) < 0.02
    model.eval()
    assert torch.equal(model.mask(1000, "cpu"), torch.ones(1000, 3))
    x = inputs()
    assert torch.equal(model(*x), model(*x))  # eval is deterministic


def test_dropout_zeroes_whole_modalities_of_single_examples():
    torch.manual_seed(1)
    model = IntermediateFusion({"image": Features(4), "audio": Features(4)}, 2, modality_dropout=0.5, keep_one=False)
    seen = []
    model.head.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    model.train()
    model(torch.ones(500, 4), torch.ones(500, 4))
    joint = seen[0]
    for part in (joint[:, :4], joint[:, 4:]):
        row_sums = part.sum(dim=1)
        assert set(row_sums.unique().tolist()) == {0.0, 4.0}  # whole modalities, not single values
        assert abs((row_sums == 0).float().mean().item() - 0.5) < 0.07


def test_fusion_trains_on_a_tiny_world():
    world = make_world(500, seed=4, caption_style="full")
    mods = ("image", "text", "audio")
    train = DataLoader(WorldDataset(world, "train", target="colour", modalities=mods), batch_size=50, shuffle=True)
    test = DataLoader(WorldDataset(world, "test", target="colour", modalities=mods), batch_size=100)
    torch.manual_seed(0)
    model = IntermediateFusion(encoders(), 6, modality_dropout=0.2)
    history = fit(model, train, epochs=3, lr=1e-2, inputs=model.inputs, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert evaluate_accuracy(model, test, inputs=model.inputs) > 2 / 6


def test_dict_dataset_feeds_fit():
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    data = DictDataset(image=x, label=y)
    assert set(data[3]) == {"image", "label"} and len(data) == 64
    model = IntermediateFusion({"image": Features(4)}, 2)
    fit(model, DataLoader(data, batch_size=16), epochs=20, lr=3e-2, inputs=model.inputs, progress=False)
    assert evaluate_accuracy(model, DataLoader(data, batch_size=64), inputs=model.inputs) > 0.8


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"modalities must be distinct names"):
        EarlyFusion(3, modalities=("image", "smell"))
    with pytest.raises(ValueError, match=r"modality_dropout must be in \[0, 1\), got 1.0; it is a probability"):
        EarlyFusion(3, modality_dropout=1.0)
    with pytest.raises(TypeError, match=r"modality_dropout must be"):  # a wrong type: TypeError, as in scikit-learn
        EarlyFusion(3, modality_dropout=True)
    with pytest.raises(TypeError, match=r"encoders must be a dict"):
        IntermediateFusion([ImageEncoder()], 3)
    with pytest.raises(TypeError, match=r"out_dim attribute"):
        IntermediateFusion({"image": torch.nn.Identity()}, 3)
    with pytest.raises(TypeError, match=r"classifiers must be a dict"):
        LateFusion(ImageEncoder())
    model = models()["intermediate"]
    x = inputs()
    with pytest.raises(ValueError, match=r"takes 3 inputs \['image', 'tokens', 'spectrogram'\].*inputs=model.inputs"):
        model(x[0], x[1])
    with pytest.raises(ValueError, match=r"same batch size"):
        model(x[0], x[1][:2], x[2])
    with pytest.raises(ValueError, match=r"cannot leave out \['smell'\]"):
        with model.without("smell"):
            pass
    with pytest.raises(TypeError, match=r"int64 token ids"):
        EarlyFusion(3)(x[0], x[1].float(), x[2])
    with pytest.raises(ValueError, match=r"image input must have shape \(B, 3, 32, 32\)"):
        EarlyFusion(3)(x[0][:, :1], x[1], x[2])
    with pytest.raises(ValueError, match=r"n_classes must be >= 2, got 0"):
        EarlyFusion(0)
    with pytest.raises(TypeError, match=r"n_classes must be a whole number"):
        EarlyFusion(3.0)
    with pytest.raises(ValueError, match=r"hidden must be >= 1"):
        EarlyFusion(3, hidden=0)
    with pytest.raises(ValueError, match=r"EarlyFusion counts 40 token ids \(0\.\.39\), got ids in \[27, 45\]"):
        EarlyFusion(3, vocab_size=40)(x[0], x[1] + 26, x[2])
    with pytest.raises(ValueError, match=r"got ids in \[-1, "):
        EarlyFusion(3)(x[0], x[1] - 2, x[2])
    with pytest.raises(ValueError, match=r"expected features of shape \(B, 4\)"):
        Features(4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"same length"):
        DictDataset(a=np.zeros(3), b=np.zeros(4))


# ---------------------------------------------------------------- fair comparisons and keep_one (issue 15)

from cmkt_lib.fusion import accuracy_with, head_parameters, hidden_to_match, modalities_left_rates, train_head  # noqa: E402


@pytest.mark.parametrize("m, p", [(3, 0.5), (2, 0.5), (3, 0.8)])
def test_keep_one_never_leaves_an_example_empty_and_matches_the_rates(m, p):
    torch.manual_seed(0)
    mask = modality_mask(50_000, m, p)
    kept = mask.sum(dim=1)
    assert kept.min() >= 1
    measured = [(kept == k).float().mean().item() for k in range(m + 1)]
    assert np.allclose(measured, modalities_left_rates(m, p), atol=0.01)
    independent = modality_mask(50_000, m, p, keep_one=False).sum(dim=1)
    assert abs((independent == 0).float().mean().item() - p ** m) < 0.01
    assert modalities_left_rates(m, p, keep_one=False)[0] == pytest.approx(p ** m)


def test_models_redraw_empty_rows_unless_told_not_to():
    torch.manual_seed(0)
    model = IntermediateFusion({"image": Features(4), "audio": Features(4)}, 2, modality_dropout=0.5).train()
    assert model.mask(5000, "cpu").sum(dim=1).min() == 1
    model = IntermediateFusion({"image": Features(4), "audio": Features(4)}, 2, modality_dropout=0.5,
                               keep_one=False).train()
    assert abs((model.mask(5000, "cpu").sum(dim=1) == 0).float().mean().item() - 0.25) < 0.03


def test_head_sizes_are_matched():
    fusion = head_parameters(384, 64, 3)
    assert fusion == 384 * 64 + 64 + 64 * 3 + 3 == sum(p.numel() for p in IntermediateFusion(
        {m: Features(128) for m in ("image", "text", "audio")}, 3, hidden=64).parameters())
    h = hidden_to_match(128, 3, fusion)
    assert head_parameters(128, h, 3) >= fusion > head_parameters(128, h - 1, 3)


def test_train_head_keeps_the_best_validation_epoch_and_accuracy_with_drops_inputs():
    torch.manual_seed(0)
    x = torch.randn(200, 4)
    y = (x[:, 0] > 0).long()
    data = DictDataset(image=x, spectrogram=torch.randn(200, 4), label=y)
    model = IntermediateFusion({"image": Features(4), "audio": Features(4)}, 2, hidden=8)
    history = train_head(model, data, data, epochs=6, lr=3e-2, seed=0, progress=False)
    assert history["val_metric"][history["best_epoch"] - 1] == max(history["val_metric"])
    loader = DataLoader(data, batch_size=100)
    assert accuracy_with(model, loader, ("image", "audio")) == pytest.approx(max(history["val_metric"]))
    assert accuracy_with(model, loader, ("audio",)) < accuracy_with(model, loader, ("image",))
