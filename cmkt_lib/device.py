"""Picks where tensors live: CUDA, then Apple's MPS, then the CPU.

Set the environment variable CMKT_DEVICE (e.g. CMKT_DEVICE=cpu) to override the choice."""

import os

import torch

DEVICE_KINDS = ("cuda", "mps", "cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(prefer: str | None = None) -> torch.device:
    """The best available device, or the one named by `prefer` or by $CMKT_DEVICE.

    A named device that is not available raises a ValueError that says what is available."""
    name = prefer if prefer is not None else os.environ.get("CMKT_DEVICE", "").strip()
    available = [k for k, ok in (("cuda", torch.cuda.is_available()), ("mps", _mps_available()), ("cpu", True)) if ok]
    if not name:
        return torch.device(available[0])
    source = "prefer" if prefer is not None else "CMKT_DEVICE"
    kind, colon, index = name.lower().partition(":")
    if colon and not (index.isdigit() and index.isascii()):
        raise ValueError(
            f"device {name!r} (from {source}) has {index!r} after the colon, where a device number belongs: "
            f"write {kind!r} or {kind + ':0'!r} (the first {kind} device)"
        )
    if kind not in DEVICE_KINDS:
        raise ValueError(
            f"unknown device {name!r} (from {source}); "
            f"use one of {list(DEVICE_KINDS)}, e.g. CMKT_DEVICE=cpu"
        )
    if kind not in available:
        raise ValueError(
            f"device {name!r} was asked for but is not available here; available: {available}. "
            "Unset CMKT_DEVICE (or pick one of those) to continue."
        )
    if kind == "cuda" and colon and int(index) >= torch.cuda.device_count():
        raise ValueError(
            f"device {name!r} (from {source}) asks for CUDA device number {int(index)}, but this machine has "
            f"{torch.cuda.device_count()} (numbered from 0): use 'cuda' or 'cuda:0'"
        )
    return torch.device(name.lower())


def describe_device(device: torch.device | None = None) -> str:
    """One line naming the device, e.g. 'cuda (NVIDIA T4)' or 'cpu (2 threads)'."""
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
