"""Shared pieces of the exporters: the report, the error, and the output comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An export failed or its file does not reproduce the network's outputs."""


@dataclass
class ExportReport:
    """What an export wrote and how well the file reproduces the torch module."""

    format: str
    path: Path
    bytes: int
    max_abs_diff: float | None = None
    checked_with: str = ""
    notes: list[str] = field(default_factory=list)
    extra_files: list[Path] = field(default_factory=list)  # files that belong with `path` (ONNX external data)
    weights_from: str = ""  # whose weights: "run 'run-3' (best epoch)", "freshly initialised"; "" = unnamed
    run_id: str | None = None  # the run whose weights were written; None for fresh weights

    def line(self) -> str:
        check = (f"max |difference| {self.max_abs_diff:.2e} ({self.checked_with})"
                 if self.max_abs_diff is not None else self.checked_with or "not checked")
        weights = f"; weights: {self.weights_from}" if self.weights_from else ""
        extra = "".join(f" + {p.name}" for p in self.extra_files)
        return f"{self.format}: {self.path}{extra} ({self.bytes:,} bytes){weights}; {check}"


def as_tuple(outputs: object) -> tuple[torch.Tensor, ...]:
    if isinstance(outputs, torch.Tensor):
        return (outputs,)
    return tuple(outputs)  # type: ignore[arg-type]


def max_difference(expected: object, actual: object, what: str) -> float:
    """Largest absolute difference over all outputs; raise ExportError past the tolerance."""
    exp, act = as_tuple(expected), as_tuple(actual)
    if len(exp) != len(act):
        raise ExportError(f"{what} returns {len(act)} outputs, the network {len(exp)}")
    worst = 0.0
    for i, (e, a) in enumerate(zip(exp, act)):
        a = torch.as_tensor(a)
        if tuple(e.shape) != tuple(a.shape):
            raise ExportError(f"{what}: output {i} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
        worst = max(worst, float((e.detach().float() - a.float()).abs().max()) if e.numel() else 0.0)
    scale = max(1.0, max(float(e.detach().abs().max()) for e in exp if e.numel()) if exp else 1.0)
    if worst > TOLERANCE * scale:
        raise ExportError(f"{what} differs from the network by up to {worst:.3g} (tolerance {TOLERANCE * scale:.3g})")
    return worst
