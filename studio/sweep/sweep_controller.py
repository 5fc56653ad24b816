"""The studio's side of a running sweep: starts the engine's `SweepRun`, drains it on a timer, re-emits signals.

`SweepController.start(project, config, workers, base_dir)` starts a sweep of the open project (the
engine's `engine.sweep.runner.SweepRun`: trials train in spawned worker processes, the study is the
project's journal copied to a working file, so a Start on a project whose study has trials resumes
it). A QTimer drains ``poll()`` ten times a second; it never blocks: the events are small dicts read
from pipes. Each finished trial's run is attached to the project by the engine, so the controller
emits `trial_finished(event)` and the studio marks the project unsaved and lists the run; the last
event is `finished(summary text)`. `stop()` asks the trials to end at their next report; the
controller keeps draining until the engine says the sweep is over, then closes it (processes joined,
working files removed, the journal kept in the project).

`live_opener()` opens the running sweep's working journal for the Sweep panel's reader: one study
object, opened on the reader's thread the first time and read again each time (Optuna's journal
storage catches up with the lines appended since), so a refresh costs only the new trials.

The controller never touches a widget; torch is never imported here (the workers import it).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import optuna
from PySide6.QtCore import QObject, QTimer, Signal

from engine.project import Project
from engine.sweep.space import SweepConfig

POLL_MS = 100


class LiveStudy:
    """Opens a running sweep's working journal once (on the first call, on the caller's thread)."""

    def __init__(self, journal: Path, study_name: str) -> None:
        self.journal, self.study_name = journal, study_name
        self._study: optuna.Study | None = None
        self._lock = threading.Lock()

    def __call__(self) -> optuna.Study:
        from engine.sweep.study import open_study

        with self._lock:
            if self._study is None:
                self._study = open_study(self.journal, self.study_name)
            return self._study


class SweepController(QObject):
    """At most one sweep at a time, drained on a timer."""

    started = Signal()
    trial_started = Signal(object)  # event dict: number, params
    trial_epoch = Signal(object)  # event dict: number, epoch, value
    trial_finished = Signal(object)  # event dict: number, state, value, run_id, message, params
    worker_error = Signal(str)
    finished = Signal(str)  # how the trials of this sweep ended, in words
    state_changed = Signal(str)  # idle, running, stopping

    def __init__(self, parent: QObject | None = None, interval_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.run: Any = None  # engine.sweep.runner.SweepRun while a sweep runs
        self.project: Project | None = None
        self.state = "idle"
        self.events_seen = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)

    @property
    def active(self) -> bool:
        return self.run is not None

    def start(self, project: Project, config: SweepConfig, workers: int, base_dir: Path | None = None) -> None:
        """Start (or resume) a sweep of `project`; raises the engine's `SweepConfigError`, `SweepStudyError`,
        `SettingsError` or `DatasetError` with a message for the person when it cannot start."""
        from engine.sweep.runner import SweepRun

        if self.run is not None:
            raise RuntimeError("a sweep is already running")
        self.run = SweepRun(project, config, workers=workers, base_dir=base_dir)
        self.project = project
        self._set_state("running")
        self._timer.start()
        self.started.emit()

    def live_opener(self) -> LiveStudy | None:
        run = self.run
        if run is None or run.journal_path is None:
            return None
        return LiveStudy(run.journal_path, run.study_name)

    def stop(self) -> None:
        """End the running trials at their next report and start no more (the end arrives as `finished`)."""
        if self.run is not None and self.state == "running":
            self.run.stop()
            self._set_state("stopping")

    def drain(self) -> None:
        """Pass on what the workers reported since the last tick."""
        run = self.run
        if run is None:
            return
        try:
            events = run.poll()
        except Exception as exc:  # the engine failed to read a worker: end the sweep, keep the studio
            self.worker_error.emit(f"{type(exc).__name__}: {exc}")
            self._close(f"The sweep ended: {exc}")
            return
        for event in events:
            self.events_seen += 1
            kind = event.get("type")
            if kind == "trial_started":
                self.trial_started.emit(event)
            elif kind == "trial_epoch":
                self.trial_epoch.emit(event)
            elif kind == "trial_finished":
                self.trial_finished.emit(event)
            elif kind == "worker_error":
                self.worker_error.emit(str(event.get("message", "a worker failed")))
            elif kind == "sweep_finished":
                self._close(self._summary_text())
                return

    def _summary_text(self) -> str:
        summary = self.run.summary
        parts = [f"{summary.count(s)} {w}" for s, w in (("complete", "completed"), ("pruned", "pruned"),
                                                         ("fail", "failed")) if summary.count(s)]
        done = len(summary.finished)
        text = f"Sweep finished: {done} trial{'s' if done != 1 else ''}"
        return text + (f" ({', '.join(parts)})" if parts else "")

    def _close(self, text: str) -> None:
        self._timer.stop()
        run, self.run = self.run, None
        with contextlib.suppress(Exception):  # the processes and temporaries go whatever happened
            run.close(timeout=10.0)
        self._set_state("idle")
        self.finished.emit(text)
        self.project = None

    def shutdown(self) -> None:
        """End a running sweep now (the studio is closing): trials stop, the journal stays in the project."""
        if self.run is not None:
            self.run.stop()
            self._close("The sweep was stopped")

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
