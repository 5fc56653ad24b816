"""Commands from whoever started the run: pause, resume, stop, set_probes, set_lr, explain.

Commands are plain dicts (``{"cmd": "pause"}``, ``{"cmd": "set_probes", "nodes": ["conv1"]}``)
read from a `CommandSource` (a pipe in the worker, a queue in-process). `Control` is a callback
that reads them at every progress report (about 10 times a second) and at epoch boundaries, so it
never slows the hot loop. Commands other than the first five go to the `handlers` given by name
(``explain``: the selected sample for the live Grad-CAM, `engine.explain.live`). Pausing blocks
inside the callback, between two steps, until resume or stop arrives; stop sets
``trainer.should_stop`` and the step in flight finishes first.

``{"cmd": "set_lr", "lr": 0.01}`` sets the learning rate by hand (also while paused): it is written
into the optimiser's parameter groups at once, so the next step uses it, and the schedule carries
on from it (`engine.train.optim.LRSchedule.set_rate`: every later rate is scaled by the same
factor). Each change is sent as an ``lr_changed`` message and handed to `on_lr_change` (the
session adds it to the run record). A rate that is not a positive finite number is refused with a
warning in the log.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Callable
from typing import Any, Protocol

from engine import telemetry as t
from engine.train.callbacks import Callback, EpochRecord, Progress
from engine.train.trainer import Trainer

Command = dict[str, Any]
COMMANDS = ("pause", "resume", "stop", "set_probes", "set_lr", "explain")
PAUSE_POLL = 0.1  # seconds between looks at the command source while paused


class CommandSource(Protocol):
    def poll(self, timeout: float = 0.0) -> list[Command]:
        """Pending commands, waiting up to `timeout` seconds for the first one."""
        ...


class QueueCommands:
    """Commands from a `queue.Queue` (in-process runs and tests)."""

    def __init__(self, q: queue.Queue[Command] | None = None) -> None:
        self.queue: queue.Queue[Command] = q if q is not None else queue.Queue()

    def put(self, command: Command) -> None:
        self.queue.put(command)

    def poll(self, timeout: float = 0.0) -> list[Command]:
        out: list[Command] = []
        try:
            out.append(self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait())
            while True:
                out.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return out


class Control(Callback):
    """Applies commands to a running trainer."""

    def __init__(self, run_id: str, source: CommandSource, emit: Callable[[t.Message], None],
                 set_probes: Callable[[list[str]], None] | None = None,
                 on_lr_change: Callable[[dict[str, Any]], None] | None = None,
                 handlers: dict[str, Callable[[Command], None]] | None = None) -> None:
        self.run_id, self.source, self.emit, self.set_probes = run_id, source, emit, set_probes
        self.on_lr_change = on_lr_change
        self.handlers = dict(handlers or {})  # further commands by name (explain: engine.explain.live)

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._apply(trainer, self.source.poll())

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        self._apply(trainer, self.source.poll())

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        self._apply(trainer, self.source.poll())

    def _apply(self, trainer: Trainer, commands: list[Command]) -> None:
        for command in commands:
            name = command.get("cmd")
            if name == "stop":
                self._stop(trainer)
            elif name == "pause" and not trainer.should_stop:
                self._pause(trainer)
            elif name == "set_probes":
                self._probes(command)
            elif name == "set_lr":
                self._set_lr(trainer, command)
            elif name in self.handlers:
                self.handlers[name](command)

    def _set_lr(self, trainer: Trainer, command: Command) -> None:
        lr = command.get("lr")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            self.emit(t.Log(self.run_id, f"learning rate {lr!r} refused: it must be a positive number", "warning"))
            return
        previous = trainer.lr
        trainer.setup.schedule.set_rate(float(lr), trainer.step)
        applied = [float(g["lr"]) for g in trainer.setup.optimizer.param_groups]
        steps = max(1, trainer.setup.batches.steps_per_epoch)
        done = trainer.step - trainer.epoch * steps  # steps of the current epoch already taken
        change = {"step": trainer.step, "epoch": trainer.epoch, "epoch_fraction": min(1.0, max(0.0, done / steps)),
                  "lr": float(lr), "previous": float(previous)}
        if self.on_lr_change is not None:
            self.on_lr_change(dict(change))
        self.emit(t.LRChanged(self.run_id, applied=applied, **change))
        self.emit(t.Log(self.run_id, f"learning rate set to {lr:g} (was {previous:g}) after step {trainer.step}"))

    def _stop(self, trainer: Trainer) -> None:
        if not trainer.should_stop:
            trainer.should_stop = True
            self.emit(t.Status(self.run_id, "stopping"))

    def _probes(self, command: Command) -> None:
        nodes = command.get("nodes", [])
        if self.set_probes is not None and isinstance(nodes, list):
            self.set_probes([str(n) for n in nodes])

    def _pause(self, trainer: Trainer) -> None:
        self.emit(t.Status(self.run_id, "paused"))
        while True:
            for command in self.source.poll(PAUSE_POLL):
                name = command.get("cmd")
                if name == "stop":
                    self._stop(trainer)
                    return
                if name == "resume":
                    trainer.mark_idle()
                    self.emit(t.Status(self.run_id, "running"))
                    return
                if name == "set_probes":
                    self._probes(command)
                elif name == "set_lr":
                    self._set_lr(trainer, command)
                elif name in self.handlers:
                    self.handlers[name](command)
