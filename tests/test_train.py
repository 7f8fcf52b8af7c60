"""Tests for cmkt_lib.train: the shared training loop and its helpers."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from cmkt_lib import WorldDataset, make_world
from cmkt_lib.encoders import BagOfWordsEncoder, Classifier, ImageEncoder
from cmkt_lib.train import evaluate_accuracy, logit_accuracy, extract_features, fit, predict


@pytest.fixture(scope="module")
def world():
    return make_world(400, seed=3, caption_style="full")


def loaders(world, target="colour", modalities=("text",), batch_size=32):
    train = WorldDataset(world, "train", target=target, modalities=modalities)
    val = WorldDataset(world, "val", target=target, modalities=modalities)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)),
            DataLoader(val, batch_size=64))


def text_model(seed=0, n_classes=6):
    torch.manual_seed(seed)
    return Classifier(BagOfWordsEncoder(out_dim=32), n_classes)


def test_training_lowers_the_loss_and_beats_chance(world):
    train, val = loaders(world)
    model = text_model()
    history = fit(model, train, epochs=8, lr=1e-2, inputs=("tokens",), val_loader=val, metric="accuracy",
                  progress=False)
    assert len(history["train_loss"]) == 8 == history["epochs_run"]
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history["val_metric"][-1] > 3 / 6  # chance is 1/6
    assert evaluate_accuracy(model, val, inputs=("tokens",)) == pytest.approx(history["val_metric"][-1])
    assert not model.training


def test_image_classifier_learns_colour(world):
    train, val = loaders(world, modalities=("image",))
    torch.manual_seed(0)
    model = Classifier(ImageEncoder(out_dim=32, width=8), 6)
    fit(model, train, epochs=4, lr=1e-2, progress=False)
    assert evaluate_accuracy(model, val) > 2 / 6


def test_fit_equals_a_bare_pytorch_loop(world):
    """One epoch through fit changes the weights exactly as the same steps written by hand."""
    data = WorldDataset(world, "train", target="colour", modalities=("text",))
    model_a = text_model(seed=1)
    model_b = copy.deepcopy(model_a)
    fit(model_a, DataLoader(data, batch_size=32), epochs=1, lr=1e-2, inputs=("tokens",), progress=False)
    opt = torch.optim.Adam(model_b.parameters(), lr=1e-2)
    model_b.train()
    for batch in DataLoader(data, batch_size=32):
        loss = F.cross_entropy(model_b(batch["tokens"]), batch["label"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name


def test_early_stopping_restores_the_best_weights(world):
    train, val = loaders(world)
    model = text_model()
    scores = [0.5, 0.9, 0.6, 0.4, 0.95]
    snapshots = []

    def scripted_metric(outputs, targets):  # pretend validation scores, and remember the weights
        snapshots.append(copy.deepcopy(model.state_dict()))
        return scores[len(snapshots) - 1]

    history = fit(model, train, epochs=5, lr=1e-2, inputs=("tokens",), val_loader=val, metric=scripted_metric,
                  patience=2, progress=False)
    assert history["epochs_run"] == 4 and history["best_epoch"] == 2
    assert history["val_metric"] == scores[:4]
    for name, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][name]), name
    assert not torch.equal(model.state_dict()["head.weight"], snapshots[3]["head.weight"])


def test_early_stopping_on_validation_loss_without_metric(world):
    train, val = loaders(world)
    history = fit(text_model(), train, epochs=3, lr=1e-2, inputs=("tokens",), val_loader=val, patience=5,
                  progress=False)
    assert len(history["val_loss"]) == 3 and history["val_metric"] == [None] * 3
    assert history["best_epoch"] == int(np.argmin(history["val_loss"])) + 1


def test_loss_without_target(world):
    """target=None calls loss_fn(outputs) alone, for losses that need no labels."""
    train, _ = loaders(world)
    model = text_model()
    history = fit(model, train, lambda out: out.pow(2).mean(), epochs=2, lr=1e-2, inputs=("tokens",),
                  target=None, progress=False)
    assert history["train_loss"][1] < history["train_loss"][0]


def test_predict_and_features(world):
    _, val = loaders(world)
    model = text_model()
    logits = predict(model, val, inputs=("tokens",))
    assert logits.shape == (len(world.indices("val")), 6)
    feats, labels = extract_features(model.encoder, val, inputs="tokens")
    assert feats.shape == (len(labels), 32) and feats.dtype == np.float32
    assert np.array_equal(labels, world.labels("colour")[world.indices("val")])
    feats2, none = extract_features(model.encoder, val, inputs="tokens", target=None)
    assert none is None and np.allclose(feats, feats2)


def test_accuracy():
    assert logit_accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_accuracy_in_the_wrong_order_is_refused():
    logits, targets = torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"logits \(N, C\) first.*look swapped.*evaluation\.accuracy"):
        logit_accuracy(targets, logits)
    with pytest.raises(ValueError, match=r"logits \(N, C\) first"):  # evaluation's order: labels, predictions
        logit_accuracy(targets, torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"targets must be class ids \(N,\)"):
        logit_accuracy(logits, torch.tensor([0, 1, 1]))
    with pytest.raises(TypeError, match=r"evaluation\.accuracy"):
        logit_accuracy(logits.numpy(), targets.numpy())


def test_loss_class_instead_of_instance(world):
    train, _ = loaders(world)
    with pytest.raises(TypeError, match=r"the class CrossEntropyLoss, not a loss.*CrossEntropyLoss\(\)"):
        fit(text_model(), train, torch.nn.CrossEntropyLoss, epochs=1, inputs=("tokens",), progress=False)


def test_labels_out_of_range_for_the_model(world):
    train, val = loaders(world, target="colour")  # 6 colours
    with pytest.raises(ValueError, match=r"train_loader: the labels go from 0 to 5, but the model outputs 3 "
                                         r"logits.*n_classes=6"):
        fit(text_model(n_classes=3), train, epochs=1, inputs=("tokens",), progress=False)
    with pytest.raises(ValueError, match=r"train_loader: the labels go from 0 to 5.*3 logits"):
        fit(text_model(n_classes=3), train, torch.nn.CrossEntropyLoss(), epochs=1, inputs=("tokens",), progress=False)
    with pytest.raises(ValueError, match=r"evaluate_accuracy: the labels go from 0 to 5.*3 logits"):
        evaluate_accuracy(text_model(n_classes=3), val, inputs=("tokens",))
    # a custom loss may use integer targets for something else (here: 3-D embeddings grouped by
    # 6 labels); it is not second-guessed
    grouped = lambda z, y: (z - F.one_hot(y, 6)[:, :3].float()).pow(2).mean()  # noqa: E731
    fit(text_model(n_classes=3), train, grouped, epochs=1, inputs=("tokens",), progress=False)


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), r"epochs must be >= 1, got 0; it is the number of passes over the data"),
    (dict(epochs=1, lr=0), r"lr must be > 0, got 0; the learning rate, such as 1e-3"),
    (dict(epochs=1, lr=-1e-3), r"lr must be > 0"),
    (dict(epochs=1, lr=float("nan")), r"lr must be a finite number"),
    (dict(epochs=1, patience=2), r"pass val_loader too"),
    (dict(epochs=1, patience=0), r"patience must be >= 1, got 0; .* or None"),
    (dict(epochs=1, metric="f1"), r"metric must be None"),
    (dict(epochs=1, metric="accuracy"), r"pass val_loader too"),
    (dict(epochs=1, weight_decay=-1), r"weight_decay"),
    (dict(epochs=1, inputs=()), r"inputs names the batch keys"),
])
def test_bad_arguments(world, kwargs, match):
    train, _ = loaders(world)
    kwargs = {"inputs": ("tokens",), **kwargs}
    with pytest.raises(ValueError, match=match):
        fit(text_model(), train, progress=False, **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=2.5), r"epochs must be a whole number, got 2.5"),
    (dict(epochs=True), r"epochs must be a whole number, got True"),
    (dict(epochs=1, lr="1e-3"), r"lr must be a number"),
    (dict(epochs=1, weight_decay=None), r"weight_decay must be a number"),
    (dict(epochs=1, patience=1.5), r"patience must be a whole number"),
])
def test_arguments_of_the_wrong_type(world, kwargs, match):
    """A wrong type is a TypeError, as in scikit-learn."""
    train, _ = loaders(world)
    kwargs = {"inputs": ("tokens",), **kwargs}
    with pytest.raises(TypeError, match=match):
        fit(text_model(), train, progress=False, **kwargs)


def test_empty_loader(world):
    empty = WorldDataset(world, np.array([], dtype=np.int64), target="colour", modalities=("text",))
    with pytest.raises(ValueError, match=r"train_loader is empty \(0 batches\)"):
        fit(text_model(), DataLoader(empty, batch_size=8), epochs=1, inputs=("tokens",), progress=False)


def test_dataset_instead_of_loader(world):
    data = WorldDataset(world, "train", target="colour", modalities=("text",))
    with pytest.raises(TypeError, match=r"wrap it in a loader"):
        fit(text_model(), data, epochs=1, inputs=("tokens",), progress=False)


def test_missing_batch_key_is_explained(world):
    train, _ = loaders(world, modalities=("image",))
    with pytest.raises(ValueError, match=r"\['tokens'\] were asked for .*'text' in modalities"):
        fit(text_model(), train, epochs=1, inputs=("tokens",), progress=False)
    unlabelled = DataLoader(WorldDataset(world, "train", modalities=("text",)), batch_size=32)
    with pytest.raises(ValueError, match=r"target='concept'"):
        fit(text_model(), unlabelled, epochs=1, inputs=("tokens",), progress=False)


def test_diverging_loss_is_reported(world):
    train, _ = loaders(world)
    with pytest.raises(FloatingPointError, match=r"lower the learning rate"):
        fit(text_model(), train, lambda out, y: out.sum() * float("nan"), epochs=1, inputs=("tokens",),
            progress=False)


def test_optimizer_missing_parameters_warns(world):
    train, _ = loaders(world)
    model = text_model()
    opt = torch.optim.SGD(model.encoder.parameters(), lr=0.1)
    head_before = model.head.weight.detach().clone()
    with pytest.warns(UserWarning, match=r"does not hold 2 of the model's trainable parameters"):
        fit(model, train, epochs=1, optimizer=opt, inputs=("tokens",), progress=False)
    assert torch.equal(model.head.weight, head_before)


def test_not_a_model():
    with pytest.raises(TypeError, match="nn.Module"):
        fit(lambda x: x, [], epochs=1)
