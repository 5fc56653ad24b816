"""The studio's side of a running sweep: the engine's `SweepRun` drained on its own thread, re-emitted as signals.

`SweepController.start(project, config, workers, base_dir)` starts a sweep of the open project (the
engine's `engine.sweep.runner.SweepRun`: trials train in spawned worker processes, the study is the
project's journal copied to a working file, so a Start on a project whose study has trials resumes
it). Draining it reads each finished trial's run files (weights included) and the journal from disk,
so that happens on a thread of its own (`_Pump`), never on the GUI thread: the run works on a shadow
of the project (the same network and settings, its own dict of members), and the pump hands over
each finished trial's members and the journal with the event. On the GUI thread the controller puts
them into the real project and emits `trial_finished(event)`; the studio marks the project unsaved
and lists the run. `stop()` asks the trials to end at their next report; the pump keeps draining
until the engine says the sweep is over, closes it there (processes joined, working files removed)
and the controller emits `finished(summary text)`.

`live_opener()` opens the running sweep's working journal for the Sweep panel's reader: one study
object, opened on the reader's thread the first time and read again each time (Optuna's journal
storage catches up with the lines appended since), so a refresh costs only the new trials.

The controller never touches a widget; torch is never imported here (the workers import it).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from engine.project import Project
from engine.sweep.space import JOURNAL_MEMBER, SweepConfig

POLL_MS = 100
CLOSE_TIMEOUT_S = 10.0
RUNS_PREFIX = "runs/"


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


def summary_text(summary: Any) -> str:
    """"Sweep finished: 3 trials (2 completed, 1 pruned)" for an engine `SweepSummary`."""
    parts = [f"{summary.count(s)} {w}" for s, w in (("complete", "completed"), ("pruned", "pruned"),
                                                     ("fail", "failed")) if summary.count(s)]
    done = len(summary.finished)
    text = f"Sweep finished: {done} trial{'s' if done != 1 else ''}"
    return text + (f" ({', '.join(parts)})" if parts else "")


class _Pump(QObject):
    """Drains a SweepRun on its own thread; hands out events with the members they added to the shadow."""

    events_read = Signal(list)  # [event dict]; a finished trial's carries "files" {member: bytes}
    closed = Signal(str, object)  # summary text, the journal's bytes (or None)

    def __init__(self, run: Any, shadow: Project, interval_ms: int) -> None:
        super().__init__()
        self.run, self.shadow, self.interval_ms = run, shadow, interval_ms
        self.timer: QTimer | None = None
        self.done = False

    @Slot()
    def begin(self) -> None:
        self.timer = QTimer(self)
        self.timer.setInterval(self.interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @Slot()
    def halt(self) -> None:
        """Stop draining (on the pump's thread, where its timer lives)."""
        self.done = True
        if self.timer is not None:
            self.timer.stop()

    def tick(self) -> None:
        if self.done:
            return
        failure = ""
        try:
            events = self.run.poll()
        except Exception as exc:  # a worker's pipe or the journal failed: end the sweep, keep the studio
            events, failure = [{"type": "worker_error", "message": f"{type(exc).__name__}: {exc}"}], str(exc)
        for event in events:
            if event.get("type") == "trial_finished" and event.get("run_id"):
                prefix = f"{RUNS_PREFIX}{event['run_id']}/"
                files = {n: b for n, b in self.shadow.attachments.items() if n.startswith(prefix)}
                files[JOURNAL_MEMBER] = self.shadow.attachments.get(JOURNAL_MEMBER)
                event["files"] = files
        if events:
            self.events_read.emit(events)
        if failure or self.run.done:
            self.finish(f"The sweep ended: {failure}" if failure else None)

    def finish(self, text: str | None = None) -> None:
        """Close the run here (joins the processes: seconds, off the GUI thread) and report the end."""
        if self.done:
            return
        if self.timer is not None:
            self.timer.stop()
        self.closed.emit(*self.close_run(text))

    def close_run(self, text: str | None = None) -> tuple[str, bytes | None]:
        """Close the run (from the pump's thread, or from any once that thread has ended); the summary and
        the journal."""
        self.done = True
        with contextlib.suppress(Exception):  # the processes and temporaries go whatever happened
            self.run.close(timeout=CLOSE_TIMEOUT_S)
        return text or summary_text(self.run.summary), self.shadow.attachments.get(JOURNAL_MEMBER)


class SweepController(QObject):
    """At most one sweep at a time, drained on its own thread."""

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
        self.interval_ms = interval_ms
        self._thread: QThread | None = None
        self._pump: _Pump | None = None
        self._shadow: Project | None = None
        self._members_before: set[str] = set()

    @property
    def active(self) -> bool:
        return self.run is not None

    def start(self, project: Project, config: SweepConfig, workers: int, base_dir: Path | None = None,
              restart: bool = False) -> None:
        """Start (or resume; with `restart`, begin the study anew) a sweep of `project`; raises the engine's
        `SweepConfigError`, `SweepStudyError`, `SettingsError` or `DatasetError` with a message for the person
        when it cannot start."""
        from engine.sweep.runner import SweepRun

        if self.run is not None:
            raise RuntimeError("a sweep is already running")
        # The run adds its trials' members to a shadow: the same network and settings (it only reads them),
        # its own dict of members, which the pump thread may write while the GUI saves the project.
        shadow = replace(project, attachments=dict(project.attachments))
        self._members_before = set(project.attachments)
        self.run = SweepRun(shadow, config, workers=workers, base_dir=base_dir, restart=restart)
        self.project = project
        self._take(JOURNAL_MEMBER, shadow.attachments.get(JOURNAL_MEMBER))  # interrupted trials marked failed
        self._thread = QThread(self)
        self._thread.setObjectName("sweep-pump")
        self._pump = _Pump(self.run, shadow, self.interval_ms)
        self._pump.moveToThread(self._thread)
        self._thread.started.connect(self._pump.begin)
        self._thread.finished.connect(self._pump.deleteLater)  # deleted on its own thread, timer and all
        self._shadow = shadow
        self._pump.events_read.connect(self._events)
        self._pump.closed.connect(self._closed)
        self._thread.start()
        self._set_state("running")
        self.started.emit()

    def live_opener(self) -> LiveStudy | None:
        run = self.run
        if run is None or run.journal_path is None:
            return None
        return LiveStudy(run.journal_path, run.study_name)

    def stop(self) -> None:
        """End the running trials at their next report and start no more (the end arrives as `finished`)."""
        if self.run is not None and self.state == "running":
            self.run.stop()  # a multiprocessing Event: safe from any thread
            self._set_state("stopping")

    # ---- on the GUI thread ---------------------------------------------------------------------
    def _take(self, member: str, data: bytes | None) -> None:
        if self.project is not None and data is not None:
            self.project.attachments[member] = data

    def _events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.events_seen += 1
            kind = event.get("type")
            if kind == "trial_started":
                self.trial_started.emit(event)
            elif kind == "trial_epoch":
                self.trial_epoch.emit(event)
            elif kind == "trial_finished":
                for member, data in (event.pop("files", None) or {}).items():
                    self._take(member, data)
                self.trial_finished.emit(event)
            elif kind == "worker_error":
                self.worker_error.emit(str(event.get("message", "a worker failed")))

    def _closed(self, text: str, journal: bytes | None) -> None:
        self._take(JOURNAL_MEMBER, journal)
        self._end_thread()
        self.run = None
        self._set_state("idle")
        self.finished.emit(text)
        self.project = None

    def _end_thread(self) -> None:
        thread, self._thread, self._pump, self._shadow = self._thread, None, None, None
        if thread is not None:
            thread.quit()
            thread.wait()

    def shutdown(self) -> None:
        """End a running sweep now (the studio is closing): trials stop, the journal stays in the project.

        Blocks until the worker processes have ended (they stop at their next report)."""
        run, thread, pump, shadow = self.run, self._thread, self._pump, self._shadow
        if run is None or thread is None or pump is None or shadow is None:
            return
        run.stop()
        pump.events_read.disconnect(self._events)
        pump.closed.disconnect(self._closed)
        QMetaObject.invokeMethod(pump, "halt", Qt.ConnectionType.BlockingQueuedConnection)
        self._end_thread()
        with contextlib.suppress(Exception):  # closing twice is harmless when the pump had closed it already
            run.close(timeout=CLOSE_TIMEOUT_S)
        for name, data in list(shadow.attachments.items()):  # trials that ended since the last hand-over
            if (name.startswith(RUNS_PREFIX) and name not in self._members_before) or name == JOURNAL_MEMBER:
                self._take(name, data)
        self.run = None
        self._set_state("idle")
        self.project = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
