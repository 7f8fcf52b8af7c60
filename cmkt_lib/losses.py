"""Contrastive losses that pull matching pairs together in one shared, L2-normalised space.

`info_nce_loss` is CLIP's symmetric InfoNCE; `LogitScale` is its learnable temperature, kept
as a log scale; `triplet_loss` is VSE++'s hinge on the hardest in-batch negative. Both losses
take a batch of pairs (a_i, b_i): row i of `a` matches row i of `b`, every other row is a
negative, unless `positive_mask` says that it matches too (two captions with the same
attributes in one batch).
"""

import math
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_scalar

NORM_TOLERANCE = 1e-3  # how far from 1 a row's L2 norm may be
DEFAULT_TEMPERATURE = 0.07  # CLIP's initial temperature
MAX_SCALE = 100.0  # CLIP's cap on the inverse temperature


def check_matrix(x, name: str = "x", shape: str = "(N, D)", source: str = "the encoder's output") -> None:
    """Raise a plain-words error unless `x` is a non-empty, finite float tensor of two dimensions;
    `shape` and `source` only word the message (what the rows are, what produced them)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(x).__name__}")
    if x.ndim != 2:
        hint = ": add a batch dimension with x[None]" if x.ndim == 1 else ""
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {x.dtype}: convert it with {name}.float()")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}); it needs at least one row and one column")
    if not torch.isfinite(x.detach()).all():
        raise ValueError(f"{name} contains NaN or infinite values; check {source}")


def check_normalised(x, name: str = "x") -> None:
    """Raise a plain-words error unless `x` is a finite float tensor `(N, D)` with unit rows."""
    check_matrix(x, name)
    norms = x.detach().norm(dim=1)
    if (norms - 1).abs().max() > NORM_TOLERANCE:
        raise ValueError(
            f"{name} has norms between {norms.min().item():.3g} and {norms.max().item():.3g}, "
            f"but every row must have length 1; L2-normalise with F.normalize({name}, dim=-1)"
        )


def check_pairs(a, b) -> None:
    """Raise unless `a` and `b` are L2-normalised `(B, D)` batches of the same shape and device
    with B >= 2 (a batch of one has no negatives to contrast with)."""
    check_normalised(a, "a")
    check_normalised(b, "b")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape (B, D), got {tuple(a.shape)} and {tuple(b.shape)}: "
            "row i of a must be paired with row i of b, and both encoders must project to the same D"
        )
    if a.device != b.device:
        raise ValueError(f"a is on {a.device} but b is on {b.device}; move both to one device with .to(device)")
    if a.shape[0] < 2:
        raise ValueError("a batch of one pair has no negatives to contrast with; use a batch of at least 2")


def check_positive_mask(positive_mask, batch: int, device) -> torch.Tensor:
    """The mask as a bool tensor `(B, B)`; raise unless its diagonal is all True."""
    if not isinstance(positive_mask, torch.Tensor):
        raise TypeError(f"positive_mask must be a bool torch.Tensor of shape (B, B), got {type(positive_mask).__name__}")
    if positive_mask.dtype != torch.bool:
        raise TypeError(f"positive_mask must be a bool tensor, got {positive_mask.dtype}: use mask.bool()")
    if tuple(positive_mask.shape) != (batch, batch):
        raise ValueError(f"positive_mask must have shape ({batch}, {batch}) for a batch of {batch}, got {tuple(positive_mask.shape)}")
    if positive_mask.device != device:
        raise ValueError(f"positive_mask is on {positive_mask.device} but the embeddings are on {device}; use .to(device)")
    if not positive_mask.diagonal().all():
        raise ValueError("positive_mask must be True on its diagonal: row i of a always matches row i of b")
    return positive_mask


def info_nce_loss(a: torch.Tensor, b: torch.Tensor, log_scale, positive_mask=None) -> torch.Tensor:
    """Symmetric InfoNCE of paired, L2-normalised embeddings a, b `(B, D)`; a scalar.

    `log_scale` is named for what it is, the log of 1/temperature (open_clip passes the scale
    itself, exponentiated, as `logit_scale`; `LogitScale()()` here returns its log).

    logits = exp(log_scale) * a @ b.T (log_scale is the log of the inverse temperature:
    log(1/0.07) = 2.66 for CLIP's start, log(100) = 4.61 at its cap; LogitScale()() gives it).
    A plain Python number between 0 and 1 is refused, since it is almost surely a temperature.
    The a->b term is the cross-entropy of each row against its match, the b->a term the same on
    the columns; the loss is their mean. With `positive_mask` (bool `(B, B)`, True where a_i
    matches b_j, diagonal True) each row's target is "any of its matches":
    -log(sum_{j matches i} e^{l_ij} / sum_j e^{l_ij}), so a duplicate is never pushed away."""
    check_pairs(a, b)
    if isinstance(log_scale, torch.Tensor):
        if log_scale.numel() != 1:
            raise ValueError(f"log_scale must be a single number, got a tensor of shape {tuple(log_scale.shape)}")
        if not torch.isfinite(log_scale).all():
            raise ValueError("log_scale is NaN or infinite; check the LogitScale parameter")
        log_scale = log_scale.reshape(())
    else:
        check_scalar(log_scale, "log_scale", Real,
                     hint="it is the LOG of 1/temperature, a number or a one-element tensor")
        if 0 < log_scale < 1:
            raise ValueError(
                f"log_scale={log_scale!r} looks like a temperature, but this argument is the LOG of "
                f"1/temperature: for a temperature of {log_scale} pass math.log(1 / {log_scale}) = "
                f"{math.log(1 / log_scale):.4g}, or use LogitScale(temperature={log_scale})(). "
                f"(To really use a log scale of {log_scale}, i.e. a temperature of "
                f"{math.exp(-log_scale):.3g}, pass it as a tensor: torch.tensor({log_scale}).)")
    scale = log_scale.exp() if isinstance(log_scale, torch.Tensor) else math.exp(log_scale)
    logits = scale * a @ b.T  # (B, B): row i = a_i against every b_j
    if positive_mask is None:
        target = torch.arange(a.shape[0], device=a.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    mask = check_positive_mask(positive_mask, a.shape[0], a.device)
    return 0.5 * (_multi_positive_nll(logits, mask) + _multi_positive_nll(logits.T, mask.T))


def _multi_positive_nll(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -log(softmax mass on the row's positives)."""
    positives = logits.masked_fill(~mask, float("-inf")).logsumexp(dim=1)
    return (logits.logsumexp(dim=1) - positives).mean()


class LogitScale(nn.Module):
    """A learnable inverse temperature, stored as its log (CLIP): starts at log(1/0.07) and is
    clamped so that the scale never exceeds 100. `forward()` returns the clamped log scale,
    ready for `info_nce_loss`. Exclude it from weight decay (see `weight_decay_groups`): decay
    would drag the log scale towards 0, i.e. the temperature towards 1."""

    def __init__(self, temperature: float = DEFAULT_TEMPERATURE, max_scale: float = MAX_SCALE, learnable: bool = True):
        super().__init__()
        check_scalar(temperature, "temperature", Real, min_val=0, include_boundaries="neither", hint="CLIP uses 0.07")
        check_scalar(max_scale, "max_scale", Real, min_val=0, include_boundaries="neither", hint="CLIP uses 100")
        if 1.0 / temperature > max_scale:
            raise ValueError(
                f"temperature {temperature} gives a scale 1/{temperature} = {1 / temperature:.4g} above "
                f"max_scale {max_scale}; choose a temperature of at least {1 / max_scale:.4g}"
            )
        self.max_log_scale = math.log(max_scale)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)), requires_grad=learnable)

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=self.max_log_scale)

    @torch.no_grad()
    def clamp_(self) -> "LogitScale":
        """Clamp the stored parameter itself (CLIP does this after every optimizer step), so
        that it cannot drift above the cap where the clamp in forward stops its gradient."""
        self.log_scale.clamp_(max=self.max_log_scale)
        return self

    @property
    def temperature(self) -> float:
        """The current temperature 1 / scale, as a float."""
        return math.exp(-self().item())

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:.4g}, learnable={self.log_scale.requires_grad}"


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list:
    """Optimizer parameter groups: weight decay on weight matrices and kernels only; none on
    biases, normalisation gains (every parameter with fewer than 2 dimensions) and any
    LogitScale. Use as `torch.optim.AdamW(weight_decay_groups(model, 0.01), lr=...)`."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    check_scalar(weight_decay, "weight_decay", Real, min_val=0)
    exempt = {id(p) for m in model.modules() if isinstance(m, LogitScale) for p in m.parameters()}
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or id(p) in exempt else decay).append(p)
    return [
        {"params": decay, "weight_decay": float(weight_decay)},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def triplet_loss(a: torch.Tensor, b: torch.Tensor, margin: float = 0.2, positive_mask=None) -> torch.Tensor:
    """VSE++ hard-negative triplet loss of paired, L2-normalised a, b `(B, D)`; a scalar.

    With s = a @ b.T, for each pair i: [margin - s_ii + max_{j != i} s_ij]_+ (hardest caption
    for image i) + [margin - s_ii + max_{j != i} s_ji]_+ (hardest image for caption i),
    averaged over the batch. Entries where `positive_mask` is True are matches, never negatives."""
    check_pairs(a, b)
    check_scalar(margin, "margin", Real, min_val=0, hint="VSE++ uses 0.2")
    batch = a.shape[0]
    if positive_mask is None:
        mask = torch.eye(batch, dtype=torch.bool, device=a.device)
    else:
        mask = check_positive_mask(positive_mask, batch, a.device)
    if mask.all():
        raise ValueError("every pair in this batch matches every other: there is no negative to push away")
    s = a @ b.T
    positive = s.diagonal()
    # a row or column whose every entry is a match has no negative: its hinge is 0
    hardest_b = s.masked_fill(mask, float("-inf")).max(dim=1).values  # for each a_i, over b_j
    hardest_a = s.masked_fill(mask, float("-inf")).max(dim=0).values  # for each b_j, over a_i
    cost_b = (margin - positive + hardest_b).clamp(min=0)
    cost_a = (margin - positive + hardest_a).clamp(min=0)
    return (cost_b + cost_a).mean()
