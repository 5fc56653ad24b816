"""The base of every training panel: what it subscribes to, and when it redraws.

A panel receives a `PanelContext` (the run controller, the workspace, the engine loader, the
dataset previewer and the run comparison) and subscribes to the signals it needs. Signal
handlers only store data and call `mark_dirty`; the controller's `tick_finished` then makes
each dirty panel `redraw` once, and a panel that is hidden (a tab in the back, a closed dock)
waits until it is shown. Each redraw is timed into `update_ms`, so tests can hold panels to the
GUI's frame budget. `clear` forgets the previous run when a new one starts; `apply_theme`
restyles what the stylesheet cannot reach.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from studio.run_controller import RunController
from studio.theme import Theme, theme


class RunComparison(QObject):
    """The past runs chosen for comparison in the Runs panel, as run id -> epoch records."""

    changed = Signal(object)  # {run_id: [epoch dicts]}

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, list[dict[str, Any]]] = {}

    def set_runs(self, runs: dict[str, list[dict[str, Any]]]) -> None:
        self.runs = dict(runs)
        self.changed.emit(self.runs)


@dataclass
class PanelContext:
    """Everything a panel may subscribe to."""

    runs: RunController
    workspace: Any  # studio.training.workspace.Workspace
    engine: Any  # studio.training.engine_loader.EngineLoader
    preview: Any = None  # studio.training.dataset_preview.DatasetPreviewer
    comparison: RunComparison = field(default_factory=RunComparison)
    theme: Theme = field(default_factory=lambda: theme("light"))


class Panel(QWidget):
    """A dock panel that redraws at most once per controller tick, and only when visible."""

    name = ""
    title = ""

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel_{self.name}")
        self.context = context
        self.update_ms: deque[float] = deque(maxlen=100_000)
        self._dirty = False
        context.runs.tick_finished.connect(self._tick)
        context.runs.state_changed.connect(self._state_changed)

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        """Redraw now if anything changed (timed into `update_ms`)."""
        if not self._dirty:
            return
        self._dirty = False
        started = time.perf_counter()
        self.redraw()
        self.update_ms.append((time.perf_counter() - started) * 1000.0)

    def redraw(self) -> None:
        """Show the stored data (subclasses)."""

    def clear(self) -> None:
        """Forget the previous run's data (subclasses)."""

    def apply_theme(self, t: Theme) -> None:
        """Restyle for a theme (subclasses that paint themselves)."""

    def _tick(self) -> None:
        if self._dirty and self.isVisible():
            self.flush()

    def _state_changed(self, state: str) -> None:
        if state == "starting":  # a new run: the previous one's data goes
            self.clear()
            self.mark_dirty()
            self.flush()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.flush()
