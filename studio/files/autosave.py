"""Autosave: the open document, with its runs, copied to this session's recovery file while it is unsaved.

`Autosaver(slot)` follows one document at a time (`follow(project, path, undo_stack)`). Once the
document has unsaved changes, a single-shot timer of `interval_s` seconds (60 by default,
``$LAYERLOOM_AUTOSAVE_SECONDS`` overrides it) writes it to the slot's ``.loom`` and starts again
only when more changes come, so a document is written at most once a minute while it changes
and never while it sits still. `write_now()` writes at once (a run finished and was added to the
project). Undoing back to the saved state, saving, opening another document and closing remove
the recovery files (`discard()`).

The project is turned into JSON on the GUI thread (a consistent snapshot, milliseconds) and read
back and written with the engine's atomic `save_project` on a one-thread pool, so a big project
never stalls the canvas and writes never overlap. `written(path)` and `failed(reason)` report
each write on the GUI thread. Before each snapshot `before_write` is called, so the window can
store its canvas zoom and centre as a save does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtGui import QUndoStack

from studio.files.recovery import RecoverySlot

INTERVAL_ENV = "LAYERLOOM_AUTOSAVE_SECONDS"
DEFAULT_INTERVAL_S = 60.0


def autosave_interval() -> float:
    """Seconds of unsaved change between autosaves."""
    try:
        value = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S))
    except ValueError:
        return DEFAULT_INTERVAL_S
    return value if value > 0 else DEFAULT_INTERVAL_S


class _Signals(QObject):
    done = Signal(int, str)  # generation, error ("" when written)


class _WriteJob(QRunnable):
    def __init__(self, slot: RecoverySlot, generation: int, project_json: bytes, attachments: dict[str, bytes],
                 name: str, path: Path | None, signals: _Signals) -> None:
        super().__init__()
        self.slot, self.generation, self.project_json = slot, generation, project_json
        self.attachments, self.name, self.path, self.signals = attachments, name, path, signals

    def run(self) -> None:
        from engine.project import project_from_json, save_project

        error = ""
        try:
            snapshot = project_from_json(self.project_json, where="autosave")
            snapshot.attachments = self.attachments
            save_project(snapshot, self.slot.project_file, keep_backup=False)
            self.slot.write_meta(self.name, self.path)
        except Exception as exc:  # a full disk or a bug: reported, never fatal to the studio
            error = str(exc) or type(exc).__name__
        with contextlib.suppress(RuntimeError):  # the autosaver is gone
            self.signals.done.emit(self.generation, error)


class Autosaver(QObject):
    """Writes the open document to the recovery file while it has unsaved changes."""

    written = Signal(object)  # Path of the recovery file
    failed = Signal(str)

    def __init__(self, slot: RecoverySlot, interval_s: float | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        self.before_write: Callable[[], None] | None = None
        self.project: Any = None
        self.path: Path | None = None
        self.stack: QUndoStack | None = None
        self.writes = 0
        self._generation = 0
        self._changed_since_write = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(round((interval_s or autosave_interval()) * 1000))
        self._timer.timeout.connect(self._timer_fired)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def follow(self, project: Any, path: Path | None, stack: QUndoStack, *, keep_files: bool = False) -> None:
        """Watch another document (opening one); the previous one's recovery files go unless `keep_files`."""
        if self.stack is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.stack.indexChanged.disconnect(self._changed)
                self.stack.cleanChanged.disconnect(self._clean_changed)
        if not keep_files:
            self.discard()
        self.project, self.path, self.stack = project, path, stack
        stack.indexChanged.connect(self._changed)
        stack.cleanChanged.connect(self._clean_changed)
        if not stack.isClean():
            self._changed()

    def set_path(self, path: Path | None) -> None:
        self.path = path

    # ---- when to write --------------------------------------------------------------------
    def _changed(self, *_args: object) -> None:
        if self.stack is None or self.stack.isClean():
            return
        self._changed_since_write = True
        if not self._timer.isActive():
            self._timer.start()

    def _clean_changed(self, clean: bool) -> None:
        if clean:  # saved, or undone back to what is on disk: nothing to recover
            self.discard()
        else:
            self._changed()

    def _timer_fired(self) -> None:
        if self._changed_since_write and self.stack is not None and not self.stack.isClean():
            self.write_now()

    # ---- writing ---------------------------------------------------------------------------
    def write_now(self) -> bool:
        """Snapshot the document and write it to the recovery file (on the pool); False if nothing is open."""
        if self.project is None:
            return False
        from engine.project import project_json_bytes

        if self.before_write is not None:
            self.before_write()
        self._timer.stop()
        self._changed_since_write = False
        data = project_json_bytes(self.project)
        self._pool.start(_WriteJob(self.slot, self._generation, data, dict(self.project.attachments),
                                   self.project.name, self.path, self._signals))
        return True

    def _done(self, generation: int, error: str) -> None:
        if generation != self._generation:  # discarded meanwhile (discard waited for it, then removed the files)
            return
        if error:
            self.failed.emit(error)
            return
        self.writes += 1
        self.written.emit(self.slot.project_file)

    def discard(self) -> None:
        """Remove the recovery files (saved, discarded, or another document opened)."""
        self._timer.stop()
        self._changed_since_write = False
        self._generation += 1
        self._pool.waitForDone()
        self.slot.remove_files()

    def close(self) -> None:
        """The session ends normally: no recovery files stay, and the lock is released."""
        self.discard()
        self.slot.release()
