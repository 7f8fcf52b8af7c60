import pytest
import torch

from cmkt_lib.captions import Vocabulary
from cmkt_lib.decoder import CaptionDecoder, beam_search, caption_loss, greedy_decode

VOCAB = Vocabulary()
CAPTIONS = ["a small red circle at the top left", "a large blue square at the bottom right",
            "a medium green star at the centre", "a tiny violet wedge at the upper right"]


def make(embed_dim=8, seed=0, **kwargs):
    torch.manual_seed(seed)
    return CaptionDecoder(embed_dim, **kwargs)


def tiny_batch():
    torch.manual_seed(1)
    tokens = torch.from_numpy(VOCAB.encode_batch(CAPTIONS, max_len=12, add_special=True))
    return torch.randn(len(CAPTIONS), 8), tokens


def test_shapes_of_teacher_forcing_greedy_and_beam():
    decoder = make()
    z, tokens = tiny_batch()
    logits = decoder(z, tokens)
    assert logits.shape == (4, 11, len(VOCAB))
    assert greedy_decode(decoder, z, max_len=10).shape == (4, 10)
    ids, log_probs = greedy_decode(decoder, z, max_len=10, return_log_probs=True)
    assert log_probs.shape == (4, 10, len(VOCAB))
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(4, 10), atol=1e-5)
    ids, scores = beam_search(decoder, z, beam_width=3, max_len=10)
    assert ids.shape == (4, 3, 10) and scores.shape == (4, 3)
    ids, scores, history = beam_search(decoder, z, beam_width=3, max_len=10, return_history=True)
    assert len(history) == 10 and history[0][0].shape == (4, 3, 1) and history[-1][0].shape == (4, 3, 10)


def test_teacher_forcing_loss_decreases_and_the_decoder_learns_the_captions():
    decoder = make(hidden=32)
    z, tokens = tiny_batch()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=2e-2)
    losses = []
    for _ in range(60):
        loss = caption_loss(decoder(z, tokens), tokens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    decoded = [VOCAB.decode(ids) for ids in greedy_decode(decoder, z, max_len=12)]
    assert decoded == CAPTIONS


def test_caption_loss_ignores_padding():
    decoder = make()
    z, tokens = tiny_batch()
    logits = decoder(z, tokens)
    changed = logits.clone()
    pad_positions = tokens[:, 1:] == VOCAB.pad_id
    assert pad_positions.any()
    changed[pad_positions] = torch.randn(int(pad_positions.sum()), len(VOCAB)) * 10
    assert torch.isclose(caption_loss(logits, tokens), caption_loss(changed, tokens))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_width_one_equals_greedy_exactly(seed):
    decoder = make(seed=seed)
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(seed))
    greedy = greedy_decode(decoder, z, max_len=12)
    ids, scores = beam_search(decoder, z, beam_width=1, max_len=12)
    assert torch.equal(ids[:, 0], greedy)


def test_beam_scores_are_sorted_and_are_the_log_probability_of_each_beam():
    decoder = make(seed=3)
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    ids, scores = beam_search(decoder, z, beam_width=4, max_len=8)
    assert torch.all(scores[:, :-1] >= scores[:, 1:])
    # recompute each beam's score by teacher forcing its own tokens
    for b in range(5):
        for k in range(4):
            seq = ids[b, k].tolist()
            if VOCAB.eos_id in seq:
                seq = seq[: seq.index(VOCAB.eos_id) + 1]
            tokens = torch.tensor([[VOCAB.bos_id] + seq])
            log_probs = decoder(z[b:b + 1], tokens).log_softmax(-1)[0]
            total = log_probs.gather(1, tokens[0, 1:, None]).sum()
            assert torch.isclose(total, scores[b, k], atol=1e-4)
    assert not torch.equal(ids[:, 0], ids[:, 1])  # the beams are different captions


def test_bad_embeddings_get_plain_words_errors():
    decoder = make()
    with pytest.raises(ValueError, match="empty"):
        greedy_decode(decoder, torch.zeros(0, 8))
    with pytest.raises(ValueError, match="empty"):
        beam_search(decoder, torch.zeros(0, 8), beam_width=2)
    with pytest.raises(ValueError, match=r"add a batch dimension with z\[None\]"):
        greedy_decode(decoder, torch.zeros(8))
    with pytest.raises(ValueError, match=r"shape \(B, 8\)"):
        beam_search(decoder, torch.zeros(2, 5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        greedy_decode(decoder, [[0.0] * 8])
    with pytest.raises(TypeError, match="floating point"):
        greedy_decode(decoder, torch.zeros(2, 8, dtype=torch.long))


def test_over_long_or_bad_max_len_and_bad_beam_width():
    decoder = make(max_len=12)
    z = torch.randn(2, 8)
    with pytest.raises(ValueError, match="longer than this decoder supports"):
        greedy_decode(decoder, z, max_len=13)
    with pytest.raises(ValueError, match="longer than this decoder supports"):
        beam_search(decoder, z, beam_width=2, max_len=40)
    with pytest.raises(ValueError, match="max_len must be >= 1, got 0; it is the most tokens to generate"):
        greedy_decode(decoder, z, max_len=0)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="beam_width must be >= 1"):
            beam_search(decoder, z, beam_width=bad)
    for bad in (2.5, True):  # a wrong type is a TypeError, as in scikit-learn
        with pytest.raises(TypeError, match="beam_width must be a whole number"):
            beam_search(decoder, z, beam_width=bad)
    with pytest.raises(ValueError, match="more than the"):
        beam_search(decoder, z, beam_width=len(VOCAB) + 1, max_len=12)


def test_bad_teacher_forcing_inputs():
    decoder = make(max_len=12)
    z, tokens = tiny_batch()
    with pytest.raises(ValueError, match="add_special=True"):
        decoder(z, torch.from_numpy(VOCAB.encode_batch(CAPTIONS, max_len=12)))
    with pytest.raises(ValueError, match="one caption per embedding"):
        decoder(z[:2], tokens)
    long_tokens = torch.from_numpy(VOCAB.encode_batch(CAPTIONS, max_len=16, add_special=True))
    with pytest.raises(ValueError, match="between 2 and 12"):
        decoder(z, long_tokens)
    with pytest.raises(ValueError, match=r"\(B, L - 1, V\)"):
        caption_loss(torch.zeros(4, 5, len(VOCAB)), tokens)
    with pytest.raises(ValueError, match="embed_dim must be >= 1, got 0"):
        CaptionDecoder(0)
    with pytest.raises(TypeError, match="hidden must be a whole number"):
        CaptionDecoder(8, hidden=1.5)
