"""Reads a study off the GUI thread, now and then, and hands the Sweep panel a `StudySnapshot`.

`StudyPoller.follow(opener)` takes a function that opens the study (an in-memory `optuna.Study`
wrapped in a lambda, or one that loads the journal file a running sweep writes). `refresh()` reads
it once on a pool thread (`read_study`: the trials and the importances); `start(interval_ms)`
repeats that while a sweep runs; `stop()` ends the repetition (a last `refresh` shows the end).
At most one read is in flight: a refresh asked for during one runs right after it, so a slow
storage never piles up reads. `snapshot_read(StudySnapshot)` arrives on the GUI thread;
`read_failed(str)` when the study cannot be read (a damaged journal), never an exception.
A read that arrives after `follow` switched to another study is dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import optuna
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from studio.sweep.study_snapshot import StudySnapshot, read_study

POLL_MS = 1000  # trials take seconds at the least: once a second follows them closely enough

StudyOpener = Callable[[], "optuna.Study | None"]


class _Signals(QObject):
    read = Signal(int, object)  # generation, StudySnapshot
    failed = Signal(int, str)


class _Read(QRunnable):
    def __init__(self, opener: StudyOpener, metric: str, generation: int, signals: _Signals) -> None:
        super().__init__()
        self.opener, self.metric, self.generation, self.signals = opener, metric, generation, signals

    def run(self) -> None:
        try:
            study = self.opener()
            snapshot = None if study is None else read_study(study, metric=self.metric)
        except Exception as exc:  # a damaged or vanished storage is reported, never raised on a pool thread
            with contextlib.suppress(RuntimeError):
                self.signals.failed.emit(self.generation, f"{type(exc).__name__}: {exc}")
            return
        with contextlib.suppress(RuntimeError):  # the poller is gone (the panel closed)
            self.signals.read.emit(self.generation, snapshot)


class StudyPoller(QObject):
    """Reads the followed study on a pool thread, on request and every `POLL_MS` while a sweep runs."""

    snapshot_read = Signal(object)  # StudySnapshot, or None when there is no study
    read_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.opener: StudyOpener | None = None
        self.metric = "objective"
        self.reads = 0  # finished reads (tests wait on this)
        self._generation = 0
        self._busy = False
        self._again = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.read.connect(self._done)
        self._signals.failed.connect(self._failed)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.refresh)

    def follow(self, opener: StudyOpener | None, metric: str = "objective") -> None:
        """Read this study from now on (None: no study); reads of the previous one are dropped."""
        self._generation += 1
        self.opener, self.metric = opener, metric
        self._busy = self._again = False
        self.refresh()

    @property
    def polling(self) -> bool:
        return self._timer.isActive()

    def start(self, interval_ms: int = POLL_MS) -> None:
        self._timer.setInterval(interval_ms)
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
        self.refresh()

    def refresh(self) -> None:
        """Read the study once more (after the read in flight, if any)."""
        if self.opener is None:
            self.snapshot_read.emit(None)
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._pool.start(_Read(self.opener, self.metric, self._generation, self._signals))

    def wait(self, msecs: int = 30_000) -> bool:
        """Wait for the read in flight (closing, tests)."""
        return self._pool.waitForDone(msecs)

    def _next(self) -> None:
        self._busy = False
        if self._again:
            self._again = False
            self.refresh()

    def _done(self, generation: int, snapshot: StudySnapshot | None) -> None:
        if generation != self._generation:
            return
        self.reads += 1
        self._next()
        self.snapshot_read.emit(snapshot)

    def _failed(self, generation: int, reason: str) -> None:
        if generation != self._generation:
            return
        self.reads += 1
        self._next()
        self.read_failed.emit(reason)
