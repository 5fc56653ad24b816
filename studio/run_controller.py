"""The studio's side of a training run: drains the worker on a timer and re-emits typed Qt signals.

`RunController.start(source, run_id)` starts a worker (`engine.runner.RunHandle`, imported only
then, so the editor never loads torch on its own) or takes any client with the same
``poll/pause/resume/stop/set_probes/close`` methods through `attach` (tests use `LocalRun` or a
scripted stream). A QTimer drains ``poll()`` about 30 times a second. Each tick coalesces what
arrived: every scalar (steps, epochs, logs) is passed on as one batch, pictures and statistics as
the latest message per node, the confusion matrix and sample predictions as the latest one. Then
it emits at most one signal of each kind and `tick_finished`, which panels use to redraw at most
once per tick. The time each tick takes (drain, dispatch and every panel handler and redraw it
triggers) is kept in `tick_ms` (wall) and `tick_cpu_ms` (the GUI thread's CPU time), so tests
can hold the GUI thread to its frame budget.

The controller never touches a widget or the document: panels and the training UI subscribe to
its signals. It tells a worker that died apart from one that finished (the handle reports that as
an ``error`` of kind ``worker_died`` plus a failed ``finished``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 33  # about 30 drains a second
REAP_S = 5.0  # how long a finished worker may take to exit before it is closed by force

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"
_PER_NODE = {"feature_maps": "feature_maps_arrived", "weight_stats": "weight_stats_arrived",
             "grad_stats": "grad_stats_arrived", "activation_stats": "activation_stats_arrived"}
_BATCHED = {"step": "steps_arrived", "epoch": "epochs_arrived", "log": "logs_arrived"}
_LATEST = {"confusion_matrix": "confusion_arrived", "sample_predictions": "predictions_arrived"}


@dataclass
class RunProgress:
    """Where a run stands, for the status bar."""

    epoch: int = 0  # 0-based epoch in progress
    epochs: int = 0
    epoch_step: int = 0
    steps_per_epoch: int = 0
    fraction: float = 0.0  # of the whole run
    eta_s: float | None = None

    def text(self) -> str:
        if not self.epochs:
            return "starting…"
        left = "" if self.eta_s is None else f" · {_duration(self.eta_s)} left"
        return (f"Epoch {min(self.epoch + 1, self.epochs)}/{self.epochs} · step "
                f"{self.epoch_step}/{self.steps_per_epoch}{left}")


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunController(QObject):
    """One training run at a time, drained on a ~30 Hz timer."""

    state_changed = Signal(str)  # idle, starting, running, paused, stopping
    run_started = Signal(object)  # the run_started message
    steps_arrived = Signal(object)  # [step message, ...] since the last tick
    epochs_arrived = Signal(object)  # [epoch message, ...]
    logs_arrived = Signal(object)  # [log message, ...]
    feature_maps_arrived = Signal(object)  # {node_id: latest feature_maps message}
    weight_stats_arrived = Signal(object)  # {node_id: latest weight_stats message}
    grad_stats_arrived = Signal(object)  # {node_id: latest grad_stats message}
    activation_stats_arrived = Signal(object)  # {node_id: latest activation_stats message}
    confusion_arrived = Signal(object)  # the latest confusion_matrix message
    predictions_arrived = Signal(object)  # the latest sample_predictions message
    error_arrived = Signal(object)  # one error message
    progress_changed = Signal(object)  # RunProgress
    run_finished = Signal(object, object)  # the finished message, the RunRecord (or None)
    tick_finished = Signal()  # everything of one tick has been emitted

    def __init__(self, parent: QObject | None = None, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.handle: Any = None
        self.interval_ms = interval_ms
        self.run_id: str | None = None
        self.state = IDLE
        self.progress = RunProgress()
        self.probes: list[str] = []
        self.tick_ms: deque[float] = deque(maxlen=100_000)  # wall time of each tick
        self.tick_cpu_ms: deque[float] = deque(maxlen=100_000)  # this thread's CPU time of each tick
        self.tick_started = time.perf_counter()
        self.messages_seen = 0
        self._first_step_at: float | None = None
        self._first_fraction = 0.0
        self._finished_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.tick)

    # ---- starting and commands ---------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether a run is under way (starting, running, paused or stopping)."""
        return self.state != IDLE

    def start(self, source: Any, run_id: str, *, base_dir: str | Path | None = None,
              launcher: Callable[..., Any] | None = None) -> None:
        """Start a worker for `source` (a Project, TrainingJob or (document, dataset, settings)).

        Args:
            launcher: ``launcher(source, run_id=..., base_dir=...)`` returning a client; the default
                is `engine.runner.RunHandle.start` (a spawned process).
        """
        if self.active:
            raise RuntimeError("a run is already in progress")
        if launcher is None:
            from engine.runner import RunHandle

            launcher = RunHandle.start
        self.attach(launcher(source, run_id=run_id, base_dir=base_dir), run_id)

    def attach(self, handle: Any, run_id: str) -> None:
        """Follow an already started client (anything with RunHandle's methods)."""
        if self.active:
            raise RuntimeError("a run is already in progress")
        if self.handle is not None:  # the previous worker has finished but not exited yet
            self.handle.close()
        self.handle, self.run_id = handle, run_id
        self.progress = RunProgress()
        self.probes = []
        self.messages_seen = 0
        self._first_step_at = self._finished_at = None
        self._set_state(STARTING)
        self._timer.start()

    def pause(self) -> None:
        if self.state == RUNNING:
            self.handle.pause()

    def resume(self) -> None:
        if self.state == PAUSED:
            self.handle.resume()

    def stop(self) -> None:
        """Ask the run to stop after the step in flight; it saves and says finished."""
        if self.state in (STARTING, RUNNING, PAUSED):
            self.handle.stop()
            self._set_state(STOPPING)

    def set_probes(self, node_ids: list[str]) -> None:
        """Stream feature maps of these nodes from now on (no restart)."""
        if self.handle is not None and self.state in (STARTING, RUNNING, PAUSED) and node_ids != self.probes:
            self.probes = list(node_ids)
            self.handle.set_probes(self.probes)

    def shutdown(self) -> None:
        """Stop and close any worker now (the studio is closing)."""
        self._timer.stop()
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        self._set_state(IDLE)

    # ---- the timer -------------------------------------------------------------------
    def tick(self) -> None:
        """Drain the worker once and emit what arrived (the timer calls this)."""
        if self.handle is None:
            self._timer.stop()
            return
        started, cpu = time.perf_counter(), time.thread_time()
        self.tick_started = started
        if self._finished_at is not None:
            self._reap()
        else:
            messages = self.handle.poll()
            if messages:
                self.messages_seen += len(messages)
                self._dispatch(messages)
        self.tick_ms.append((time.perf_counter() - started) * 1000.0)
        self.tick_cpu_ms.append((time.thread_time() - cpu) * 1000.0)

    def _dispatch(self, messages: list[dict[str, Any]]) -> None:
        batched: dict[str, list[dict[str, Any]]] = {k: [] for k in _BATCHED}
        per_node: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in _PER_NODE}
        latest: dict[str, dict[str, Any]] = {}
        errors: list[dict[str, Any]] = []
        finished = started = None
        for m in messages:
            kind = m.get("type")
            if kind in batched:
                batched[kind].append(m)
            elif kind in per_node:
                per_node[kind][str(m.get("node_id"))] = m
            elif kind in _LATEST:
                latest[kind] = m
            elif kind == "status":
                self._on_status(str(m.get("state")))
            elif kind == "error":
                errors.append(m)
            elif kind == "run_started":
                started = m
            elif kind == "finished":
                finished = m
        if started is not None:
            self._on_started(started)
        for kind, items in batched.items():
            if items:
                getattr(self, _BATCHED[kind]).emit(items)
        for kind, by_node in per_node.items():
            if by_node:
                getattr(self, _PER_NODE[kind]).emit(by_node)
        for kind, message in latest.items():
            getattr(self, _LATEST[kind]).emit(message)
        for error in errors:
            self.error_arrived.emit(error)
        self._update_progress(batched["step"], batched["epoch"])
        self.tick_finished.emit()
        if finished is not None:
            self._on_finished(finished)

    def _on_started(self, message: dict[str, Any]) -> None:
        self.probes = list(self.probes or message.get("probes", []))
        self.progress.epochs = int(message.get("epochs", 0))
        self.progress.steps_per_epoch = int(message.get("steps_per_epoch", 0))
        if self.state == STARTING:
            self._set_state(RUNNING)
        self.run_started.emit(message)

    def _on_status(self, state: str) -> None:
        if state in (RUNNING, PAUSED, STOPPING) and self.state != IDLE:
            if state == RUNNING:
                self._first_step_at = None  # time left restarts its clock after a pause
            self._set_state(state)

    def _update_progress(self, steps: list[dict[str, Any]], epochs: list[dict[str, Any]]) -> None:
        p = self.progress
        if not steps and not epochs:
            return
        if steps:
            last = steps[-1]
            p.epoch, p.epoch_step = int(last["epoch"]), round(float(last["epoch_fraction"]) * p.steps_per_epoch)
            done = (p.epoch + float(last["epoch_fraction"])) / max(p.epochs, 1)
            now = time.monotonic()
            if self._first_step_at is None:
                self._first_step_at, self._first_fraction = now, done
            elif done > self._first_fraction:
                rate = (done - self._first_fraction) / (now - self._first_step_at)
                p.eta_s = (1.0 - done) / rate if rate > 0 else None
            p.fraction = done
        if epochs:
            last = epochs[-1]
            p.fraction = max(p.fraction, (int(last["epoch"]) + 1) / max(p.epochs, 1))
            p.eta_s = float(last.get("eta_s", 0.0)) if p.eta_s is None else p.eta_s
        self.progress_changed.emit(p)

    def _on_finished(self, message: dict[str, Any]) -> None:
        record = None
        try:
            record = self.handle.record()
        except Exception as exc:  # a run folder that cannot be read loses the run, never the studio
            self.error_arrived.emit({"type": "error", "run_id": self.run_id, "kind": "error", "node_id": None,
                                     "message": f"the finished run could not be read back: {exc}"})
        self._finished_at = time.monotonic()
        self._set_state(IDLE)
        self.run_finished.emit(message, record)
        self._reap()

    def _reap(self) -> None:
        """Close a finished worker once its process has exited (never block the GUI waiting)."""
        handle = self.handle
        alive = getattr(handle, "alive", False)
        if alive and time.monotonic() - (self._finished_at or 0.0) < REAP_S:
            return
        self._timer.stop()
        self.handle = None
        handle.close()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
