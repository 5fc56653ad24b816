"""The optimiser and the learning-rate schedule of a run.

`make_optimizer` builds the torch optimiser the settings name: Adam, AdamW and SGD use torch's fused
kernels on the CPU and CUDA (one kernel for all parameters instead of a dozen small ops each:
about a third off a small MLP's CPU step).
`LRSchedule` computes the learning rate for every step from one formula: a linear warm-up over
``warmup_epochs`` times the chosen schedule (step, cosine, one_cycle) times the reductions that
reduce_on_plateau has made so far, times the scale of a rate set by hand while training. It writes
the rate into the optimiser's parameter groups itself, so warm-up and plateau reductions combine
without torch schedulers overwriting each other, and it skips the write entirely when the rate
cannot change (no schedule, no warm-up).

A rate set by hand (`set_rate`, the Training panel's live control) takes effect at once and the
schedule keeps working from it: the manual scale becomes new rate / the rate the schedule would
have given at that step, so warm-up, decay and plateau cuts go on in the same shape from the new
value (set 0.01 half way through a cosine schedule at 0.005 and every later rate is doubled).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from engine.train.settings import OptimizerSettings, ScheduleSettings

ONE_CYCLE_RISE = 0.3  # fraction of steps spent rising to the peak (torch's OneCycleLR default)
ONE_CYCLE_START = 25.0  # the rate starts at peak / 25
ONE_CYCLE_END = 1e4  # and ends at start / 1e4
FUSED_DEVICES = ("cpu", "cuda")  # where torch has fused Adam, AdamW and SGD kernels


def make_optimizer(params: Iterable[torch.nn.Parameter], opt: OptimizerSettings,
                   device: torch.device) -> torch.optim.Optimizer:
    params = list(params)
    fused = device.type in FUSED_DEVICES and all(p.is_floating_point() for p in params)
    if opt.kind == "sgd":
        return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov,
                               weight_decay=opt.weight_decay, fused=fused or None)
    if opt.kind == "adam":
        return torch.optim.Adam(params, lr=opt.lr, weight_decay=opt.weight_decay, fused=fused or None)
    if opt.kind == "adamw":
        return torch.optim.AdamW(params, lr=opt.lr, weight_decay=opt.weight_decay, fused=fused or None)
    if opt.kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=opt.lr, momentum=opt.momentum, weight_decay=opt.weight_decay)
    if opt.kind == "adagrad":
        return torch.optim.Adagrad(params, lr=opt.lr, weight_decay=opt.weight_decay)
    raise ValueError(f"unknown optimizer {opt.kind!r}")


class LRSchedule:
    """The learning rate of every step, written into an optimiser."""

    def __init__(self, optimizer: torch.optim.Optimizer, lr: float, sched: ScheduleSettings, epochs: int,
                 steps_per_epoch: int) -> None:
        self.optimizer = optimizer
        self.base = lr
        self.sched = sched
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total = max(1, epochs * self.steps_per_epoch)
        self.warmup = sched.warmup_epochs * self.steps_per_epoch
        self.plateau_scale = 1.0
        self.manual_scale = 1.0  # a rate set by hand scales the schedule from then on
        self._best = math.inf
        self._bad_epochs = 0
        self.constant = sched.kind in ("none", "reduce_on_plateau") and self.warmup == 0
        self.lr = self.rate(0)
        self._write(self.lr)

    def rate(self, step: int) -> float:
        """The learning rate for the step with this 0-based index."""
        factor = 1.0
        if step < self.warmup:
            factor = (step + 1) / self.warmup
        kind = self.sched.kind
        # t runs from 0 to span on the last step, so cosine and one_cycle end exactly at their floor
        t, span = max(0, step - self.warmup), max(1, self.total - self.warmup - 1)
        if kind == "step":
            factor *= self.sched.gamma ** ((step // self.steps_per_epoch) // self.sched.step_size)
        elif kind == "cosine":
            floor = min(1.0, self.sched.min_lr / self.base)
            factor *= floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, span) / span))
        elif kind == "one_cycle":
            factor *= _one_cycle(t, span)
        lr = self.base * factor * self.plateau_scale * self.manual_scale
        return max(lr, self.sched.min_lr) if kind == "reduce_on_plateau" else lr

    def before_step(self, step: int) -> None:
        """Set the rate for `step`; free when the rate is constant."""
        if self.constant:
            return
        lr = self.rate(step)
        if lr != self.lr:
            self.lr = lr
            self._write(lr)

    def set_rate(self, lr: float, step: int) -> None:
        """Use `lr` from step `step` on (0-based index of the next step); the schedule continues from it."""
        self.manual_scale = 1.0
        scheduled = self.rate(step)
        # a schedule at zero (warm-up start, a cosine's floor of 0) cannot be scaled: scale the base instead
        self.manual_scale = lr / scheduled if scheduled > 0 else lr / self.base
        self.lr = lr
        self._write(lr)

    def after_epoch(self, val_loss: float | None, next_step: int) -> None:
        """Let reduce_on_plateau look at the epoch's validation loss."""
        if self.sched.kind != "reduce_on_plateau" or val_loss is None or not math.isfinite(val_loss):
            return
        improved = self._best == math.inf or val_loss < self._best - abs(self._best) * 1e-4
        if improved:
            self._best, self._bad_epochs = val_loss, 0
            return
        self._bad_epochs += 1
        if self._bad_epochs > self.sched.patience:
            self.plateau_scale *= self.sched.factor
            self._bad_epochs = 0
            self.lr = self.rate(next_step)
            self._write(self.lr)

    def _write(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr


def _one_cycle(t: int, span: int) -> float:
    """Cosine rise from peak/25 to the peak, then cosine fall to peak/25/1e4 (as OneCycleLR)."""
    start = 1.0 / ONE_CYCLE_START
    end = start / ONE_CYCLE_END
    rise = max(1.0, ONE_CYCLE_RISE * span)
    if t < rise:
        return _cos_between(start, 1.0, t / rise)
    return _cos_between(1.0, end, min(1.0, (t - rise) / max(1.0, span - rise)))


def _cos_between(a: float, b: float, frac: float) -> float:
    return b + (a - b) * 0.5 * (1 + math.cos(math.pi * frac))
