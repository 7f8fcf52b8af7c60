"""A shared embedding space for images, captions and sounds, and the loop that trains it.

Notebook 04 teaches it (the model, one training step by hand, then this loop); notebook 05 trains
its own copy with the same recipe to look inside. Each modality m has its own encoder f_m and
linear projection W_m into one D-dimensional space, followed by L2 normalisation:

    z_m = W_m f_m(x) / ||W_m f_m(x)||,        sim(z_a, z_b) = z_a . z_b  in [-1, 1]

Training adds one InfoNCE term (learnable temperature, CLIP's clamp) or one VSE++ term per pair
of modalities. Two items "match" when they share the attributes both modalities can show:
`keys[m]` is an (N, A) int array of attribute labels per item (shape, colour, size, position for
images and captions; a sound has no position, so its keys have one column fewer and a pair is
compared on the columns both have).
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .encoders import AudioEncoder, BagOfWordsEncoder, WhatWhereImageEncoder
from .losses import LogitScale, info_nce_loss, triplet_loss, weight_decay_groups
from .progress import tqdm
from .retrieval import alignment, match_mask, modality_gap, retrieval_report, uniformity

FEATURES = 128  # each encoder's output size, before the projection
SHORT = {"image": "i", "text": "t", "sound": "s"}  # names of retrieval directions: "i2t", "t2s", ...
ATTRIBUTES = ("shape", "colour", "size", "position")


class SharedSpace(nn.Module):
    """One encoder and one linear projection per modality into a shared, L2-normalised space."""

    def __init__(self, encoders: dict, dim: int = 64):
        super().__init__()
        self.encoders = nn.ModuleDict(encoders)
        self.projections = nn.ModuleDict({m: nn.Linear(e.out_dim, dim) for m, e in encoders.items()})
        self.dim = dim

    def embed(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) raw inputs of one modality -> (B, dim) unit vectors."""
        if modality not in self.encoders:
            raise KeyError(f"this space has no {modality!r} encoder; it has {sorted(self.encoders)}")
        return F.normalize(self.projections[modality](self.encoders[modality](x)), dim=-1)


def space_data(world, vocab) -> tuple:
    """(inputs, keys) of every object of `world`: inputs[m] is a tensor of raw inputs, images
    (N, 3, 32, 32), caption token ids (N, L), spectrograms (N, 1, 32, 32); keys[m] the (N, A)
    attribute labels each item shows (images: what is drawn; captions and sounds: what the
    caption says, without position for sounds)."""
    inputs = {"image": torch.from_numpy(world.images),
              "text": torch.from_numpy(vocab.encode_batch(world.captions)),
              "sound": torch.from_numpy(world.spectrograms).unsqueeze(1)}
    caption_keys = np.stack([world.caption_labels(a) for a in ATTRIBUTES], axis=1)
    keys = {"image": np.stack([world.labels(a) for a in ATTRIBUTES], axis=1),
            "text": caption_keys, "sound": caption_keys[:, :3]}
    return inputs, keys


def make_space(modalities, vocab_size: int, width: int = 8, dim: int = 64) -> SharedSpace:
    """The course's dual (or triple) encoder: the what-and-where image tower, a bag-of-words
    caption encoder and the spectrogram CNN, each projected to `dim`."""
    makers = {"image": lambda: WhatWhereImageEncoder(out_dim=FEATURES, width=width),
              "text": lambda: BagOfWordsEncoder(out_dim=FEATURES, vocab_size=vocab_size),
              "sound": lambda: AudioEncoder(out_dim=FEATURES, width=width)}
    unknown = set(modalities) - set(makers)
    if unknown:
        raise ValueError(f"unknown modalities {sorted(unknown)}; choose from {sorted(makers)}")
    return SharedSpace({m: makers[m]() for m in sorted(modalities)}, dim=dim)


def pair_mask(keys_p: np.ndarray, keys_q: np.ndarray) -> np.ndarray:
    """Bool (N, M): item i of one modality matches item j of another when they agree on every
    attribute column both have (a sound has no position column)."""
    k = min(keys_p.shape[1], keys_q.shape[1])
    return match_mask(keys_p[:, :k], keys_q[:, :k])


def train_shared_space(model: SharedSpace, inputs: dict, keys: dict, pairs, items, *, epochs: int,
                       batch: int = 64, lr: float = 3e-3, loss: str = "info_nce", temperature=None,
                       margin: float = 0.2, seed: int = 0, desc: str = "training", val_items=None):
    """Train `model` on the modality `pairs` (e.g. [("image", "text")]) over the objects `items`.

    The step of notebook 04, repeated: embed a batch of each modality, build each pair's
    positive mask from the keys, add one loss term per pair, step AdamW (no weight decay on the
    temperature) and a one-cycle schedule, then clamp each 1/temperature at 100. `temperature`
    None means learnable (starting at CLIP's 0.07). Returns (scales, log): the temperature
    modules per pair and the loss and first pair's temperature after every step. `seed` sets
    the batch order; seed torch before `make_space` to fix the initialisation.

    With `val_items` the log also holds learning curves, one entry per epoch: "epoch_train_loss"
    (the mean loss of the epoch's steps), "epoch_val_loss" (the same loss on the validation
    objects, in batches of `batch`, without a step) and "epoch_val_R@1" (the first pair's mean
    Recall@1 of both directions on the whole validation gallery)."""
    if loss not in ("info_nce", "triplet"):
        raise ValueError(f"loss must be 'info_nce' or 'triplet', got {loss!r}")
    steps = len(items) // batch
    if steps < 1:
        raise ValueError(f"{len(items)} training items make no batch of {batch}: use more items or a smaller batch")
    device = next(model.parameters()).device
    order_rng = np.random.default_rng(seed)
    modalities = sorted({m for pair in pairs for m in pair})
    scales = nn.ModuleDict({f"{p}-{q}": LogitScale(temperature or 0.07, learnable=temperature is None)
                            for p, q in pairs}).to(device)
    optimizer = torch.optim.AdamW(weight_decay_groups(nn.ModuleList([model, scales]), 1e-4), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps)
    log = {"loss": [], "temperature": []}

    def batch_loss(idx):
        z = {m: model.embed(m, inputs[m][idx].to(device)) for m in modalities}
        total = 0.0
        for p, q in pairs:
            mask = torch.from_numpy(pair_mask(keys[p][idx], keys[q][idx])).to(device)
            total = total + (info_nce_loss(z[p], z[q], scales[f"{p}-{q}"](), mask) if loss == "info_nce"
                             else triplet_loss(z[p], z[q], margin, mask))
        return total

    # one tick per batch, so that a learner sees training move even when an epoch takes minutes
    bar = tqdm(total=epochs * steps, desc=desc, unit="batch")
    for _ in range(epochs):
        model.train()
        order = order_rng.permutation(items)
        for step in range(steps):
            total = batch_loss(order[step * batch:(step + 1) * batch])
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            schedule.step()
            for scale in scales.values():
                scale.clamp_()
            log["loss"].append(total.item())
            log["temperature"].append(scales[f"{pairs[0][0]}-{pairs[0][1]}"].temperature)
            bar.update(1)
        if val_items is not None:
            _log_epoch(log, model, batch_loss, steps, inputs, keys, pairs[0], val_items, batch)
        bar.set_postfix(loss=f"{np.mean(log['loss'][-steps:]):.3f}")   # the epoch's mean loss, kept in the last line
    bar.close()
    model.eval()
    return scales, log


def _log_epoch(log, model, batch_loss, steps, inputs, keys, pair, val_items, batch):
    """One point of each learning curve: the epoch's mean training loss, the validation loss and
    the first pair's validation Recall@1."""
    model.eval()
    with torch.no_grad():
        val_batches = [val_items[i:i + batch] for i in range(0, len(val_items) - batch + 1, batch)]
        val_loss = np.mean([batch_loss(idx).item() for idx in val_batches])
    report = evaluate_pair(model, inputs, keys, *pair, val_items, ks=(1,))
    names = [k for k in report if k.endswith("_R@1")]
    log.setdefault("epoch_train_loss", []).append(float(np.mean(log["loss"][-steps:])))
    log.setdefault("epoch_val_loss", []).append(float(val_loss))
    log.setdefault("epoch_val_R@1", []).append(float(np.mean([report[k] for k in names])))


@torch.no_grad()
def embed_all(model: SharedSpace, modality: str, inputs: dict, idx, chunk: int = 500) -> torch.Tensor:
    """Unit embeddings (N, D) of the items `idx` of one modality, on the CPU, in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.embed(modality, inputs[modality][idx[i:i + chunk]].to(device)).cpu()
                      for i in range(0, len(idx), chunk)])


def evaluate_pair(model: SharedSpace, inputs: dict, keys: dict, p: str, q: str, idx, ks=(1, 5, 10)) -> dict:
    """Retrieval both ways between modalities p and q over the gallery `idx` (keys "i2t_R@1",
    "t2i_MedR", ...), with the gallery size, the modality gap, alignment and uniformity."""
    za, zb = embed_all(model, p, inputs, idx), embed_all(model, q, inputs, idx)
    names = (f"{SHORT[p]}2{SHORT[q]}", f"{SHORT[q]}2{SHORT[p]}")
    report = retrieval_report(za @ zb.T, pair_mask(keys[p][idx], keys[q][idx]), names=names, ks=ks)
    report.update(gallery_size=len(idx), modality_gap=modality_gap(za, zb),
                  alignment=alignment(za, zb), uniformity=(uniformity(za) + uniformity(zb)) / 2)
    return report


@torch.no_grad()
def encoder_features(model: SharedSpace, modality: str, inputs: dict, idx, chunk: int = 1000) -> torch.Tensor:
    """The encoder's features `(N, FEATURES)` of the items `idx`, before the projection (notebook
    05 freezes them and trains fresh projection heads on top)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.encoders[modality](inputs[modality][idx[i:i + chunk]].to(device))
                      for i in range(0, len(idx), chunk)])


def train_heads(features: dict, keys: dict, *, loss: str = "info_nce", temperature=None, epochs: int = 4,
                batch: int = 64, lr: float = 3e-3, dim: int = 64, margin: float = 0.2, seed: int = 0,
                shuffle_pairs: bool = False) -> dict:
    """Fresh linear projections for two modalities on frozen features, trained with one loss.

    features[split][m]: `(N, F)` features of modality m (two modalities, e.g. image and text) for
    the split "train" and every split to evaluate on; keys[split][m]: their `(N, A)` attribute
    labels. `temperature` None means learnable (from 0.07). `shuffle_pairs` is the control that
    should fail: the second modality's training rows are permuted, so each "pair" is two
    unrelated objects (the mask then follows the first modality's keys, the pairs the trainer
    believes in). Returns {"temperature": ..., split: {"R@1", "R@5" (means of both directions),
    "modality_gap", "alignment", "uniformity"}} for every split but "train"."""
    if loss not in ("info_nce", "triplet"):
        raise ValueError(f"loss must be 'info_nce' or 'triplet', got {loss!r}")
    p, q = list(features["train"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    f_p, f_q = features["train"][p], features["train"][q]
    k_p, k_q = keys["train"][p], keys["train"][q]
    if shuffle_pairs:
        f_q, k_q = f_q[torch.from_numpy(rng.permutation(len(f_q)))], k_p
    device = f_p.device
    heads = nn.ModuleDict({m: nn.Linear(f_p.shape[1], dim) for m in (p, q)}).to(device)
    scale = LogitScale(temperature or 0.07, learnable=temperature is None).to(device)
    optimizer = torch.optim.AdamW(weight_decay_groups(nn.ModuleList([heads, scale]), 1e-4), lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(f_p))
        for step in range(len(order) // batch):
            rows = order[step * batch:(step + 1) * batch]
            a, b = F.normalize(heads[p](f_p[rows]), dim=-1), F.normalize(heads[q](f_q[rows]), dim=-1)
            mask = torch.from_numpy(pair_mask(k_p[rows], k_q[rows])).to(device)
            value = info_nce_loss(a, b, scale(), mask) if loss == "info_nce" else triplet_loss(a, b, margin, mask)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            scale.clamp_()
    out = {"temperature": scale.temperature if loss == "info_nce" else float("nan")}
    with torch.no_grad():
        for split in (s for s in features if s != "train"):
            a = F.normalize(heads[p](features[split][p]), dim=-1).cpu()
            b = F.normalize(heads[q](features[split][q]), dim=-1).cpu()
            r = retrieval_report(a @ b.T, pair_mask(keys[split][p], keys[split][q]), names=("ab", "ba"), ks=(1, 5))
            out[split] = {"R@1": (r["ab_R@1"] + r["ba_R@1"]) / 2, "R@5": (r["ab_R@5"] + r["ba_R@5"]) / 2,
                          "modality_gap": modality_gap(a, b), "alignment": alignment(a, b),
                          "uniformity": (uniformity(a) + uniformity(b)) / 2}
    return out
