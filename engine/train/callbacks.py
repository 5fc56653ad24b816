"""Callbacks: how anything outside the training loop takes part in it.

A `Callback` subclass overrides only the hooks it needs; every hook does nothing by default. The
trainer calls them in this order::

    on_run_start
      on_epoch_start
        on_step_end            every step: keep it cheap, never sync with the device here
        on_progress            about 10 times a second, with synced scalars (loss, lr, samples/s)
      on_validation_end        validation metrics of the epoch
      on_epoch_end             the epoch's record (train and validation metrics, best so far)
    on_test_end                test metrics and confusion matrix, after the last epoch
    on_error                   a failure, already diagnosed (message, node, traceback)
    on_log                     a line for the user (any time)
    on_run_end                 always last, with the final status

To end a run, a callback sets ``trainer.should_stop = True`` (the step in flight finishes, then the
run ends as 'stopped' unless the callback also sets ``trainer.stop_status``); there are no
exceptions for control flow. Callbacks receive the trainer and read its public state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.train.trainer import Trainer


@dataclass
class Progress:
    """Synced scalars of the steps since the last progress report."""

    step: int  # global step count (completed steps)
    epoch: int  # 0-based
    epoch_step: int  # completed steps in this epoch
    loss: float  # mean loss of the steps since the last report
    lr: float
    samples_per_s: float
    elapsed_s: float


@dataclass
class EpochRecord:
    """What one epoch produced."""

    epoch: int  # 0-based
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    seconds: float
    best: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    """A run-ending problem, described for the user."""

    message: str
    kind: str = "error"  # non_finite, out_of_memory, shape, error
    node_id: str | None = None
    traceback: str = ""


class Callback:
    """Base class: every hook does nothing."""

    def on_run_start(self, trainer: Trainer) -> None: ...

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None: ...

    def on_step_end(self, trainer: Trainer) -> None: ...

    def on_progress(self, trainer: Trainer, progress: Progress) -> None: ...

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None: ...

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None: ...

    def on_test_end(self, trainer: Trainer, metrics: dict[str, float]) -> None: ...

    def on_error(self, trainer: Trainer, failure: Failure) -> None: ...

    def on_log(self, trainer: Trainer, text: str, level: str) -> None: ...

    def on_run_end(self, trainer: Trainer, status: str) -> None: ...


def overrides(callback: Callback, hook: str) -> bool:
    """Whether `callback` replaces the base class's no-op `hook` (so the hot loop can skip it)."""
    return hook in getattr(callback, "__dict__", {}) or getattr(type(callback), hook) is not getattr(Callback, hook)


class CallbackList:
    """Calls a hook on every callback that overrides it, in order (the no-op defaults are never called)."""

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = list(callbacks)
        self.step_callbacks = [c for c in self.callbacks if overrides(c, "on_step_end")]
        self._bound: dict[str, list[Any]] = {}  # hook name -> the overriding callbacks' bound methods

    def call(self, hook: str, *args: Any) -> None:
        methods = self._bound.get(hook)
        if methods is None:
            methods = self._bound[hook] = [getattr(c, hook) for c in self.callbacks if overrides(c, hook)]
        for method in methods:
            method(*args)


class EarlyStopping(Callback):
    """Stops the run when the watched metric has not improved for `patience` epochs."""

    def __init__(self, metric: str = "val_loss", patience: int = 5, mode: str = "min",
                 min_delta: float = 0.0) -> None:
        self.metric, self.patience, self.mode, self.min_delta = metric, patience, mode, min_delta
        self.best = math.inf if mode == "min" else -math.inf
        self.waited = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        value = metric_value(record, self.metric)
        if value is None:
            return
        if self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = record.epoch
            trainer.stop_status = "completed"  # stopping early is a normal end of training
            trainer.should_stop = True
            trainer.log(f"early stopping: {self.metric} has not improved for {self.patience} epochs "
                        f"(best {self.best:.4g})")


def metric_value(record: EpochRecord, name: str) -> float | None:
    """A metric such as 'val_loss' or 'train_accuracy' from an epoch record."""
    split, _, key = name.partition("_")
    source = record.val if split == "val" else record.train if split == "train" else {}
    value = source.get(key)
    return None if value is None or not math.isfinite(value) else float(value)
