import pytest
import torch
from torch.utils.data import DataLoader

from cmkt_lib import WorldDataset, make_world


@pytest.fixture(scope="module")
def world():
    return make_world(120, seed=0)


def test_items_and_batches(world):
    ds = WorldDataset(world, "train", target="concept")
    assert len(ds) == len(world.indices("train"))
    batch = next(iter(DataLoader(ds, batch_size=8)))
    assert batch["image"].shape == (8, 3, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["tokens"].shape == (8, 16) and batch["tokens"].dtype == torch.int64
    assert batch["spectrogram"].shape == (8, 1, 32, 32)
    assert batch["label"].dtype == torch.int64
    i = int(batch["index"][0])
    assert int(batch["label"][0]) == world.labels("concept")[i]


def test_only_the_modalities_asked_for(world):
    item = WorldDataset(world, modalities="audio")[0]
    assert set(item) == {"spectrogram", "index"}


def test_bad_inputs(world):
    with pytest.raises(ValueError, match="modalities must be a non-empty subset"):
        WorldDataset(world, modalities=("video",))
    with pytest.raises(ValueError, match="unknown split 'training'"):
        WorldDataset(world, "training")
    with pytest.raises(ValueError, match="unknown target 'hue'"):
        WorldDataset(world, target="hue")
    with pytest.raises(TypeError, match="needs a World"):
        WorldDataset(world.images)
