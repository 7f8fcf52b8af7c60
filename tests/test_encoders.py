"""Tests for cmkt_lib.encoders: output shapes, the plain-words input checks, gradients."""

import pytest
import torch

from cmkt_lib import Vocabulary
from cmkt_lib.encoders import (
    VOCAB_SIZE, AudioEncoder, BagOfWordsEncoder, Classifier, ImageEncoder, TextEncoder, WhatWhereImageEncoder,
    count_parameters,
)

B = 4


def images():
    return torch.rand(B, 3, 32, 32)


def tokens():
    return torch.as_tensor(Vocabulary().encode_batch(["a red circle", "a tiny navy box at the top left", "", "star"]))


def spectrograms():
    return torch.randn(B, 1, 32, 32)


CASES = [(ImageEncoder, images), (WhatWhereImageEncoder, images), (BagOfWordsEncoder, tokens), (TextEncoder, tokens),
         (AudioEncoder, spectrograms)]


@pytest.mark.parametrize("cls,make", CASES)
@pytest.mark.parametrize("out_dim", [16, 128])
def test_output_shape_and_out_dim(cls, make, out_dim):
    enc = cls(out_dim=out_dim)
    assert enc.out_dim == out_dim
    out = enc(make())
    assert out.shape == (B, out_dim)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("cls,make", CASES)
def test_encoders_are_small(cls, make):
    assert 5_000 < count_parameters(cls()) < 200_000


@pytest.mark.parametrize("cls,make", CASES)
def test_gradients_reach_every_parameter(cls, make):
    torch.manual_seed(0)
    model = Classifier(cls(out_dim=32), n_classes=3)
    loss = model(make()).logsumexp(dim=1).sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def test_bag_of_words_ignores_padding_and_order():
    enc = BagOfWordsEncoder(out_dim=8)
    a = torch.tensor([[5, 6, 7, 0, 0]])
    assert torch.allclose(enc(a), enc(torch.tensor([[7, 5, 6, 0, 0, 0, 0]])), atol=1e-6)


def test_text_encoder_reads_order_and_ignores_trailing_padding():
    torch.manual_seed(0)
    enc = TextEncoder(out_dim=8).eval()
    a, b = torch.tensor([[5, 6, 7, 0]]), torch.tensor([[7, 6, 5, 0]])
    assert not torch.allclose(enc(a), enc(b))
    assert torch.allclose(enc(a), enc(torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0]])), atol=1e-6)


def test_empty_caption_gives_finite_features():
    for cls in (BagOfWordsEncoder, TextEncoder):
        out = cls(out_dim=8)(torch.zeros(2, 16, dtype=torch.int64))
        assert torch.isfinite(out).all()


def test_missing_batch_dimension_is_explained():
    with pytest.raises(ValueError, match=r"add a batch dimension with x\[None\]"):
        ImageEncoder()(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match=r"tokens\[None\]"):
        TextEncoder()(torch.tensor([5, 6, 7]))
    with pytest.raises(ValueError, match=r"add a batch dimension"):
        AudioEncoder()(torch.randn(1, 32, 32))


def test_missing_channel_dimension_of_spectrograms_is_explained():
    with pytest.raises(ValueError, match=r"unsqueeze\(1\)"):
        AudioEncoder()(torch.randn(B, 32, 32))


@pytest.mark.parametrize("cls,bad", [
    (ImageEncoder, torch.rand(B, 32, 32, 3)),
    (ImageEncoder, torch.rand(B, 1, 32, 32)),
    (WhatWhereImageEncoder, torch.rand(B, 1, 32, 32)),
    (AudioEncoder, torch.randn(B, 1, 64, 32)),
])
def test_wrong_shape(cls, bad):
    with pytest.raises(ValueError, match=r"expects .* of shape \(B, \d, 32, 32\)"):
        cls()(bad)


def test_wrong_dtypes():
    with pytest.raises(TypeError, match=r"floating-point images.*x\.float\(\)"):
        ImageEncoder()(torch.zeros(B, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"integer token ids.*long\(\)"):
        TextEncoder()(torch.rand(B, 16))
    with pytest.raises(TypeError, match=r"integer token ids"):
        BagOfWordsEncoder()(torch.rand(B, 16))
    with pytest.raises(TypeError, match=r"torch\.as_tensor"):
        ImageEncoder()(images().numpy())


@pytest.mark.parametrize("cls, make", [(ImageEncoder, images), (WhatWhereImageEncoder, images),
                                       (AudioEncoder, spectrograms)])
def test_float64_input_is_explained(cls, make):
    # numpy arrays are float64: torch.as_tensor(world.images.astype(float)) used to fail deep in a
    # convolution with "expected scalar type Double but found Float"
    with pytest.raises(TypeError, match=r"dtype torch\.float32 like its weights, got torch\.float64.*x\.float\(\)"):
        cls()(make().double())
    assert cls()(make().double().float()).shape == (B, 128)  # the advised fix works


def test_token_ids_outside_vocabulary():
    with pytest.raises(ValueError, match=rf"knows {VOCAB_SIZE} token ids"):
        BagOfWordsEncoder()(torch.tensor([[VOCAB_SIZE + 3, 1]]))


def test_device_mismatch_is_explained():
    enc = ImageEncoder()
    meta = torch.empty(B, 3, 32, 32, device="meta")
    with pytest.raises(ValueError, match=r"are on meta but ImageEncoder's weights are on cpu.*\.to\("):
        enc(meta)
    tok = torch.zeros(B, 16, dtype=torch.int64, device="meta")
    with pytest.raises(ValueError, match=r"token ids are on meta"):
        TextEncoder()(tok)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="out_dim"):
        ImageEncoder(out_dim=0)
    with pytest.raises(ValueError, match="n_classes must be >= 2, got 1"):
        Classifier(ImageEncoder(), 1)
    with pytest.raises(TypeError, match="out_dim must be a whole number"):
        ImageEncoder(out_dim=2.0)
    with pytest.raises(TypeError, match="out_dim attribute"):
        Classifier(torch.nn.Linear(3, 3), 3)
    with pytest.raises(TypeError, match="nn.Module"):
        count_parameters("model")


def test_count_parameters_counts_trainable():
    enc = BagOfWordsEncoder(out_dim=8, embed_dim=4)
    assert count_parameters(enc) == VOCAB_SIZE * 4 + 4 * 8 + 8
    enc.embedding.weight.requires_grad_(False)
    assert count_parameters(enc) == 4 * 8 + 8
    assert count_parameters(enc, trainable_only=False) == VOCAB_SIZE * 4 + 4 * 8 + 8

