"""Loading the torch-backed half of the engine on a worker thread, so the GUI never waits for torch.

The editor imports nothing that imports torch. The training UI needs `engine.data` (dataset kinds
and their schemas), `engine.train.settings`, `engine.runs` and `engine.runner`, which all do.
`EngineLoader.load()` imports them on a `QThreadPool` thread and emits `ready` (on the GUI
thread) when they are in `sys.modules`; `when_ready(callback)` runs a callback at once when they
already are, else once they arrive. A failed import is reported through `failed` with the reason.
"""

from __future__ import annotations

import contextlib
import importlib
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

MODULES = ("engine.data", "engine.train.settings", "engine.train.job", "engine.runs", "engine.runner")


def training_pool() -> QThreadPool:
    """The thread pool the training UI runs its background work on (imports, dataset previews)."""
    return QThreadPool.globalInstance()


class _Signals(QObject):
    done = Signal(str)  # "" when fine, else the reason


class _ImportJob(QRunnable):
    def __init__(self, signals: _Signals) -> None:
        super().__init__()
        self.signals = signals

    def run(self) -> None:
        try:
            for name in MODULES:
                importlib.import_module(name)
            reason = ""
        except Exception as exc:  # reported to the user; the editor keeps working
            reason = f"the training engine could not be loaded: {exc!r}\n{traceback.format_exc()}"
        with contextlib.suppress(RuntimeError):  # the loader was deleted while the import ran
            self.signals.done.emit(reason)


class EngineLoader(QObject):
    """Imports the training engine off the GUI thread, once."""

    ready = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.is_ready = False
        self.error = ""
        self._loading = False
        self._waiting: list[Callable[[], None]] = []
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)

    def load(self) -> None:
        """Start the import (idempotent)."""
        if self.is_ready or self._loading:
            return
        self._loading = True
        training_pool().start(_ImportJob(self._signals))

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` now if the engine is loaded, else when it is."""
        if self.is_ready:
            callback()
            return
        self._waiting.append(callback)
        self.load()

    def _done(self, reason: str) -> None:
        self._loading = False
        if reason:
            self.error = reason
            self._waiting.clear()
            self.failed.emit(reason)
            return
        self.is_ready = True
        waiting, self._waiting = self._waiting, []
        self.ready.emit()
        for callback in waiting:
            callback()
