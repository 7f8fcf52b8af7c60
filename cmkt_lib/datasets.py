"""Torch Datasets over a World, so training code can use an ordinary DataLoader."""

import numpy as np
import torch
from torch.utils.data import Dataset

from .captions import Vocabulary
from .world import World

MODALITIES = ("image", "text", "audio")


class WorldDataset(Dataset):
    """Items of a World as dicts of tensors.

    Each item has, for the modalities asked for: "image" float32 `(3, 32, 32)`, "tokens"
    int64 `(max_len,)`, "spectrogram" float32 `(1, 32, 32)`; plus "label" (int64 scalar) when
    `target` is given, and "index" (position in the world). `which` is a split name
    ("train", "val", "test", "unseen") or an index array; None means every object."""

    def __init__(self, world: World, which=None, target: str | None = None,
                 modalities=MODALITIES, vocab: Vocabulary | None = None, max_len: int = 16):
        if not isinstance(world, World):
            raise TypeError(f"WorldDataset needs a World from make_world, got {type(world).__name__}")
        if isinstance(modalities, str):
            modalities = (modalities,)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or not modalities:
            raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {modalities!r}")
        if which is None:
            idx = np.arange(len(world))
        elif isinstance(which, str):
            idx = world.indices(which)
        else:
            idx = np.asarray(which, dtype=np.int64)
        self.indices = torch.as_tensor(idx, dtype=torch.int64)
        self.modalities = tuple(modalities)
        self.tensors = {}
        if "image" in modalities:
            self.tensors["image"] = torch.from_numpy(world.images[idx])
        if "text" in modalities:
            self.vocab = vocab or Vocabulary()
            self.tensors["tokens"] = torch.from_numpy(
                self.vocab.encode_batch([world.captions[i] for i in idx], max_len))
        if "audio" in modalities:
            self.tensors["spectrogram"] = torch.from_numpy(world.spectrograms[idx]).unsqueeze(1)
        if target is not None:
            self.tensors["label"] = torch.from_numpy(world.labels(target)[idx])

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        item = {k: v[i] for k, v in self.tensors.items()}
        item["index"] = self.indices[i]
        return item


class DictDataset(Dataset):
    """A Dataset of dicts over equal-length tensors, e.g. DictDataset(image=f_img, label=y):
    item i is {"image": f_img[i], "label": y[i]}, the same kind of batch as WorldDataset's."""

    def __init__(self, **tensors):
        if not tensors:
            raise ValueError("give at least one named tensor, e.g. DictDataset(image=features, label=labels)")
        self.tensors = {k: torch.as_tensor(v) for k, v in tensors.items()}
        lengths = {k: len(v) for k, v in self.tensors.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"every tensor needs the same length (one row per item), got {lengths}")
        self.n = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.tensors.items()}
