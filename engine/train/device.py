"""Where training runs and in what precision: device choice, mixed precision, seeding.

`resolve_device("auto")` picks CUDA, then Apple MPS, then the CPU; a named device that is not
there is a `DeviceError` with a message that says what to choose instead. `Precision` wraps
autocast and, for fp16, a GradScaler; mixed precision is a CUDA feature, so on any other device
it falls back to float32 and `Precision.note` says so (the trainer logs it). `seed_everything`
seeds torch, numpy and Python's random, and deterministic mode asks torch for deterministic
kernels (restored by `restore_determinism` so an in-process run leaves no global state behind).
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

_NO_AUTOCAST = contextlib.nullcontext()


class DeviceError(RuntimeError):
    """The requested device is not available here."""


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """The torch device for a settings value (auto, cpu, cuda, cuda:N, mps)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if mps_available() else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} was asked for but no CUDA GPU is available here; "
                              "choose auto or cpu")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if device.type == "mps" and not mps_available():
        raise DeviceError("device 'mps' was asked for but Apple's Metal backend is not available; choose "
                          "auto or cpu")
    return device


def device_name(device: torch.device) -> str:
    """A readable name: the GPU model for CUDA, else the device type."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


@dataclass
class Precision:
    """Autocast and loss scaling for one run."""

    device: torch.device
    dtype: torch.dtype | None  # None: plain float32
    scaler: torch.amp.GradScaler | None
    note: str | None = None  # why the requested precision is not in use

    @classmethod
    def create(cls, requested: str, device: torch.device) -> Precision:
        if requested == "none":
            return cls(device, None, None)
        if device.type != "cuda":
            return cls(device, None, None, f"mixed precision ({requested}) needs a CUDA GPU; training in "
                                           f"float32 on {device.type}")
        if requested == "bf16" and not torch.cuda.is_bf16_supported():
            return cls(device, None, None, "this GPU does not support bf16; training in float32")
        if requested == "bf16":
            return cls(device, torch.bfloat16, None)
        return cls(device, torch.float16, torch.amp.GradScaler("cuda"))

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """A context for the forward pass; a shared no-op one in float32 (cheap in the hot loop)."""
        if self.dtype is None:
            return _NO_AUTOCAST
        return torch.autocast(self.device.type, dtype=self.dtype)

    @property
    def label(self) -> str:
        return {None: "float32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_determinism(enabled: bool) -> tuple[bool, bool]:
    """Switch deterministic kernels on or off; returns the previous state for `restore_determinism`."""
    previous = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    if enabled:
        # cuBLAS needs a fixed workspace to be deterministic; it reads this when first initialised
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return previous


def restore_determinism(previous: tuple[bool, bool]) -> None:
    torch.use_deterministic_algorithms(previous[0], warn_only=True)
    torch.backends.cudnn.benchmark = previous[1]


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels (timing and honest benchmarks)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
