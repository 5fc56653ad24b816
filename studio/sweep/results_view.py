"""The four plots of a sweep side by side, with a one-line summary over them.

`ResultsView.show(snapshot)` hands a `StudySnapshot` to the optimisation history, the intermediate
values, the parallel coordinates and the importances, and writes the summary ("10 trials: 6
completed, 3 pruned, 1 running · best 0.0812 in trial 4"). The plots sit in a splitter, so a
person can give one more room; in the row under the canvas they share its width.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from studio.sweep.space_plots import ImportancePlot, ParallelPlot
from studio.sweep.study_snapshot import COMPLETE, FAILED, PRUNED, RUNNING, StudySnapshot, describe_value
from studio.sweep.trial_plots import HistoryPlot, IntermediatePlot, SweepPlot
from studio.theme import Theme


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
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for plot in self.plots():
            self.splitter.addWidget(plot.widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        if with_summary:
            layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)
        self.snapshot: StudySnapshot | None = None

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
