"""The Sweep panel's plots over trials: optimisation history and intermediate values.

Each plot owns one pyqtgraph `PlotWidget` and draws a `StudySnapshot` with `show(snapshot)`;
items are made once and updated with ``setData`` (a curve per trial in the intermediate plot is
made when the trial first appears and kept), so a refresh during a sweep costs a few ``setData``
calls. `HistoryPlot` draws each completed trial's objective, the best-so-far line and the last
reported value of each pruned trial (a grey cross); `IntermediatePlot` draws every trial's
reported values per step, completed trials in one colour, the best one thicker, running ones in
another, pruned ones grey with a red cross where they were stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.sweep.study_snapshot import PRUNED, RUNNING, StudySnapshot, describe_value, param_label
from studio.theme import Theme
from studio.training.panels.style import new_plot, series_color, style_plot

PRUNED_GREY = "#9ca3af"
PRUNED_MARK = "#dc2626"


def step_line(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Points of a staircase through (xs, ys): each value holds until the next x."""
    if not xs:
        return [], []
    sx, sy = [xs[0]], [ys[0]]
    for x, y in zip(xs[1:], ys[1:]):
        sx += [x, x]
        sy += [sy[-1], y]
    return sx, sy


def title_html(title: str, key: list[tuple[str, str, str]], theme: Theme) -> str:
    """A plot's heading: its title, then its key in smaller type: (mark, colour, words) per entry.

    The key sits over the plot rather than in a legend inside it, where it would hide points; each
    entry keeps together, and entries wrap to a second line when the plot is narrow."""
    entries = " &nbsp;".join(f"<span style='white-space:nowrap'><span style='color:{color}'>{mark}</span>"
                             f"&nbsp;{words}</span>" for mark, color, words in key)
    return (f"<div align='center'><span style='color:{theme.text}; font-size:9pt'>{title}</span><br>"
            f"<span style='color:{theme.muted}; font-size:8pt'>{entries}</span></div>")


class WholeNumberAxis(pg.AxisItem):
    """An axis of counts (trials, epochs): ticks only at whole numbers, never 0.5."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing >= 1:
                levels.append((spacing, values))
            else:  # a zoom finer than one: one tick per whole number in view
                levels.append((1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)]))
                break
        return levels


class SweepPlot:
    """One plot of the Sweep panel: a heading (a label, which wraps) over a pyqtgraph plot.

    The heading is a QLabel rather than the plot's own title, which never wraps and would make the plot
    wider than its widget (and cut off) when the panel is narrow."""

    title = ""

    def __init__(self, theme: Theme, x_label: str, y_label: str, counts_on_x: bool = False) -> None:
        self.theme = theme
        self.plot_widget = new_plot(theme, x_label, y_label, legend=False, long_series=False)
        self.item = self.plot_widget.getPlotItem()
        if counts_on_x:
            self.item.setAxisItems({"bottom": WholeNumberAxis("bottom")})
            self.item.setLabel("bottom", x_label)
        self.item.getAxis("left").enableAutoSIPrefix(False)  # "val_loss (x0.001)" reads worse than 0.69
        self.item.getViewBox().setDefaultPadding(0.04)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.widget = QWidget()
        self.widget.setObjectName(f"sweep_plot_{type(self).__name__}")
        layout = QVBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.heading)
        layout.addWidget(self.plot_widget, 1)
        self.apply_theme(theme)

    def key(self) -> list[tuple[str, str, str]]:
        """The heading's key: (mark, colour, words) per kind of item drawn (subclasses)."""
        return []

    def show(self, snapshot: StudySnapshot) -> None:
        """Draw `snapshot` (subclasses)."""

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        style_plot(self.plot_widget, theme)
        self.heading.setText(title_html(self.title, self.key(), theme))
        self.heading.setStyleSheet(f"background: {theme.base}; padding-top: 3px;")


class HistoryPlot(SweepPlot):
    """Objective per completed trial, the best so far, and pruned trials' last reports.

    Hovering a trial's point shows its values; clicking it chooses that trial (`trial_clicked`, set by
    the panel, gets its number; clicking it again gets None), and a ring marks the chosen one."""

    title = "Optimisation history"

    def __init__(self, theme: Theme) -> None:
        super().__init__(theme, "trial", "objective", counts_on_x=True)
        self.snapshot: StudySnapshot | None = None
        self.chosen: int | None = None
        self.trial_clicked: Callable[[int | None], None] | None = None
        self.points = pg.ScatterPlotItem(size=8, pen=None, hoverable=True, tip=self._tip,
                                         hoverSize=11, hoverPen=pg.mkPen(theme.text))
        self.points.sigClicked.connect(self._clicked)
        self.item.addItem(self.points)
        self.best = self.item.plot()
        self.pruned = self.item.plot(pen=None, symbol="x", symbolSize=8, symbolBrush=PRUNED_GREY,
                                     symbolPen=pg.mkPen(PRUNED_GREY))
        self.ring = pg.ScatterPlotItem(size=15, brush=None)
        self.ring.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a click on the ringed point is the point's
        self.points.setZValue(10)
        self.ring.setZValue(9)
        self.item.addItem(self.ring)
        self.apply_theme(theme)

    def key(self) -> list[tuple[str, str, str]]:
        return [("●", series_color(0, self.theme), "trial"), ("━", series_color(1, self.theme), "best"),
                ("✕", PRUNED_GREY, "pruned")]

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        if hasattr(self, "points"):
            self.points.setBrush(series_color(0, theme))
            self.best.setPen(pg.mkPen(series_color(1, theme), width=2))
            self.ring.setPen(pg.mkPen(theme.text, width=2))

    def show(self, snapshot: StudySnapshot) -> None:
        self.snapshot = snapshot
        self.item.setLabel("left", snapshot.metric)
        done = snapshot.completed
        self.points.setData([t.number for t in done], [t.value for t in done], data=[t.number for t in done],
                            brush=series_color(0, self.theme))
        self.best.setData(*step_line(*snapshot.best_so_far()))
        cut = [t for t in snapshot.in_state(PRUNED) if t.last_intermediate is not None]
        self.pruned.setData([t.number for t in cut], [t.last_intermediate[1] for t in cut])
        self.choose(self.chosen)

    def choose(self, number: int | None) -> None:
        """Ring the completed trial `number` (None: none)."""
        done = {t.number: t for t in self.snapshot.completed} if self.snapshot is not None else {}
        self.chosen = number if number in done else None
        trial = done.get(self.chosen)
        self.ring.setData([] if trial is None else [trial.number], [] if trial is None else [trial.value])

    def _clicked(self, _item: object, points: list, _event: object) -> None:
        if not len(points):
            return
        number = int(points[0].data())
        self.choose(None if number == self.chosen else number)
        if self.trial_clicked is not None:
            self.trial_clicked(self.chosen)

    def _tip(self, x: float, y: float, data: object) -> str:
        trial = next((t for t in self.snapshot.trials if t.number == data), None) if self.snapshot else None
        if trial is None:
            return ""
        lines = [f"trial {trial.number}: {self.snapshot.metric} {describe_value(trial.value)}"]
        lines += [f"{param_label(k)} = {describe_value(v)}" for k, v in sorted(trial.params.items())]
        return "\n".join([*lines, "(click to choose it for Apply)"])

    def point_count(self) -> int:
        return len(self.points.data)

    def point_position(self, number: int) -> QPoint:
        """Where trial `number`'s point is drawn, in the plot widget's coordinates (tests click there)."""
        spot = next(p for p in self.points.points() if p.data() == number)
        scene = self.item.getViewBox().mapViewToScene(spot.pos())
        return self.plot_widget.mapFromScene(scene)


class IntermediatePlot(SweepPlot):
    """Every trial's reported values per epoch (the engine reports after each); pruned trials grey with a
    cross where they stopped.

    The trials of one kind (completed, pruned, running, the best one) are one curve, their lines
    separated by NaN breaks: a study of a thousand trials is four items to draw, not a thousand."""

    title = "Intermediate values"
    GROUPS = ("pruned", "complete", "running", "best")  # drawn in this order, the best on top

    def __init__(self, theme: Theme) -> None:
        super().__init__(theme, "epoch", "reported value", counts_on_x=True)
        self.groups = {name: self.item.plot(connect="finite") for name in self.GROUPS}
        for z, curve in enumerate(self.groups.values()):
            curve.setZValue(z)
        self.counts = dict.fromkeys(self.GROUPS, 0)
        self.marks = self.item.plot(pen=None, symbol="x", symbolSize=10, symbolBrush=PRUNED_MARK,
                                    symbolPen=pg.mkPen(PRUNED_MARK, width=2))
        self.marks.setZValue(10)
        self.apply_theme(theme)

    def _pen(self, group: str) -> pg.QtGui.QPen:
        if group == "best":
            return pg.mkPen(series_color(1, self.theme), width=2.6)
        if group == PRUNED:
            return pg.mkPen(PRUNED_GREY, width=1.0, style=Qt.PenStyle.DashLine)
        if group == RUNNING:
            return pg.mkPen(series_color(2, self.theme), width=1.6)
        return pg.mkPen(series_color(0, self.theme), width=1.2)

    def show(self, snapshot: StudySnapshot) -> None:
        self.item.setLabel("left", snapshot.metric)
        best = snapshot.best
        lines: dict[str, list[tuple[int, float]]] = {name: [] for name in self.GROUPS}
        counts = dict.fromkeys(self.GROUPS, 0)
        for trial in snapshot.trials:
            if not trial.intermediate:
                continue
            if best is not None and trial.number == best.number:
                group = "best"
            else:
                group = trial.state if trial.state in (PRUNED, RUNNING) else "complete"
            lines[group].extend([*trial.intermediate, (math.nan, math.nan)])
            counts[group] += 1
        for name, curve in self.groups.items():
            points = lines[name]
            curve.setData([p[0] for p in points], [p[1] for p in points], connect="finite")
        self.counts = counts
        ends = [t.last_intermediate for t in snapshot.in_state(PRUNED) if t.last_intermediate is not None]
        self.marks.setData([s for s, _ in ends], [v for _, v in ends])

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        for name, curve in getattr(self, "groups", {}).items():
            curve.setPen(self._pen(name))

    def curve_count(self, state: str | None = None) -> int:
        """Trials drawn (of one state: complete counts the best one too when it is complete)."""
        if state is None:
            return sum(self.counts.values())
        return self.counts.get(state, 0) + (self.counts["best"] if state == "complete" else 0)

    def pruned_marks(self) -> int:
        xs = self.marks.getData()[0]
        return 0 if xs is None else len(xs)

    def key(self) -> list[tuple[str, str, str]]:
        return [("━", series_color(0, self.theme), "done"), ("━", series_color(1, self.theme), "best"),
                ("━", series_color(2, self.theme), "running"), ("╌✕", PRUNED_MARK, "pruned")]
