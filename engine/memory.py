"""Will the network fit? A memory estimate from the analysis, checked against the chosen device.

`memory_estimate` needs no torch and allocates nothing: it reads parameter
counts and output shapes from the analysis. Training keeps, per parameter, the
weight, its gradient and up to two optimiser moments (Adam), all float32; and,
per sample of a batch, every layer's output (kept for the backward pass) and
about as much again for gradients. `memory_warnings` compares that with the
memory of the device a run would use (``cpu``: the machine's RAM; ``cuda:N``:
that GPU's memory; ``auto``: the GPU if there is one) and says which part does
not fit. torch is imported only when the estimate is large enough to matter
(over `CHECK_ABOVE`), so validating an ordinary network stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.graph.analysis import Analysis

BYTES = 4  # float32
TRAINING_COPIES = 4  # weight, gradient, two Adam moments
ACTIVATION_COPIES = 2  # outputs kept for backward, and their gradients
CHECK_ABOVE = 1 << 30  # no device a person trains on has less than 1 GiB


@dataclass(frozen=True)
class MemoryEstimate:
    parameters: int
    activations_per_sample: int  # elements

    @property
    def weight_bytes(self) -> int:
        return self.parameters * BYTES

    def training_bytes(self, batch_size: int) -> int:
        return (self.parameters * BYTES * TRAINING_COPIES
                + self.activations_per_sample * BYTES * ACTIVATION_COPIES * batch_size)


def memory_estimate(analysis: Analysis) -> MemoryEstimate:
    activations = sum(info.output.numel for info in analysis.nodes.values() if info.output is not None)
    return MemoryEstimate(analysis.total_params, activations)


def device_memory(device: str) -> tuple[str, int | None]:
    """(a readable name, total bytes or None when unknown) of a settings device value."""
    if device in ("auto", "cuda") or device.startswith("cuda:"):
        import torch

        if torch.cuda.is_available():
            index = int(device.split(":", 1)[1]) if ":" in device else 0
            if index < torch.cuda.device_count():
                props = torch.cuda.get_device_properties(index)
                return f"cuda:{index} ({props.name})", int(props.total_memory)
        if device != "auto":
            return device, None
    if device == "mps":
        return "mps (shares the machine's memory)", _ram()
    return "cpu (this machine's memory)", _ram()


def _ram() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_warnings(analysis: Analysis, device: str = "auto", batch_size: int = 64) -> list[str]:
    """Readable warnings when the weights, or training them, would not fit on `device`."""
    estimate = memory_estimate(analysis)
    training = estimate.training_bytes(batch_size)
    if training <= CHECK_ABOVE:
        return []
    name, total = device_memory(device)
    if total is None:
        return []
    if estimate.weight_bytes > total:
        return [f"the weights alone need {format_bytes(estimate.weight_bytes)} "
                f"({estimate.parameters:,} parameters as float32) but {name} has {format_bytes(total)}"]
    if training > total:
        activations = estimate.activations_per_sample * BYTES * ACTIVATION_COPIES * batch_size
        return [f"training needs about {format_bytes(training)} (weights, gradients and optimiser state "
                f"{format_bytes(training - activations)}; activations for a batch of {batch_size} "
                f"{format_bytes(activations)}) but {name} has {format_bytes(total)}: shrink the network "
                "or the batch size"]
    return []


def format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PB"
