"""The shared space of notebooks 04 and 05: shapes, masks, the training loop's bookkeeping and its
input checks, on a tiny world."""

import numpy as np
import pytest
import torch

from cmkt_lib import Vocabulary, make_world
from cmkt_lib.space import (embed_all, encoder_features, evaluate_pair, make_space, pair_mask, space_data, train_heads,
                            train_shared_space)


@pytest.fixture(scope="module")
def tiny():
    world = make_world(200, seed=5, caption_style="full")
    vocab = Vocabulary()
    inputs, keys = space_data(world, vocab)
    return world, vocab, inputs, keys


def test_space_data_has_one_row_per_object_and_sounds_have_no_position(tiny):
    world, _, inputs, keys = tiny
    assert inputs["image"].shape == (200, 3, 32, 32) and inputs["sound"].shape == (200, 1, 32, 32)
    assert inputs["text"].shape[0] == 200 and inputs["text"].dtype == torch.int64
    assert keys["image"].shape == keys["text"].shape == (200, 4) and keys["sound"].shape == (200, 3)
    assert np.array_equal(keys["image"][:, 0], world.labels("shape"))


def test_embeddings_are_unit_vectors_of_the_space_dimension(tiny):
    _, vocab, inputs, _ = tiny
    torch.manual_seed(0)
    model = make_space(("image", "text", "sound"), len(vocab), width=4, dim=16)
    for m in ("image", "text", "sound"):
        z = embed_all(model, m, inputs, np.arange(10))
        assert z.shape == (10, 16)
        assert torch.allclose(z.norm(dim=1), torch.ones(10), atol=1e-5)


def test_pair_mask_compares_only_the_columns_both_modalities_have():
    image = np.array([[0, 1, 2, 3], [0, 1, 2, 4]])
    sound = np.array([[0, 1, 2], [5, 1, 2]])
    assert pair_mask(image, sound).tolist() == [[True, False], [True, False]]
    assert pair_mask(image, image).tolist() == [[True, False], [False, True]]


def test_training_logs_every_step_and_keeps_the_temperature_clamped(tiny):
    _, vocab, inputs, keys = tiny
    torch.manual_seed(0)
    model = make_space(("image", "text"), len(vocab), width=4, dim=16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scales, log = train_shared_space(model, inputs, keys, [("image", "text")], np.arange(160),
                                     epochs=2, batch=32, lr=1e-2, seed=0)
    assert len(log["loss"]) == len(log["temperature"]) == 2 * 5
    assert all(np.isfinite(log["loss"]))
    assert 0.01 - 1e-6 <= scales["image-text"].temperature <= 1.0
    assert scales["image-text"].temperature != pytest.approx(0.07), "a learnable temperature moves"
    assert not model.training, "the trained model is left in eval mode"
    moved = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert any(k.startswith("projections.image") for k in moved) and any(k.startswith("encoders.text") for k in moved)


def test_a_fixed_temperature_stays_fixed_and_triplet_trains(tiny):
    _, vocab, inputs, keys = tiny
    model = make_space(("image", "sound"), len(vocab), width=4, dim=8)
    scales, log = train_shared_space(model, inputs, keys, [("image", "sound")], np.arange(64),
                                     epochs=1, batch=32, temperature=0.3, loss="triplet")
    assert scales["image-sound"].temperature == pytest.approx(0.3) and len(log["loss"]) == 2


def test_evaluate_pair_reports_both_directions_and_diagnostics(tiny):
    _, vocab, inputs, keys = tiny
    model = make_space(("text", "sound"), len(vocab), width=4, dim=8)
    report = evaluate_pair(model, inputs, keys, "text", "sound", np.arange(50), ks=(1, 5))
    assert {"t2s_R@1", "s2t_R@5", "t2s_MedR", "modality_gap", "alignment", "uniformity"} <= set(report)
    assert report["gallery_size"] == 50 and 0 <= report["t2s_R@1"] <= report["t2s_R@5"] <= 1


@pytest.mark.parametrize("call, message", [
    (lambda m, i, k: train_shared_space(m, i, k, [("image", "text")], np.arange(10), epochs=1, batch=32),
     "10 training items make no batch of 32"),
    (lambda m, i, k: train_shared_space(m, i, k, [("image", "text")], np.arange(64), epochs=1, loss="vse"),
     "loss must be 'info_nce' or 'triplet'"),
    (lambda m, i, k: m.embed("sound", i["sound"][:2]), "this space has no 'sound' encoder"),
    (lambda m, i, k: make_space(("image", "smell"), 10), "unknown modalities"),
])
def test_bad_input_gets_a_plain_words_error(tiny, call, message):
    _, vocab, inputs, keys = tiny
    model = make_space(("image", "text"), len(vocab), width=4, dim=8)
    with pytest.raises((ValueError, KeyError), match=message):
        call(model, inputs, keys)


def test_validation_items_add_one_point_per_epoch_to_each_learning_curve(tiny):
    _, vocab, inputs, keys = tiny
    torch.manual_seed(0)
    model = make_space(("image", "text"), len(vocab), width=4, dim=16)
    _, log = train_shared_space(model, inputs, keys, [("image", "text")], np.arange(128),
                                epochs=3, batch=32, lr=1e-2, seed=0, val_items=np.arange(128, 192))
    assert len(log["epoch_train_loss"]) == len(log["epoch_val_loss"]) == len(log["epoch_val_R@1"]) == 3
    assert log["epoch_train_loss"][0] == pytest.approx(np.mean(log["loss"][:4]))
    assert all(np.isfinite(log["epoch_val_loss"])) and all(0 <= r <= 1 for r in log["epoch_val_R@1"])
    assert not model.training


def heads_data(tiny, model):
    _, _, inputs, keys = tiny
    splits = {"train": np.arange(150), "val": np.arange(150, 200)}
    features = {s: {m: encoder_features(model, m, inputs, idx) for m in ("image", "text")} for s, idx in splits.items()}
    head_keys = {s: {m: keys[m][idx] for m in ("image", "text")} for s, idx in splits.items()}
    return features, head_keys


def test_train_heads_reports_every_split_but_train_and_keeps_a_fixed_temperature(tiny):
    _, vocab, _, _ = tiny
    torch.manual_seed(0)
    model = make_space(("image", "text"), len(vocab), width=4, dim=16)
    features, head_keys = heads_data(tiny, model)
    assert features["train"]["image"].shape == (150, 128)
    out = train_heads(features, head_keys, temperature=0.3, epochs=2, batch=32, dim=8, seed=1)
    assert set(out) == {"temperature", "val"} and out["temperature"] == pytest.approx(0.3)
    assert set(out["val"]) == {"R@1", "R@5", "modality_gap", "alignment", "uniformity"}
    assert 0 <= out["val"]["R@1"] <= out["val"]["R@5"] <= 1
    again = train_heads(features, head_keys, temperature=0.3, epochs=2, batch=32, dim=8, seed=1)
    assert again == out, "the same seed gives the same run"
    triplet = train_heads(features, head_keys, loss="triplet", epochs=1, batch=32, dim=8)
    assert np.isnan(triplet["temperature"])
    shuffled = train_heads(features, head_keys, temperature=0.3, epochs=2, batch=32, dim=8, seed=1, shuffle_pairs=True)
    assert shuffled["val"] != out["val"]
    with pytest.raises(ValueError, match="loss must be"):
        train_heads(features, head_keys, loss="vse")
