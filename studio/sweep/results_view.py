"""The four plots of a sweep, laid out to fit, with a one-line summary.

`ResultsView.show_snapshot(snapshot)` hands a `StudySnapshot` to the optimisation history, the
intermediate values, the parallel coordinates and the importances, and writes the summary ("10
trials: 6 completed, 3 pruned, 1 running · best val_loss 0.0812 in trial 4"). The plots stand in
one row when the view is wide enough for each to keep `MIN_PLOT_WIDTH` (the row under the canvas),
in two rows of two when it is not but is tall enough (a floating or side dock), and otherwise in
one row that scrolls sideways: a plot is never squeezed until its labels overlap, nor clipped.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from studio.sweep.space_plots import ImportancePlot, ParallelPlot
from studio.sweep.study_snapshot import COMPLETE, FAILED, PRUNED, RUNNING, StudySnapshot, describe_value
from studio.sweep.trial_plots import HistoryPlot, IntermediatePlot, SweepPlot
from studio.theme import Theme

MIN_PLOT_WIDTH = 200
MIN_PLOT_HEIGHT = 160


def summary_text(snapshot: StudySnapshot | None) -> str:
    if snapshot is None:
        return "No sweep yet: choose what varies under Search space, then Start."
    counts = snapshot.counts()
    total = len(snapshot.trials)
    if not total:
        return "No trials yet."
    parts = [f"{counts[s]} {word}" for s, word in ((COMPLETE, "completed"), (PRUNED, "pruned"),
                                                     (RUNNING, "running"), (FAILED, "failed")) if counts.get(s)]
    text = f"{total} trial{'s' if total != 1 else ''}: " + ", ".join(parts)
    best = snapshot.best
    if best is not None:
        text += f" · best {snapshot.metric} {describe_value(best.value)} in trial {best.number}"
    return text


class _PlotGrid(QGridLayout):
    """The plots' grid. It takes the height the scroll area offers: the wrapping headings would make it
    ask for the height their preferred size wants (height-for-width), taller than the panel."""

    def hasHeightForWidth(self) -> bool:
        return False


class ResultsView(QWidget):
    """Summary line and the four plots."""

    def __init__(self, theme: Theme, parent: QWidget | None = None, *, with_summary: bool = True) -> None:
        """`with_summary=False` leaves the summary label for the caller to place (the panel's header)."""
        super().__init__(parent)
        self.history = HistoryPlot(theme)
        self.intermediate = IntermediatePlot(theme)
        self.parallel = ParallelPlot(theme)
        self.importance = ImportancePlot(theme)
        self.summary = QLabel(summary_text(None))
        self.summary.setObjectName("sweepSummary")
        self.summary.setWordWrap(True)
        self.grid_body = QWidget()
        self.grid = _PlotGrid(self.grid_body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        for plot in self.plots():
            plot.widget.setMinimumSize(MIN_PLOT_WIDTH, MIN_PLOT_HEIGHT)
        self.columns = 0
        self._arrange(4)
        self.scroll = QScrollArea()
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidgetResizable(True)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setWidget(self.grid_body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        if with_summary:
            layout.addWidget(self.summary)
        layout.addWidget(self.scroll, 1)
        self.snapshot: StudySnapshot | None = None

    def _arrange(self, columns: int) -> None:
        """Put the plots in `columns` columns (4: one row; 2: two rows of two)."""
        if columns == self.columns:
            return
        self.columns = columns
        for i, plot in enumerate(self.plots()):
            self.grid.removeWidget(plot.widget)
            self.grid.addWidget(plot.widget, i // columns, i % columns)
        for column in range(4):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def columns_for(self, width: int, height: int) -> int:
        if width >= 4 * MIN_PLOT_WIDTH + 16 or height < 2 * MIN_PLOT_HEIGHT + 8:
            return 4
        return 2

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        viewport = self.scroll.viewport().size() if hasattr(self, "scroll") else self.size()
        self._arrange(self.columns_for(self.width() - 8, viewport.height()))

    def plots(self) -> list[SweepPlot]:
        return [self.history, self.intermediate, self.parallel, self.importance]

    def show_snapshot(self, snapshot: StudySnapshot | None) -> None:
        self.snapshot = snapshot
        self.summary.setText(summary_text(snapshot))
        if snapshot is None:
            snapshot = StudySnapshot("", "minimize", ())
        for plot in self.plots():
            plot.show(snapshot)

    def apply_theme(self, theme: Theme) -> None:
        for plot in self.plots():
            plot.apply_theme(theme)
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)
