"""The studio's side of a training run: drains the worker on a timer and re-emits typed Qt signals.

`RunController.start(source, run_id)` starts a worker (`engine.runner.RunHandle`, imported only
then, so the editor never loads torch on its own) or takes any client with the same
``poll/pause/resume/stop/set_probes/close`` methods through `attach` (tests use `LocalRun` or a
scripted stream). A QTimer drains ``poll()`` about 30 times a second. Each tick coalesces what
arrived: every scalar (steps, epochs, logs) is passed on as one batch, pictures and statistics as
the latest message per node, the confusion matrix, sample predictions and the recipes' and
explanations' pictures (reconstructions, generated samples, explanations) as the latest one. Then
it emits at most one signal of each kind and `tick_finished`, which panels use to redraw at most
once per tick. The time each tick takes (drain, dispatch and every panel handler and redraw it
triggers) is kept in `tick_ms` (wall) and `tick_cpu_ms` (the GUI thread's CPU time), so tests
can hold the GUI thread to its frame budget.

The controller never touches a widget or the document: panels and the training UI subscribe to
its signals. It tells a worker that died apart from one that finished (the handle reports that as
an ``error`` of kind ``worker_died`` plus a failed ``finished``). A finished run's files are read
as bytes on a pool thread (`RunClient.run_files`: nothing decoded, nothing re-encoded) and handed
over with `run_files_read`; the worker is closed only after that.

Warm worker: `prepare_worker()` spawns a worker process (`engine.runner.Worker`, spawn context)
that imports torch in the background and then waits; `start` hands the job to it, so the first
step comes without the cost of a new process and a torch import. After each run a fresh one is
prepared; `shutdown` ends it. All of this imports no torch into the studio process.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from engine import telemetry as t
from engine.project import Project
from engine.runner import RunClient, Worker
from engine.train.formatting import format_duration
from engine.train.job import TrainingJob

POLL_MS = 33  # about 30 drains a second
REAP_S = 5.0  # how long a finished worker may take to exit before it is closed by force

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"
_PER_NODE = {"feature_maps": "feature_maps_arrived", "weight_stats": "weight_stats_arrived",
             "grad_stats": "grad_stats_arrived", "activation_stats": "activation_stats_arrived",
             "latent_points": "latent_arrived"}
_BATCHED = {"step": "steps_arrived", "epoch": "epochs_arrived", "log": "logs_arrived",
            "lr_changed": "lr_changes_arrived", "lr_find_points": "lr_find_points_arrived"}
_LATEST = {"confusion_matrix": "confusion_arrived", "sample_predictions": "predictions_arrived",
           "lr_find_suggestion": "lr_find_suggestion_arrived", "weights_carried": "weights_carried_arrived",
           "reconstructions": "reconstructions_arrived", "generated_samples": "generated_arrived",
           "explanation": "explanation_arrived"}


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
        left = "" if self.eta_s is None else f" · {format_duration(self.eta_s)} left"
        return (f"Epoch {min(self.epoch + 1, self.epochs)}/{self.epochs} · step "
                f"{self.epoch_step}/{self.steps_per_epoch}{left}")


def _typed(raw: list[dict[str, Any]], run_id: str) -> list[t.Message]:
    """The worker's dicts as typed messages; one that does not fit its type becomes a warning in the log."""
    out: list[t.Message] = []
    for data in raw:
        try:
            out.append(t.from_dict(data))
        except t.TelemetryError as exc:
            out.append(t.Log(run_id, f"dropped a malformed telemetry message: {exc}", "warning"))
    return out


class _FilesSignals(QObject):
    read = Signal(object, str, object)  # client, run id, {file name: bytes}
    failed = Signal(object, str, str)  # client, run id, reason


class _ReadFiles(QRunnable):
    """Reads a finished run's files as bytes off the GUI thread."""

    def __init__(self, client: RunClient, run_id: str, signals: _FilesSignals) -> None:
        super().__init__()
        self.client, self.run_id, self.signals = client, run_id, signals

    def run(self) -> None:
        try:
            files = self.client.run_files()
        except Exception as exc:  # a run folder that cannot be read loses the run, never the studio
            with contextlib.suppress(RuntimeError):
                self.signals.failed.emit(self.client, self.run_id, str(exc))
            return
        with contextlib.suppress(RuntimeError):  # the controller is gone (the window closed)
            self.signals.read.emit(self.client, self.run_id, files)


class RunController(QObject):
    """One training run at a time, drained on a ~30 Hz timer."""

    state_changed = Signal(str)  # idle, starting, running, paused, stopping
    run_started = Signal(t.RunStarted)
    steps_arrived = Signal(object)  # list: [t.Step, ...] since the last tick
    epochs_arrived = Signal(object)  # list: [t.Epoch, ...]
    logs_arrived = Signal(object)  # list: [t.Log, ...]
    feature_maps_arrived = Signal(object)  # dict: {node_id: latest t.FeatureMaps}
    weight_stats_arrived = Signal(object)  # dict: {node_id: latest t.ParamStats}
    grad_stats_arrived = Signal(object)  # dict: {node_id: latest t.GradStats}
    activation_stats_arrived = Signal(object)  # dict: {node_id: latest t.ActivationStats}
    confusion_arrived = Signal(t.ConfusionMatrix)  # the latest one
    predictions_arrived = Signal(t.SamplePredictions)  # the latest one
    lr_changes_arrived = Signal(object)  # list: [t.LRChanged, ...] (rates set by hand while training)
    lr_find_points_arrived = Signal(object)  # list: [t.LRFindPoints, ...] (a learning-rate sweep)
    lr_find_suggestion_arrived = Signal(t.LRFindSuggestion)  # the end of a sweep
    weights_carried_arrived = Signal(t.WeightsCarried)  # a forked run's report
    reconstructions_arrived = Signal(t.Reconstructions)  # the latest one (autoencoder recipes)
    generated_arrived = Signal(t.GeneratedSamples)  # the latest one (GAN and VAE recipes)
    latent_arrived = Signal(object)  # dict: {node_id ("None": a VAE's latent): latest t.LatentPoints}
    explanation_arrived = Signal(t.Explanation)  # the latest one (live Grad-CAM of the selected sample)
    error_arrived = Signal(t.Error)  # one error
    progress_changed = Signal(RunProgress)
    run_finished = Signal(t.Finished)
    run_files_read = Signal(str, object)  # run id, {file name: bytes} of a finished run that saved files
    run_files_failed = Signal(str, str)  # run id, why its files could not be read
    tick_finished = Signal()  # everything of one tick has been emitted

    def __init__(self, parent: QObject | None = None, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.handle: RunClient | None = None
        self.spare: Worker | None = None  # a warm worker waiting for the next job
        self.warm_workers = False  # prepare a fresh spare after each run (the studio turns this on)
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
        self._reading: RunClient | None = None  # a finished client whose files are being read
        self._files = _FilesSignals(self)
        self._files.read.connect(self._files_read)
        self._files.failed.connect(self._files_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.tick)

    # ---- starting and commands ---------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether a run is under way (starting, running, paused or stopping)."""
        return self.state != IDLE

    def prepare_worker(self) -> None:
        """Spawn a warm worker now, unless one is waiting (it imports torch in its own process)."""
        if self.spare is not None and self.spare.alive and not self.spare.used:
            return
        self.spare = Worker.spawn()

    def start(self, source: Project | TrainingJob, run_id: str, *, base_dir: str | Path | None = None,
              launcher: Callable[..., RunClient] | None = None) -> None:
        """Start `source` (a Project, TrainingJob or (document, dataset, settings)) in a worker.

        Args:
            launcher: ``launcher(source, run_id=..., base_dir=...)`` returning a client (tests pass
                `LocalRun.start`); by default the warm worker takes the job, or a new one is spawned.
        """
        if self.active:
            raise RuntimeError("a run is already in progress")
        if launcher is not None:
            client = launcher(source, run_id=run_id, base_dir=base_dir)
        else:
            worker, self.spare = self.spare, None
            if worker is None or not worker.alive or worker.used:
                worker = Worker.spawn()
            client = worker.start(source, run_id=run_id, base_dir=base_dir)
        self.attach(client, run_id)

    def attach(self, handle: RunClient, run_id: str) -> None:
        """Follow an already started client (anything with RunHandle's methods)."""
        if self.active:
            raise RuntimeError("a run is already in progress")
        if self.handle is not None and self.handle is not self._reading:  # finished, not exited yet
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

    def set_lr(self, lr: float) -> bool:
        """Train with this learning rate from the next step on; False when no run can take it now."""
        if self.handle is None or self.state not in (RUNNING, PAUSED):
            return False
        self.handle.set_lr(float(lr))
        return True

    def explain(self, sample: dict[str, Any] | None, node_id: str | None = None) -> None:
        """Refresh Grad-CAM of `sample` ({"split", "index"}; None: stop) at each epoch of the run under way."""
        send = getattr(self.handle, "explain", None)  # scripted test clients may not take the command
        if send is not None and self.state in (STARTING, RUNNING, PAUSED):
            send(sample, node_id)

    def shutdown(self) -> None:
        """Stop and close any worker now, the warm one too (the studio is closing)."""
        self._timer.stop()
        self.warm_workers = False
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.spare is not None:
            self.spare.close()
            self.spare = None
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

    def _dispatch(self, raw: list[dict[str, Any]]) -> None:
        batched: dict[str, list[t.Message]] = {k: [] for k in _BATCHED}
        per_node: dict[str, dict[str, t.Message]] = {k: {} for k in _PER_NODE}
        latest: dict[str, t.Message] = {}
        errors: list[t.Error] = []
        finished: t.Finished | None = None
        started: t.RunStarted | None = None
        for m in _typed(raw, self.run_id or ""):
            kind = m.TYPE
            if kind in batched:
                batched[kind].append(m)
            elif kind in per_node:
                per_node[kind][str(getattr(m, "node_id", ""))] = m
            elif kind in _LATEST:
                latest[kind] = m
            elif isinstance(m, t.Status):
                self._on_status(m.state)
            elif isinstance(m, t.Error):
                errors.append(m)
            elif isinstance(m, t.RunStarted):
                started = m
            elif isinstance(m, t.Finished):
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
        self._update_progress(batched["step"], batched["epoch"])  # type: ignore[arg-type]
        self.tick_finished.emit()
        if finished is not None:
            self._on_finished(finished)

    def _on_started(self, message: t.RunStarted) -> None:
        self.probes = list(self.probes or message.probes)
        self.progress.epochs = int(message.epochs)
        self.progress.steps_per_epoch = int(message.steps_per_epoch)
        if self.state == STARTING:
            self._set_state(RUNNING)
        self.run_started.emit(message)

    def _on_status(self, state: str) -> None:
        if state in (RUNNING, PAUSED, STOPPING) and self.state != IDLE:
            if state == RUNNING:
                self._first_step_at = None  # time left restarts its clock after a pause
            self._set_state(state)

    def _update_progress(self, steps: list[t.Step], epochs: list[t.Epoch]) -> None:
        p = self.progress
        if not steps and not epochs:
            return
        if steps:
            last = steps[-1]
            p.epoch, p.epoch_step = int(last.epoch), round(float(last.epoch_fraction) * p.steps_per_epoch)
            done = (p.epoch + float(last.epoch_fraction)) / max(p.epochs, 1)
            now = time.monotonic()
            if self._first_step_at is None:
                self._first_step_at, self._first_fraction = now, done
            elif done > self._first_fraction:
                rate = (done - self._first_fraction) / (now - self._first_step_at)
                p.eta_s = (1.0 - done) / rate if rate > 0 else None
            p.fraction = done
        if epochs:
            last = epochs[-1]
            p.fraction = max(p.fraction, (int(last.epoch) + 1) / max(p.epochs, 1))
            p.eta_s = float(last.eta_s) if p.eta_s is None else p.eta_s
        self.progress_changed.emit(p)

    def _on_finished(self, message: t.Finished) -> None:
        self._finished_at = time.monotonic()
        if message.record_dir and message.weights and self.handle is not None:
            self._reading = self.handle  # the folder stays until its files are read
            QThreadPool.globalInstance().start(_ReadFiles(self.handle, message.run_id, self._files))
        self._set_state(IDLE)
        self.run_finished.emit(message)
        self._reap()
        if self.warm_workers:
            self.prepare_worker()

    def _files_read(self, client: RunClient, run_id: str, files: dict[str, bytes]) -> None:
        self._done_reading(client)
        self.run_files_read.emit(run_id, files)

    def _files_failed(self, client: RunClient, run_id: str, reason: str) -> None:
        self._done_reading(client)
        self.run_files_failed.emit(run_id, reason)
        self.error_arrived.emit(t.Error(run_id, f"the finished run could not be read back: {reason}"))

    def _done_reading(self, client: RunClient) -> None:
        if self._reading is client:
            self._reading = None
        if self.handle is not client:  # reaped while the files were read: its folder can go now
            client.close()

    def _reap(self) -> None:
        """Close a finished worker once its process has exited (never block the GUI waiting)."""
        handle = self.handle
        if handle is None:
            return
        alive = getattr(handle, "alive", False)
        if alive and time.monotonic() - (self._finished_at or 0.0) < REAP_S:
            return
        self._timer.stop()
        self.handle = None
        if self._reading is not handle:  # else closed (and its folder removed) once its files are read
            handle.close()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
