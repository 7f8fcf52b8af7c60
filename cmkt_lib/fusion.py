"""Multimodal networks: three places to join the modalities, and what to do when one is missing.

    EarlyFusion         joins the raw inputs, then one network reads them all
    IntermediateFusion  one encoder per modality, joins their features, then a shared head
    LateFusion          one classifier per modality, averages their logits

Every model takes its modalities' inputs in the order of `model.inputs` (batch keys of a
`WorldDataset`: "image", "tokens", "spectrogram"), so `fit(model, loader, inputs=model.inputs)`
trains it. Two ways to lose a modality:
  * modality dropout (training only): each modality of each example is dropped with
    probability `modality_dropout`, so the network learns not to lean on one alone. By default
    (`keep_one=True`) an example whose draw left it with no modality at all is drawn again, so
    every training example keeps at least one: with independent drops at p = 0.5 an eighth of
    the examples (three modalities) or a quarter (two) would otherwise carry no input at all;
  * `with model.without("audio"):` (any time, e.g. at test): that modality is treated as absent
    for every example. Early and intermediate fusion set its part of the joint vector to zero;
    late fusion leaves it out of the average."""

from contextlib import contextmanager
from numbers import Integral

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._validate import check_scalar
from .datasets import DictDataset  # noqa: F401  (lives in datasets; notebooks 03, 09, 10 import it from here)
from .encoders import VOCAB_SIZE
from .train import evaluate_accuracy, fit

MODALITY_INPUTS = {"image": "image", "text": "tokens", "audio": "spectrogram"}


def _check_modalities(modalities) -> tuple:
    if isinstance(modalities, str):
        modalities = (modalities,)
    modalities = tuple(modalities)
    unknown = [m for m in modalities if m not in MODALITY_INPUTS]
    if not modalities or unknown or len(set(modalities)) != len(modalities):
        raise ValueError(f"modalities must be distinct names from {list(MODALITY_INPUTS)}, got {modalities!r}")
    return modalities


def modality_mask(batch_size: int, n_modalities: int, p: float, device=None, keep_one: bool = True) -> torch.Tensor:
    """Float `(B, M)`: 1 keeps a modality of an example, 0 drops it; each is dropped
    independently with probability p (kept values are not rescaled).

    keep_one: a row with every modality dropped (probability p**M) is drawn again until one
    survives, i.e. the drops are independent *given* that at least one modality is left. Each
    modality is then kept with probability (1 - p) / (1 - p**M), a little more than 1 - p."""
    keep = (torch.rand(batch_size, n_modalities, device=device) >= p).float()
    if keep_one and n_modalities > 0 and p > 0:
        empty = keep.sum(dim=1) == 0
        while empty.any():
            keep[empty] = (torch.rand(int(empty.sum()), n_modalities, device=device) >= p).float()
            empty = keep.sum(dim=1) == 0
    return keep


def modalities_left_rates(n_modalities: int, p: float, keep_one: bool = True) -> list:
    """Fraction of training examples left with k = 0, 1, ..., M modalities under modality
    dropout p: binomial(M, 1 - p), renormalised over k >= 1 when keep_one."""
    from math import comb

    rates = [comb(n_modalities, k) * (1 - p) ** k * p ** (n_modalities - k) for k in range(n_modalities + 1)]
    if keep_one:
        rates = [0.0] + [r / (1 - rates[0]) for r in rates[1:]]
    return rates


class _Fusion(nn.Module):
    """What the three fusion models share: modality names, dropout, and `without`."""

    def __init__(self, modalities, modality_dropout: float, keep_one: bool = True):
        super().__init__()
        self.modalities = _check_modalities(modalities)
        self.inputs = tuple(MODALITY_INPUTS[m] for m in self.modalities)
        check_scalar(modality_dropout, "modality_dropout", (int, float), min_val=0, max_val=1,
                     include_boundaries="left", hint="it is a probability")
        self.modality_dropout = float(modality_dropout)
        self.keep_one = bool(keep_one)
        self.absent = frozenset()

    @contextmanager
    def without(self, *names):
        """Treat the named modalities as missing inside the `with` block."""
        unknown = [n for n in names if n not in self.modalities]
        if unknown:
            raise ValueError(f"this model's modalities are {list(self.modalities)}; cannot leave out {unknown}")
        before = self.absent
        self.absent = frozenset(names)
        try:
            yield self
        finally:
            self.absent = before

    def _check_inputs(self, xs) -> int:
        if len(xs) != len(self.modalities):
            raise ValueError(
                f"{type(self).__name__} over {list(self.modalities)} takes {len(self.modalities)} inputs "
                f"{list(self.inputs)} in that order, got {len(xs)}: use fit(..., inputs=model.inputs)")
        for x, name, key in zip(xs, self.modalities, self.inputs):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"the {name} input ({key!r}) must be a tensor, got {type(x).__name__}")
        sizes = {len(x) for x in xs}
        if len(sizes) != 1:
            raise ValueError(f"every modality needs the same batch size, got {[len(x) for x in xs]}")
        return sizes.pop()

    def mask(self, batch_size: int, device) -> torch.Tensor:
        """Float `(B, M)`: which modality of which example is used in this forward pass."""
        keep = torch.tensor([m not in self.absent for m in self.modalities], dtype=torch.float32, device=device)
        keep = keep.expand(batch_size, -1)
        if self.training and self.modality_dropout > 0:
            keep = keep * modality_mask(batch_size, len(self.modalities), self.modality_dropout, device,
                                        keep_one=self.keep_one)
        return keep


class EarlyFusion(_Fusion):
    """Joins the raw inputs into one vector and classifies it with an MLP.

    image `(B, 3, 32, 32)` -> 3,072 pixel values; tokens `(B, L)` -> word counts `(B, V)`;
    spectrogram `(B, 1, 32, 32)` -> 1,024 values. Each part is standardised per example
    (zero mean, unit spread) so that "missing" (zeros) is a neutral value, then concatenated
    and fed to Linear -> ReLU -> Linear: logits `(B, n_classes)`."""

    SIZES = {"image": 3 * 32 * 32, "text": VOCAB_SIZE, "audio": 32 * 32}

    def __init__(self, n_classes: int, modalities=("image", "text", "audio"), hidden: int = 128,
                 modality_dropout: float = 0.0, vocab_size: int = VOCAB_SIZE, keep_one: bool = True):
        super().__init__(modalities, modality_dropout, keep_one)
        check_scalar(n_classes, "n_classes", Integral, min_val=2,
                     hint="the number of classes the network tells apart, e.g. len(CONCEPTS)")
        check_scalar(hidden, "hidden", Integral, min_val=1, hint="the width of the hidden layer")
        check_scalar(vocab_size, "vocab_size", Integral, min_val=2, hint="use len(Vocabulary())")
        self.vocab_size = vocab_size
        sizes = [vocab_size if m == "text" else self.SIZES[m] for m in self.modalities]
        self.net = nn.Sequential(nn.Linear(sum(sizes), hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def _flat(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if name == "text":
            if torch.is_floating_point(x) or x.ndim != 2:
                raise TypeError(f"tokens must be int64 token ids (B, L), got {x.dtype} of shape {tuple(x.shape)}")
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
                raise ValueError(
                    f"EarlyFusion counts {self.vocab_size} token ids (0..{self.vocab_size - 1}), got ids in "
                    f"[{int(x.min())}, {int(x.max())}]: encode the captions with the Vocabulary the model "
                    "was built for, or build it with vocab_size=len(vocab)")
            counts = torch.zeros(len(x), self.vocab_size, device=x.device)
            counts.scatter_add_(1, x, torch.ones_like(x, dtype=counts.dtype))
            x = counts * (torch.arange(self.vocab_size, device=x.device) != 0)  # padding id 0 is not a word
        else:
            want = (3, 32, 32) if name == "image" else (1, 32, 32)
            if x.ndim != 4 or tuple(x.shape[1:]) != want:
                raise ValueError(f"{name} input must have shape (B, {', '.join(map(str, want))}), got {tuple(x.shape)}")
            x = x.flatten(1).float()
        return (x - x.mean(dim=1, keepdim=True)) / (x.std(dim=1, keepdim=True) + 1e-5)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        batch = self._check_inputs(xs)
        keep = self.mask(batch, xs[0].device)
        parts = [self._flat(x, m) * keep[:, i:i + 1] for i, (x, m) in enumerate(zip(xs, self.modalities))]
        return self.net(torch.cat(parts, dim=1))


class IntermediateFusion(_Fusion):
    """One encoder per modality; their features are concatenated and a shared MLP classifies.

    encoders: dict modality -> encoder with `.out_dim` (e.g. {"image": ImageEncoder(), ...});
    inputs in the order of `model.inputs`; output logits `(B, n_classes)`. A missing or dropped
    modality's features are set to zero."""

    def __init__(self, encoders: dict, n_classes: int, hidden: int = 64, modality_dropout: float = 0.0,
                 keep_one: bool = True):
        if not isinstance(encoders, dict) or not encoders:
            raise TypeError("encoders must be a dict such as {'image': ImageEncoder(), 'audio': AudioEncoder()}")
        super().__init__(tuple(encoders), modality_dropout, keep_one)
        for name, enc in encoders.items():
            if not hasattr(enc, "out_dim"):
                raise TypeError(f"the {name} encoder needs an .out_dim attribute (its feature size)")
        self.encoders = nn.ModuleDict(encoders)
        total = sum(enc.out_dim for enc in encoders.values())
        self.head = nn.Sequential(nn.Linear(total, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        batch = self._check_inputs(xs)
        keep = self.mask(batch, xs[0].device)
        feats = [self.encoders[m](x) * keep[:, i:i + 1] for i, (x, m) in enumerate(zip(xs, self.modalities))]
        return self.head(torch.cat(feats, dim=1))


class LateFusion(_Fusion):
    """One classifier per modality; the logits of the modalities present are averaged.

    classifiers: dict modality -> model returning logits `(B, n_classes)`; output `(B, n_classes)`.
    A missing or dropped modality is left out of the average (an example with none left gets
    zeros, i.e. a uniform guess)."""

    def __init__(self, classifiers: dict, modality_dropout: float = 0.0, keep_one: bool = True):
        if not isinstance(classifiers, dict) or not classifiers:
            raise TypeError("classifiers must be a dict such as {'image': Classifier(ImageEncoder(), 3), ...}")
        super().__init__(tuple(classifiers), modality_dropout, keep_one)
        self.classifiers = nn.ModuleDict(classifiers)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        batch = self._check_inputs(xs)
        keep = self.mask(batch, xs[0].device)                          # (B, M)
        logits = torch.stack([self.classifiers[m](x) for x, m in zip(xs, self.modalities)], dim=1)  # (B, M, C)
        summed = (logits * keep.unsqueeze(-1)).sum(dim=1)
        return summed / keep.sum(dim=1, keepdim=True).clamp(min=1.0)


class Features(nn.Module):
    """A stand-in encoder for features computed beforehand: checks `(B, dim)` and passes them on.
    Lets IntermediateFusion train its head on frozen encoders' features, which is fast."""

    def __init__(self, dim: int):
        super().__init__()
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.out_dim:
            raise ValueError(f"expected features of shape (B, {self.out_dim}), got {tuple(x.shape)}")
        return x


# ---------------------------------------------------------------- fair comparisons (notebook 03)

def head_parameters(in_dim: int, hidden: int, n_classes: int) -> int:
    """Weights and biases of the head Linear(in_dim, hidden) -> ReLU -> Linear(hidden, n_classes)."""
    return in_dim * hidden + hidden + hidden * n_classes + n_classes


def hidden_to_match(in_dim: int, n_classes: int, n_params: int) -> int:
    """The smallest hidden width whose head on `in_dim` inputs has at least `n_params` parameters:
    gives a one-modality head the capacity of a fusion head that reads more features."""
    for name, value in (("in_dim", in_dim), ("n_classes", n_classes), ("n_params", n_params)):
        check_scalar(value, name, Integral, min_val=1)
    return max(1, -(-(n_params - n_classes) // (in_dim + 1 + n_classes)))


def train_head(model: nn.Module, train_data, val_data, *, epochs: int, lr: float = 3e-3, batch_size: int = 32,
               seed: int = 0, device=None, desc: str = "head", progress: bool = True) -> dict:
    """The one training budget every contender gets: `epochs` passes over `train_data` (a Dataset
    of dict batches) in shuffled batches of `batch_size` (order drawn from `seed`), Adam at `lr`,
    the validation accuracy after each epoch, and the weights of the best validation epoch kept
    (never chosen on test). Returns fit's history (train_loss, val_loss, val_metric, best_epoch)."""
    loader = DataLoader(train_data, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    return fit(model, loader, epochs=epochs, lr=lr, inputs=model.inputs, val_loader=DataLoader(val_data, batch_size=500),
               metric="accuracy", patience=epochs, device=device, desc=desc, progress=progress)


def accuracy_with(model: _Fusion, loader, present) -> float:
    """Accuracy of a fusion model when only the modalities in `present` arrive (the others are
    treated as missing for every example)."""
    present = _check_modalities(present)
    with model.without(*[m for m in model.modalities if m not in present]):
        return evaluate_accuracy(model, loader, inputs=model.inputs)
