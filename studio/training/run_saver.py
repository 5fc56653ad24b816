"""Storing a finished run in the project without holding the GUI: the files are made on a worker thread.

`RunSaver.save(project, record)` turns the `RunRecord` into its files (`engine.runs.add_run`
into a scratch store, which serialises metrics and settings) on a `QThreadPool` thread, then,
back on the GUI thread, replaces any run of that id in the project's attachments with them and
emits `saved(run_id)`. The project is only ever changed on the GUI thread.
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

from studio.training.engine_loader import training_pool


class _Signals(QObject):
    made = Signal(object, str, object)  # project, run id, {attachment name: bytes}
    failed = Signal(str, str)  # run id, reason


class _SaveJob(QRunnable):
    def __init__(self, project: Any, record: Any, signals: _Signals) -> None:
        super().__init__()
        self.project, self.record, self.signals = project, record, signals

    def run(self) -> None:
        from engine.runs import add_run

        scratch = SimpleNamespace(attachments={})
        try:
            add_run(scratch, self.record)  # type: ignore[arg-type]
        except Exception as exc:  # a run that cannot be stored is reported, never fatal
            with contextlib.suppress(RuntimeError):
                self.signals.failed.emit(self.record.run_id, str(exc))
            return
        with contextlib.suppress(RuntimeError):  # the saver is gone (the window closed)
            self.signals.made.emit(self.project, self.record.run_id, scratch.attachments)


class RunSaver(QObject):
    """Adds finished runs to their project."""

    saved = Signal(str)  # run id
    failed = Signal(str, str)  # run id, reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pending = 0
        self._signals = _Signals(self)
        self._signals.made.connect(self._store)
        self._signals.failed.connect(self._failed)

    def save(self, project: Any, record: Any) -> None:
        """Add `record` to `project` (soon; `saved` says when)."""
        self.pending += 1
        training_pool().start(_SaveJob(project, record, self._signals))

    def _store(self, project: Any, run_id: str, files: dict[str, bytes]) -> None:
        from engine.runs import delete_run

        self.pending -= 1
        delete_run(project, run_id, missing_ok=True)
        project.attachments.update(files)
        self.saved.emit(run_id)

    def _failed(self, run_id: str, reason: str) -> None:
        self.pending -= 1
        self.failed.emit(run_id, reason)
