"""Small encoders, one per modality: each turns a batch of one modality into feature vectors.

    ImageEncoder       images      float32 (B, 3, 32, 32)  -> (B, out_dim)
    BagOfWordsEncoder  token ids   int64   (B, L)          -> (B, out_dim)   word order ignored
    TextEncoder        token ids   int64   (B, L)          -> (B, out_dim)   a GRU reads in order
    AudioEncoder       log-mels    float32 (B, 1, 32, 32)  -> (B, out_dim)

Features are NOT normalised: a classifier puts a linear head on them, a shared-embedding model
projects them and L2-normalises them itself. Every encoder checks its input and says in plain
words what is wrong (shape, dtype, device) and how to fix it. All are small enough to train
in seconds on a laptop CPU."""

import torch
from torch import nn

from ._validate import check_scalar
from .captions import Vocabulary

VOCAB_SIZE = len(Vocabulary())  # the course's closed caption vocabulary (pad id 0)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters in `module`."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"count_parameters expects a torch nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _check_out_dim(out_dim) -> int:
    return check_scalar(out_dim, "out_dim", int, min_val=1, hint="it is the length of each feature vector")


def _check_device(module: nn.Module, x: torch.Tensor, name: str) -> None:
    weight = next(module.parameters())
    if x.device != weight.device:
        raise ValueError(
            f"{name} are on {x.device} but {type(module).__name__}'s weights are on {weight.device}: "
            f"move one to the other, e.g. x = x.to({str(weight.device)!r}) or model.to(x.device)"
        )


def _check_grid(module: nn.Module, x, channels: int, what: str, hint: str) -> None:
    """Checks a float batch of shape (B, channels, 32, 32)."""
    name = type(module).__name__
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor of {what}, got {type(x).__name__}; use torch.as_tensor(x)")
    want = f"(B, {channels}, 32, 32)"
    if x.ndim == 3 and tuple(x.shape) == (channels, 32, 32):
        raise ValueError(f"{name} expects a batch of {what} {want}, got one item of shape {tuple(x.shape)}: "
                         "add a batch dimension with x[None]")
    if x.ndim == 3 and channels == 1 and tuple(x.shape[1:]) == (32, 32):
        raise ValueError(f"{name} expects {what} of shape {want}, got {tuple(x.shape)}: "
                         "add the channel dimension with x.unsqueeze(1)")
    if x.ndim != 4 or tuple(x.shape[1:]) != (channels, 32, 32):
        raise ValueError(f"{name} expects {what} of shape {want}, got {tuple(x.shape)}. {hint}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} expects floating-point {what}, got {x.dtype}: convert with x.float()")
    weight = next(module.parameters())
    if x.dtype != weight.dtype:
        raise TypeError(f"{name} expects {what} of dtype {weight.dtype} like its weights, got {x.dtype} "
                        f"(numpy arrays are float64 by default): convert with x.float(), or "
                        f"torch.as_tensor(array, dtype=torch.float32)")
    _check_device(module, x, what)


def _check_tokens(module: nn.Module, tokens) -> None:
    name = type(module).__name__
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor of token ids, got {type(tokens).__name__}; "
                        "encode captions with Vocabulary().encode_batch and torch.as_tensor")
    if tokens.ndim == 1:
        raise ValueError(f"{name} expects a batch of token ids (B, L), got one sequence of shape "
                         f"{tuple(tokens.shape)}: add a batch dimension with tokens[None]")
    if tokens.ndim != 2:
        raise ValueError(f"{name} expects token ids of shape (B, L), got {tuple(tokens.shape)}")
    if torch.is_floating_point(tokens) or tokens.dtype == torch.bool:
        raise TypeError(f"{name} expects integer token ids (torch.int64), got {tokens.dtype}: "
                        "token ids index a table of embeddings, so use tokens.long() on ids, not on features")
    _check_device(module, tokens, "token ids")
    vocab_size = module.embedding.num_embeddings
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size):
        raise ValueError(f"{name} knows {vocab_size} token ids (0..{vocab_size - 1}), got ids in "
                         f"[{int(tokens.min())}, {int(tokens.max())}]: encode with the same Vocabulary "
                         "the encoder was built for (vocab_size=len(vocab))")


def _conv_block(c_in: int, c_out: int, pool: bool = True) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU, then (if pool) halve the height and width."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        *([nn.MaxPool2d(2)] if pool else []),
    )


class ImageEncoder(nn.Module):
    """A small CNN: images float32 `(B, 3, 32, 32)` in [0, 1] -> features `(B, out_dim)`.

    A strided 5x5 convolution (32 -> 16 pixels), a conv block (-> 8 pixels), a third
    convolution, then the maximum and the mean of each channel over the whole picture. This
    global pooling makes *what* is drawn easy to learn wherever it is drawn."""

    def __init__(self, out_dim: int = 128, width: int = 16):
        super().__init__()
        self.out_dim = _check_out_dim(out_dim)
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            _conv_block(width, 2 * width),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1, bias=False), nn.BatchNorm2d(4 * width), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Linear(8 * width, out_dim), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _check_grid(self, images, 3, "images", "Images from a World are (n, 3, 32, 32); a batch from "
                    "WorldDataset is batch['image'].")
        h = self.features(images)                                        # (B, 4w, 8, 8)
        return self.head(torch.cat([h.amax(dim=(2, 3)), h.mean(dim=(2, 3))], dim=1))


class WhatWhereImageEncoder(nn.Module):
    """A CNN that keeps *where* as well as *what*: images `(B, 3, 32, 32)` in [0, 1] -> `(B, out_dim)`.

    The background (each channel's median) is subtracted and a colour-free silhouette channel
    added; after three conv blocks (32 -> 16 -> 8 pixels) the map is max-pooled over the whole
    picture (what, wherever it is) and average-pooled into a 3x3 grid (where: one slot per cell of
    the world's position grid). Global pooling alone, as in ImageEncoder, would throw position away."""

    def __init__(self, out_dim: int = 128, width: int = 16):
        super().__init__()
        self.out_dim = _check_out_dim(out_dim)
        self.trunk = nn.Sequential(_conv_block(4, width), _conv_block(width, 2 * width),
                                   _conv_block(2 * width, 4 * width, pool=False))
        self.head = nn.Sequential(nn.Linear(4 * width * (1 + 9), out_dim), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        _check_grid(self, images, 3, "images", "Images from a World are (n, 3, 32, 32); a batch from "
                    "WorldDataset is batch['image'].")
        background = images.flatten(2).median(dim=2).values[:, :, None, None]
        obj = images - background                                        # the object, background removed
        x = torch.cat([obj, obj.norm(dim=1, keepdim=True)], dim=1)       # + a colour-free silhouette
        fmap = self.trunk(x)                                             # (B, 4w, 8, 8)
        what = fmap.amax(dim=(2, 3))                                     # (B, 4w): anywhere in the image
        where = nn.functional.adaptive_avg_pool2d(fmap, 3).flatten(1)    # (B, 36w): one slot per grid cell
        return self.head(torch.cat([what, where], dim=1))


class AudioEncoder(nn.Module):
    """A small CNN on log-mel spectrograms float32 `(B, 1, 32, 32)` (mel bins x frames)
    -> features `(B, out_dim)`.

    A batch norm puts the log-mel values (about -10 to 8) on a unit scale; after three
    convolutions the map is averaged over time but NOT over frequency, because the pitch
    (which mel bins light up) carries the colour."""

    def __init__(self, out_dim: int = 128, width: int = 16):
        super().__init__()
        self.out_dim = _check_out_dim(out_dim)
        self.features = nn.Sequential(
            nn.BatchNorm2d(1),
            nn.Conv2d(1, width, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            _conv_block(width, 2 * width),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Linear(2 * width * 8, out_dim), nn.ReLU())

    def forward(self, spectrograms: torch.Tensor) -> torch.Tensor:
        _check_grid(self, spectrograms, 1, "spectrograms", "World.spectrograms are (n, 32, 32); "
                    "a batch from WorldDataset is batch['spectrogram'].")
        h = self.features(spectrograms)                                  # (B, 2w, 8 mel, 8 frames)
        return self.head(h.mean(dim=3).flatten(1))


class BagOfWordsEncoder(nn.Module):
    """The baseline text encoder: the mean of the word embeddings, word order ignored.

    token ids int64 `(B, L)` (pad id 0 is left out of the mean) -> features `(B, out_dim)`."""

    def __init__(self, out_dim: int = 128, vocab_size: int = VOCAB_SIZE, embed_dim: int = 64, pad_id: int = 0):
        super().__init__()
        self.out_dim = _check_out_dim(out_dim)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.head = nn.Sequential(nn.Linear(embed_dim, out_dim), nn.ReLU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _check_tokens(self, tokens)
        keep = (tokens != self.pad_id).unsqueeze(-1).float()            # (B, L, 1)
        summed = (self.embedding(tokens) * keep).sum(dim=1)              # (B, E)
        mean = summed / keep.sum(dim=1).clamp(min=1.0)                   # an empty caption gives zeros
        return self.head(mean)


class TextEncoder(nn.Module):
    """A recurrent text encoder: a bidirectional GRU reads the words in order.

    token ids int64 `(B, L)`, padded with pad id 0 at the end -> features `(B, out_dim)`: the
    GRU's last states in both directions, taken at each caption's own length."""

    def __init__(self, out_dim: int = 128, vocab_size: int = VOCAB_SIZE, embed_dim: int = 32,
                 hidden: int = 64, pad_id: int = 0):
        super().__init__()
        self.out_dim = _check_out_dim(out_dim)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Linear(2 * hidden, out_dim), nn.ReLU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        _check_tokens(self, tokens)
        # lengths must live on the CPU for packing; an empty caption is read as one pad token
        lengths = (tokens != self.pad_id).sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)                                       # (2, B, hidden)
        return self.head(torch.cat([last[0], last[1]], dim=1))


class Classifier(nn.Module):
    """An encoder with a linear head: input of the encoder -> class logits `(B, n_classes)`."""

    def __init__(self, encoder: nn.Module, n_classes: int):
        super().__init__()
        if not hasattr(encoder, "out_dim"):
            raise TypeError("Classifier needs an encoder with an .out_dim attribute, such as ImageEncoder()")
        check_scalar(n_classes, "n_classes", int, min_val=2)
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))
