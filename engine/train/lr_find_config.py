"""How a learning-rate sweep runs: its settings and the job task that asks a worker for one. No torch.

`LRFindConfig` holds the sweep's settings (start and end rate, steps, smoothing, divergence factor)
with their checks; `lr_find_task(config)` is the ``task`` a `TrainingJob` carries to make the worker
sweep instead of train (`engine.train.lr_find_job`). The studio and the CLI build jobs with these
without loading torch; the sweep itself is `engine.train.lr_finder`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TASK = "lr_find"


class LRFindError(ValueError):
    """The finder's settings are unusable."""


@dataclass
class LRFindConfig:
    """How the sweep runs; every field has a sensible default."""

    start_lr: float = 1e-7
    end_lr: float = 10.0
    steps: int = 200
    beta: float = 0.98  # smoothing of the loss (exponential moving average)
    diverge: float = 4.0  # stop when the smoothed loss passes this many times the best

    def validate(self) -> None:
        if not (math.isfinite(self.start_lr) and math.isfinite(self.end_lr)) or not 0 < self.start_lr < self.end_lr:
            raise LRFindError(f"the sweep needs 0 < start_lr < end_lr, got {self.start_lr:g} and {self.end_lr:g}")
        if not 10 <= self.steps <= 100_000:
            raise LRFindError(f"the sweep needs 10 to 100000 steps, got {self.steps}")
        if not 0.0 <= self.beta < 1.0:
            raise LRFindError(f"the smoothing beta must be in [0, 1), got {self.beta:g}")
        if not self.diverge > 1.0:
            raise LRFindError(f"the divergence factor must be above 1, got {self.diverge:g}")

    def rate(self, i: int) -> float:
        """The rate of step `i` (0-based): exponential from start_lr to end_lr over the steps."""
        return self.start_lr * (self.end_lr / self.start_lr) ** (i / max(1, self.steps - 1))

    @classmethod
    def from_json(cls, data: Any) -> LRFindConfig:
        if not isinstance(data, dict):
            data = {}
        known = {k: data[k] for k in ("start_lr", "end_lr", "steps", "beta", "diverge") if k in data}
        try:
            config = cls(**{k: (int(v) if k == "steps" else float(v)) for k, v in known.items()})
        except (TypeError, ValueError) as exc:
            raise LRFindError(f"malformed learning-rate finder settings: {exc}") from None
        config.validate()
        return config


def lr_find_task(config: LRFindConfig | None = None) -> dict[str, Any]:
    """The ``task`` of a job that sweeps the learning rate with `config`."""
    return {"kind": TASK, **asdict(config or LRFindConfig())}


def rounded_rate(lr: float) -> float:
    """A suggested rate as it is written into settings: three significant digits (0.00870, not 0.0087015...)."""
    return float(f"{lr:.3g}")
