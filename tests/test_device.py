import pytest
import torch

from cmkt_lib import describe_device, pick_device


def test_default_is_an_available_device(monkeypatch):
    monkeypatch.delenv("CMKT_DEVICE", raising=False)
    device = pick_device()
    expected = "cuda" if torch.cuda.is_available() else device.type
    assert device.type == expected
    torch.zeros(1, device=device)  # usable


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv("CMKT_DEVICE", "CPU")
    assert pick_device() == torch.device("cpu")
    assert describe_device(pick_device()).startswith("cpu")


def test_unknown_device_is_explained(monkeypatch):
    monkeypatch.setenv("CMKT_DEVICE", "tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'.*CMKT_DEVICE"):
        pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_explained():
    with pytest.raises(ValueError, match="not available here; available: .*cpu"):
        pick_device("cuda")
