"""A plain-text progress display for headless training.

`ProgressPrinter` is a callback that writes to a stream (stderr by default): on a terminal one
line redrawn with ``\\r`` about 10 times a second (epoch, bar, loss, metric, samples/s, time left),
kept as a line per epoch; elsewhere (a log file, CI) one line per epoch only. Logs and errors get
lines of their own. `format_metrics` and `format_duration` are shared with the CLI's summary.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from engine.train.callbacks import Callback, EpochRecord, Failure, Progress
from engine.train.formatting import format_duration, format_metrics

if TYPE_CHECKING:
    from engine.train.trainer import Trainer

__all__ = ["ProgressPrinter", "format_duration", "format_metrics"]

BAR_WIDTH = 20


class ProgressPrinter(Callback):
    """Progress of a run as text on a stream."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._epoch_started = time.perf_counter()
        self._width = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self.live and self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0
        self._write(text + "\n")

    def on_run_start(self, trainer: Trainer) -> None:
        s, setup = trainer.settings, trainer.setup
        params = sum(p.numel() for p in setup.module.parameters())
        self._line(f"training {params:,} parameters on {setup.device} for {s.epochs} epochs of "
                   f"{setup.batches.steps_per_epoch} steps (batch size {s.batch_size})")

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._epoch_started = time.perf_counter()

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        if not self.live:
            return
        steps = max(trainer.setup.batches.steps_per_epoch, 1)
        fraction = min(progress.epoch_step / steps, 1.0)
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        metric = self._last_metric(trainer)
        left = self._time_left(trainer, fraction)
        text = (f"epoch {progress.epoch + 1}/{trainer.settings.epochs} [{bar}] loss {progress.loss:.4g}"
                f"{metric}  {progress.samples_per_s:,.0f} samples/s  {format_duration(left)} left")
        self._write("\r" + text.ljust(self._width))
        self._width = len(text)

    def _last_metric(self, trainer: Trainer) -> str:
        if not trainer.history:
            return ""
        shown = {k: v for k, v in trainer.history[-1].val.items() if k != "loss"}
        return ("  val " + format_metrics(shown)) if shown else ""

    def _time_left(self, trainer: Trainer, fraction: float) -> float:
        done = trainer.history
        epoch_s = sum(r.seconds for r in done) / len(done) if done else \
            (time.perf_counter() - self._epoch_started) / max(fraction, 1e-3)
        return epoch_s * (trainer.settings.epochs - len(done) - fraction)

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        rate = trainer.setup.batches.samples_per_epoch * trainer.setup.world / max(record.seconds, 1e-9)
        left = self._time_left(trainer, 0.0)
        best = "  *" if record.best else ""
        self._line(f"epoch {record.epoch + 1}/{trainer.settings.epochs}  {format_metrics(record.train)}  "
                   f"{format_metrics(record.val, 'val_')}  {rate:,.0f} samples/s  "
                   f"{format_duration(left)} left{best}")

    def on_log(self, trainer: Trainer, text: str, level: str) -> None:
        self._line(f"{level}: {text}" if level != "info" else text)

    def on_error(self, trainer: Trainer, failure: Failure) -> None:
        self._line(f"error: {failure.message}")
