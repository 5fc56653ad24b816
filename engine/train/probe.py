"""Looking inside the network without slowing training: probe forwards and parameter statistics.

`Probe` keeps a fixed probe batch on the device. `capture(node_ids)` runs one extra no-grad forward
in eval mode with forward hooks registered on exactly the asked-for submodules, and removes them
before returning, so the training forward never carries a hook. `feature_map_array` turns one
sample's activation into at most 32 channels of at most 64×64 float16 values. `activation_stats`
gives mean, std and, for ReLU outputs, the fraction of dead units (zero for every probe sample).
`param_stats` gives per-node norms, moments and 32-bin histograms of weights or gradients, moved
to the host in one transfer per node.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

MAX_CHANNELS = 32
MAX_SIDE = 64
HIST_BINS = 32
FP16_MAX = 65504.0


class Probe:
    """Captures chosen nodes' outputs for a fixed batch by a separate forward pass."""

    def __init__(self, module: fx.GraphModule, inputs: tuple[torch.Tensor, ...],
                 input_ids: list[str]) -> None:
        self.module = module
        self.inputs = inputs
        self.input_ids = input_ids

    def capture(self, node_ids: Iterable[str]) -> dict[str, torch.Tensor]:
        """The outputs of `node_ids` (layer or Input nodes) for the probe batch."""
        wanted = list(dict.fromkeys(node_ids))
        captured: dict[str, torch.Tensor] = {
            node_id: self.inputs[self.input_ids.index(node_id)]
            for node_id in wanted if node_id in self.input_ids
        }
        layers = [n for n in wanted if n not in captured and _has_submodule(self.module, n)]
        if not layers:
            return captured
        handles = [self.module.get_submodule(n).register_forward_hook(_keeper(captured, n)) for n in layers]
        was_training = self.module.training
        try:
            self.module.eval()
            with torch.no_grad():
                self.module(*self.inputs)
        finally:
            for handle in handles:
                handle.remove()
            self.module.train(was_training)
        return captured


def _has_submodule(module: nn.Module, name: str) -> bool:
    try:
        module.get_submodule(name)
    except AttributeError:
        return False
    return True


def _keeper(store: dict[str, torch.Tensor], node_id: str) -> Any:
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, tuple):  # e.g. LSTM returns (output, (h, c)): show the output sequence
            output = output[0]
        if isinstance(output, torch.Tensor):
            store[node_id] = output.detach()

    return hook


def _as_channels(sample: torch.Tensor) -> torch.Tensor:
    """One sample's activation as (channels, height, width)."""
    if sample.dim() == 0:
        return sample.reshape(1, 1, 1)
    if sample.dim() == 1:
        n = sample.numel()
        if n <= MAX_SIDE:
            return sample.reshape(1, 1, n)
        if n > MAX_SIDE * MAX_SIDE:
            sample = F.adaptive_avg_pool1d(sample.reshape(1, 1, n), MAX_SIDE * MAX_SIDE).reshape(-1)
            n = sample.numel()
        rows = math.ceil(n / MAX_SIDE)
        return F.pad(sample, (0, rows * MAX_SIDE - n)).reshape(1, rows, MAX_SIDE)
    if sample.dim() == 2:
        return sample.unsqueeze(0)
    return sample.reshape(sample.shape[0], sample.shape[1], -1)


def feature_map_array(activation: torch.Tensor) -> np.ndarray:
    """The first sample of a batch activation as float16 (≤32 channels, ≤64×64 each)."""
    maps = _as_channels(activation[0].float())[:MAX_CHANNELS]
    h, w = maps.shape[1:]
    if h > MAX_SIDE or w > MAX_SIDE:
        maps = F.adaptive_avg_pool2d(maps.unsqueeze(0), (min(h, MAX_SIDE), min(w, MAX_SIDE))).squeeze(0)
    return maps.clamp(-FP16_MAX, FP16_MAX).to(torch.float16).cpu().numpy()


def activation_stats(activation: torch.Tensor, relu: bool) -> dict[str, float | None]:
    """Mean, std and (for ReLU outputs) the fraction of units that are zero for every probe sample."""
    x = activation.float()
    moments = torch.stack([x.mean(), x.std() if x.numel() > 1 else torch.zeros((), device=x.device)])
    dead = (x.reshape(len(x), -1) > 0).any(dim=0).logical_not().float().mean() if relu and len(x) else None
    values = torch.cat([moments, dead.reshape(1)]) if dead is not None else moments
    out = values.cpu().tolist()
    return {"mean": out[0], "std": out[1], "dead_fraction": out[2] if dead is not None else None}


def _tensor_stats(t: torch.Tensor) -> torch.Tensor:
    t = torch.nan_to_num(t.detach().float().reshape(-1))  # histc refuses a range that is not finite
    lo, hi = t.min(), t.max()
    std = t.std() if t.numel() > 1 else torch.zeros((), device=t.device)
    head = torch.stack([t.norm(), t.mean(), std, lo, hi])
    return torch.cat([head, torch.histc(t, bins=HIST_BINS, min=0, max=0)])  # min=max=0: use data range


def param_stats(module: nn.Module, grads: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """Per node id, per parameter name: norm, mean, std, min, max and a histogram (of grads if asked)."""
    by_node: dict[str, list[tuple[str, torch.Tensor]]] = {}
    for full_name, param in module.named_parameters():
        tensor = param.grad if grads else param
        if tensor is None or tensor.numel() == 0:
            continue
        node_id, _, name = full_name.partition(".")
        by_node.setdefault(node_id, []).append((name or full_name, tensor))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for node_id, entries in by_node.items():
        rows = torch.stack([_tensor_stats(t) for _, t in entries]).cpu().numpy()
        out[node_id] = {name: _stats_dict(row) for (name, _), row in zip(entries, rows)}
    return out


def _stats_dict(row: np.ndarray) -> dict[str, Any]:
    norm, mean, std, lo, hi = (float(v) for v in row[:5])
    return {"norm": norm, "mean": mean, "std": std, "min": lo, "max": hi,
            "hist": row[5:].astype(np.float32), "edges": [lo, hi]}
