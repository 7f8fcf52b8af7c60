import pytest
import torch

import cmkt_lib.device as device_module
from cmkt_lib import describe_device, pick_device


def test_default_is_an_available_device(monkeypatch):
    monkeypatch.delenv("CMKT_DEVICE", raising=False)
    device = pick_device()
    if torch.cuda.is_available():
        expected = "cuda"
    elif device_module._mps_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert device.type == expected
    torch.zeros(1, device=device)  # usable


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_default_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    # availability is faked, so this checks the order of preference on any machine
    monkeypatch.delenv("CMKT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)
    assert pick_device().type == expected


@pytest.mark.parametrize("bad", ["cpu:abc", "cuda:", "cpu:-1", "cpu: 0"])
def test_malformed_device_number_is_explained(monkeypatch, bad):
    monkeypatch.setenv("CMKT_DEVICE", bad)
    with pytest.raises(ValueError, match=r"after the colon, where a device number belongs"):
        pick_device()


def test_missing_cuda_device_number_is_explained(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"CUDA device number 3, but this machine has 1"):
        pick_device("cuda:3")
    assert pick_device("cuda:0") == torch.device("cuda:0")
    assert pick_device("cpu:0") == torch.device("cpu:0")


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
