"""The base of every training panel: what it subscribes to, and when it redraws.

A panel receives a `PanelContext` (the run controller, the workspace, the dataset previewer,
the run comparison and the sample chosen for an explanation) and subscribes to the signals it needs. Signal
handlers only store data and call `mark_dirty`; on the controller's `tick_finished` the
`RedrawScheduler` makes dirty panels in view `redraw`, each at most once, taking turns and
stopping after `MAX_PANELS_PER_TICK` panels or when the tick has used its share of the frame
(`FRAME_BUDGET_MS`), because every redrawn plot is also repainted in the same frame: what is
left redraws on the next tick, a thirtieth of a second later. A panel out of view (a tab in
the back, which Qt still calls visible, or a closed dock) waits until it comes into view, and
`came_into_view` lets a panel start work it only needs on screen (the dataset preview). Each
redraw is timed into `update_ms`, so tests can hold panels to the GUI's frame budget. `clear`
forgets the previous run when a new one starts; `project_changed` (another project was opened,
created or recovered) makes the panel show the new project's state, by default by forgetting
every run it shows; `apply_theme` restyles what the stylesheet cannot reach.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from studio.run_controller import RunController
from studio.theme import Theme, theme
from studio.training.panels.sample_selection import SampleSelection
from studio.training.workspace import Workspace

if TYPE_CHECKING:
    from studio.training.dataset_preview import DatasetPreviewer

FRAME_BUDGET_MS = 20.0  # of each tick's redraw work (painting follows in the same frame)
MAX_PANELS_PER_TICK = 3  # each redrawn plot also costs a repaint of a few milliseconds


class RedrawScheduler(QObject):
    """Redraws dirty panels after each controller tick, round robin, within a time budget."""

    def __init__(self, runs: RunController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.panels: list[Panel] = []
        self._next = 0
        self.served: deque[int] = deque(maxlen=100_000)  # panels redrawn by each call of `redraw`
        self._catch_up = QTimer(self)  # what the ticks did not draw (or data that came without a tick)
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(runs.interval_ms)
        self._catch_up.timeout.connect(lambda: self.redraw(time.perf_counter()))
        runs.tick_finished.connect(lambda: self.redraw(runs.tick_started))

    def add(self, panel: Panel) -> None:
        self.panels.append(panel)

    def request(self) -> None:
        """A panel has something new: make sure a redraw comes even when no tick does."""
        if not self._catch_up.isActive():
            self._catch_up.start()

    def redraw(self, started: float) -> None:
        """Flush dirty visible panels, starting after the last one served, until the budget is spent."""
        count, served = len(self.panels), 0
        for i in range(count):
            if served == MAX_PANELS_PER_TICK or (time.perf_counter() - started) * 1000.0 > FRAME_BUDGET_MS:
                break
            index = (self._next + i) % count
            panel = self.panels[index]
            if panel.dirty and panel.showing():
                panel.flush()
                served += 1
                self._next = index + 1
        self.served.append(served)
        if any(p.dirty and p.showing() for p in self.panels):
            self._catch_up.start()


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
    workspace: Workspace
    preview: DatasetPreviewer | None = None
    comparison: RunComparison = field(default_factory=RunComparison)
    theme: Theme = field(default_factory=lambda: theme("light"))
    redraws: RedrawScheduler | None = None
    samples: SampleSelection = field(default_factory=SampleSelection)  # the sample being explained

    def __post_init__(self) -> None:
        if self.redraws is None:
            self.redraws = RedrawScheduler(self.runs, self.runs)


class Panel(QWidget):
    """A dock panel that redraws at most once per controller tick, and only when visible."""

    name = ""
    title = ""

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel_{self.name}")
        self.context = context
        self.update_ms: deque[float] = deque(maxlen=100_000)  # wall time of each redraw (for benchmarks)
        self.update_cpu_ms: deque[float] = deque(maxlen=100_000)  # the GUI thread's CPU time of each redraw
        self._dirty = False
        context.redraws.add(self)
        context.runs.state_changed.connect(self._state_changed)
        project_opened = getattr(context.workspace, "project_opened", None)
        if project_opened is not None:
            project_opened.connect(self._project_opened)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self) -> None:
        self._dirty = True
        self.context.redraws.request()

    def flush(self) -> None:
        """Redraw now if anything changed (timed into `update_ms` and `update_cpu_ms`)."""
        if not self._dirty:
            return
        self._dirty = False
        started, cpu = time.perf_counter(), time.thread_time()
        self.redraw()
        self.update_ms.append((time.perf_counter() - started) * 1000.0)
        self.update_cpu_ms.append((time.thread_time() - cpu) * 1000.0)

    def set_scrolling_body(self, body: QWidget) -> None:
        """Make `body` this panel's content, scrolling vertically when the dock is short (forms)."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def redraw(self) -> None:
        """Show the stored data (subclasses)."""

    def clear(self) -> None:
        """Forget the previous run's data (subclasses)."""

    def _project_opened(self, _controller: object = None) -> None:
        self.project_changed()

    def project_changed(self) -> None:
        """Another project is open: nothing of the previous project's runs stays (subclasses add the rest)."""
        self.clear()
        self.mark_dirty()
        self.flush()

    def apply_theme(self, t: Theme) -> None:
        """Restyle for a theme (subclasses that paint themselves)."""

    def _state_changed(self, state: str) -> None:
        if state == "starting":  # a new run: the previous one's data goes
            self.clear()
            self.mark_dirty()
            self.flush()

    def showing(self) -> bool:
        """Whether the panel can be seen: shown, and not a tab behind another (Qt calls those visible)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def set_on_screen(self, on_screen: bool) -> None:
        """Follow the dock's ``visibilityChanged`` (which, unlike show events, also reports tab switches)."""
        if on_screen:
            self._came_into_view()

    def _came_into_view(self) -> None:
        self.flush()
        QTimer.singleShot(0, self, self._check_in_view)  # a tab behind another gets show events too

    def _check_in_view(self) -> None:
        if self.showing():
            self.came_into_view()

    def came_into_view(self) -> None:
        """The panel can be seen now (a hook: start work only worth doing on screen)."""

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._came_into_view()
