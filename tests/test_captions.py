import numpy as np
import pytest

from cmkt_lib.captions import (
    COLOUR_WORDS, FULL_TEMPLATES, POSITION_WORDS, SHAPE_WORDS, SIZE_WORDS, Vocabulary,
    caption_words, tokenize, write_captions,
)


def _captions(style, n=400, seed=0):
    rng = np.random.default_rng(seed)
    attrs = [rng.integers(k, size=n) for k in (6, 6, 3, 9)]
    return write_captions(*attrs, rng=np.random.default_rng(seed), style=style), attrs


def test_full_captions_name_every_attribute():
    captions, (shape, colour, size, position) = _captions("full")
    from cmkt_lib.attributes import COLOURS, POSITIONS, SHAPES, SIZES
    for i, c in enumerate(captions):
        assert any(w in c for w in COLOUR_WORDS[COLOURS[colour[i]]])
        assert any(w in c for w in SHAPE_WORDS[SHAPES[shape[i]]])
        assert any(w in c for w in SIZE_WORDS[SIZES[size[i]]])
        assert any(w in c for w in POSITION_WORDS[POSITIONS[position[i]]])


def test_varied_captions_mix_templates_synonyms_and_partial_descriptions():
    captions, _ = _captions("varied")
    full_words = {"small", "tiny", "medium", "mid-sized", "large", "big"}
    partial = [c for c in captions if not full_words & set(tokenize(c))]
    assert 0.1 < len(partial) / len(captions) < 0.5
    assert any("crimson" in c for c in captions) and any("red" in c for c in captions)
    assert len({c.split()[0] for c in captions}) > 5  # varied word order


def test_tokenize_and_vocabulary_round_trip():
    vocab = Vocabulary()
    text = "A mid-sized crimson disc, at the upper left!"
    assert tokenize(text) == ["a", "mid-sized", "crimson", "disc", "at", "the", "upper", "left"]
    ids = vocab.encode(text, max_len=12)
    assert ids.dtype == np.int64 and ids.shape == (12,) and (ids[8:] == vocab.pad_id).all()
    assert vocab.decode(ids) == " ".join(tokenize(text))
    assert vocab.unk_id not in ids


def test_every_caption_word_is_in_the_vocabulary():
    captions, _ = _captions("varied", n=1000)
    vocab = Vocabulary()
    for c in captions:
        assert vocab.unk_id not in vocab.encode(c, max_len=20)
    assert set(caption_words()) <= set(vocab.itos)


def test_unseen_words_become_unk():
    vocab = Vocabulary()
    ids = vocab.encode("a scarlet ring", max_len=4)
    assert ids.tolist() == [vocab.stoi["a"], vocab.unk_id, vocab.unk_id, vocab.pad_id]


def test_special_tokens_and_decode_stops_at_eos():
    vocab = Vocabulary()
    ids = vocab.encode("red star", max_len=6, add_special=True)
    assert ids[0] == vocab.bos_id and vocab.eos_id in ids
    assert vocab.decode(ids) == "red star"


def test_full_templates_use_every_slot():
    for t in FULL_TEMPLATES:
        assert all(slot in t for slot in ("{s}", "{c}", "{h}", "{p}"))


def test_bad_inputs():
    vocab = Vocabulary()
    with pytest.raises(TypeError, match="expects a string"):
        tokenize(3)
    with pytest.raises(ValueError, match="max_len"):
        vocab.encode("red", max_len=0)
    with pytest.raises(TypeError, match="list of strings"):
        vocab.encode_batch("red star")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([len(vocab) + 3])
    with pytest.raises(ValueError, match="caption style"):
        write_captions([0], [0], [0], [0], np.random.default_rng(0), style="poetic")


def test_an_before_a_vowel():
    captions, _ = _captions("varied", n=600)
    assert not any(" a a" in f" {c}" or " a o" in f" {c}" or " a e" in f" {c}" for c in captions)
    assert any(c.startswith("an ") for c in captions)
