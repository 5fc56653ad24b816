"""The Sweep panel's plots over the search space: parallel coordinates and parameter importances.

`ParallelPlot` draws one vertical axis for the objective and one per parameter, each normalised
to [0, 1] of its range (`study_snapshot.normalised`: log ranges on a log scale, choices by index),
and one line per completed trial through its values, coloured by its objective (the best trials
darkest). Lines are drawn in `COLOR_BINS` curves of one colour each (NaN breaks between trials),
made once and updated with ``setData``, so hundreds of trials cost a few dozen items. Each axis is
labelled with its name under it and its range's ends beside it.

`ImportancePlot` draws `optuna.importance.get_param_importances` as horizontal bars, most
important on top, each with its value; until there are enough completed trials it says why
there is nothing to show.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from optuna.distributions import BaseDistribution, CategoricalDistribution
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from studio.sweep.study_snapshot import StudySnapshot, describe_value, normalised, param_label
from studio.sweep.trial_plots import SweepPlot
from studio.theme import Theme
from studio.training.panels.style import series_color

COLOR_BINS = 16
MAX_NAME_WIDTH = 120  # pixels of a parameter's name beside its importance bar (or half the plot's width)


def _ends(distribution: BaseDistribution) -> tuple[str, str]:
    if isinstance(distribution, CategoricalDistribution):
        choices = [describe_value(c) for c in distribution.choices]
        return choices[0], choices[-1]
    return describe_value(distribution.low), describe_value(distribution.high)


class ParallelPlot(SweepPlot):
    """One axis per parameter (and the objective), one line per completed trial."""

    title = "Parallel coordinates"

    def __init__(self, theme: Theme) -> None:
        self.colormap = pg.colormap.get("viridis")
        super().__init__(theme, "", "")
        for name in ("left", "bottom"):
            self.item.hideAxis(name)
        self.item.setMouseEnabled(False, False)
        self.item.hideButtons()
        self.bins = [self.item.plot(connect="finite") for _ in range(COLOR_BINS)]
        self.axes: list[pg.PlotDataItem] = []
        self.labels: list[pg.TextItem] = []
        self.axis_names: list[str] = []
        self.lines_drawn = 0
        self.full_names: list[str] = []
        self.ends: list[tuple[str, str]] = []
        self.empty = pg.TextItem("", color=theme.muted, anchor=(0.5, 0.5))
        self.item.addItem(self.empty)
        self.item.getViewBox().sigResized.connect(self._fit_names)

    def key(self) -> list[tuple[str, str, str]]:
        best, worst = (self.colormap.map(x, mode="qcolor").name() for x in self._span())
        return [("━", best, "best"), ("━", worst, "worst")]

    def _span(self) -> tuple[float, float]:
        """Where the best and the worst trial sit on the colour map: the best stands out from the
        background (dark purple on a light theme, bright yellow on a dark one)."""
        return (0.95, 0.3) if self.theme.name == "dark" else (0.05, 0.8)

    def _fit_names(self, *_: object) -> None:
        """Elide each axis name (keeping its end, the most specific part) to the room it has: labels
        alternate between two rows, so each may take nearly two axes' width."""
        if not self.full_names:
            return
        low, high = self.item.getViewBox().viewRange()[0]
        per_axis = self.item.getViewBox().width() / max(high - low, 1e-9)
        last = len(self.full_names) - 1
        for i, name in enumerate(self.full_names):
            # a name is centred under its axis: the outer ones have half an axis of room outside it
            room = per_axis * (1.0 if i in (0, last) else 1.85) - 6
            title, top, bottom = self.labels[3 * i: 3 * i + 3]
            metrics = QFontMetrics(title.textItem.font())
            title.setText(metrics.elidedText(name, Qt.TextElideMode.ElideLeft, max(int(room), 24)),
                          color=self.theme.text)
            for label, text in ((top, self.ends[i][1]), (bottom, self.ends[i][0])):  # ends share one row
                label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(int(per_axis) - 6, 24)),
                              color=self.theme.muted)

    def _set_axes(self, names: list[str], ends: list[tuple[str, str]]) -> None:
        """Vertical axes with their names below and their ends beside them (remade when the set changes)."""
        if names != self.axis_names:
            for item in [*self.axes, *self.labels]:
                self.item.removeItem(item)
            self.axes, self.labels = [], []
            pen = pg.mkPen(self.theme.muted, width=1.2)
            for i in range(len(names)):
                axis = self.item.plot([i, i], [0.0, 1.0], pen=pen)
                axis.setZValue(-1)
                self.axes.append(axis)
                # the range's ends over and under the axis, its name below them (rows alternate)
                for anchor, y in (((0.5, 0.0), -0.13 - 0.11 * (i % 2)), ((0.5, 1.0), 1.01), ((0.5, 0.0), -0.01)):
                    label = pg.TextItem("", color=self.theme.text, anchor=anchor)
                    label.setPos(i, y)
                    label.setZValue(20)
                    self.item.addItem(label)
                    self.labels.append(label)
            self.axis_names = list(names)
        self.ends = list(ends)
        self.full_names = list(names)
        self.item.setXRange(-0.5, max(len(names) - 1, 1) + 0.5, padding=0)
        self.item.setYRange(-0.42, 1.2, padding=0)
        self._fit_names()

    def show(self, snapshot: StudySnapshot) -> None:
        done = snapshot.completed
        params = snapshot.param_names()
        if len(done) < 1 or not params:
            self._set_axes([], [])
            for curve in self.bins:
                curve.setData([], [])
            self.lines_drawn = 0
            self.empty.setText("Completed trials appear here" if params or not done else "No parameters vary",
                               color=self.theme.muted)
            self.empty.setPos(0.5, 0.5)
            self.empty.show()
            return
        self.empty.hide()
        values = np.array([t.value for t in done], dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        names = [snapshot.metric] + [param_label(p) for p in params]
        ends = [(describe_value(low), describe_value(high))] + [_ends(snapshot.distributions[p]) for p in params]
        self._set_axes(names, ends)
        span = high - low
        rows = []
        for trial, value in zip(done, values):
            row = [0.5 if span == 0 else (value - low) / span]
            row += [normalised(trial.params[p], snapshot.distributions[p]) if p in trial.params else math.nan
                    for p in params]
            rows.append(row)
        # colour by quality: the best trials (low for minimize) take the end of the map that stands out
        quality = np.full(len(done), 0.5) if span == 0 else (values - low) / span
        if not snapshot.minimize:
            quality = 1.0 - quality
        bins = np.minimum((quality * COLOR_BINS).astype(int), COLOR_BINS - 1)
        xs_axis = np.arange(len(names), dtype=np.float64)
        for b, curve in enumerate(self.bins):
            members = [rows[i] for i in np.flatnonzero(bins == b)]
            if not members:
                curve.setData([], [])
                continue
            xs = np.concatenate([np.append(xs_axis, np.nan) for _ in members])
            ys = np.concatenate([np.append(np.asarray(r, dtype=np.float64), np.nan) for r in members])
            best, worst = self._span()
            color = self.colormap.map(best + (worst - best) * (b + 0.5) / COLOR_BINS, mode="qcolor")
            curve.setPen(pg.mkPen(color, width=1.6))
            curve.setZValue(COLOR_BINS - b)  # the best lines on top
            curve.setData(xs, ys, connect="finite")
        self.lines_drawn = len(done)

    def drawn_lines(self) -> int:
        """Trials drawn, counted from the curves' data (NaN-separated runs of points)."""
        per_line = len(self.axis_names) + 1  # the axes' points and a NaN break
        count = 0
        for curve in self.bins:
            ys = curve.getData()[1]
            count += 0 if ys is None else len(ys) // per_line
        return count

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.axis_names = []  # remade in the new colours on the next show


class ImportancePlot(SweepPlot):
    """Parameter importances as horizontal bars, or why there are none yet."""

    title = "Parameter importances"

    def __init__(self, theme: Theme) -> None:
        self.bars = pg.BarGraphItem(x0=[], y=[], height=[], width=[], brush=series_color(0, theme), pen=None)
        super().__init__(theme, "importance", "")
        self.item.setMouseEnabled(False, False)
        self.item.hideButtons()
        self.item.addItem(self.bars)
        self.values: list[pg.TextItem] = []
        self.note = pg.TextItem("", color=theme.muted, anchor=(0.5, 0.5))
        self.item.addItem(self.note)
        self.shown: dict[str, float] = {}
        self.top = 1.0
        self.item.getViewBox().sigResized.connect(self._fit_range)

    def show(self, snapshot: StudySnapshot) -> None:
        for text in self.values:
            self.item.removeItem(text)
        self.values = []
        importances = snapshot.importances
        self.shown = dict(importances)
        axis = self.item.getAxis("left")
        if not importances:
            self.bars.setOpts(x0=[], y=[], height=[], width=[])
            axis.setTicks([[]])
            axis.setWidth(None)
            self.note.setText(snapshot.importance_note or "No importances yet", color=self.theme.muted)
            self.note.setPos(0.5, 0.5)
            self.note.show()
            self.item.setXRange(0, 1, padding=0)
            self.item.setYRange(0, 1, padding=0)
            return
        self.note.hide()
        names = list(importances)  # most important first
        n = len(names)
        ys = [n - 1 - i for i in range(n)]
        widths = [importances[k] for k in names]
        self.bars.setOpts(x0=[0.0] * n, y=ys, height=[0.62] * n, width=widths,
                          brush=series_color(0, self.theme))
        # room for the longest name now, rather than after a repaint finds it did not fit; a name longer
        # than MAX_NAME_WIDTH keeps its end (the parameter) and loses its start
        metrics = QFontMetrics(axis.style.get("tickFont") or self.plot_widget.font())
        room = max(MAX_NAME_WIDTH, int(self.plot_widget.width() * 0.5))
        labels = [metrics.elidedText(param_label(k), Qt.TextElideMode.ElideLeft, room) for k in names]
        axis.setTicks([[(y, label) for y, label in zip(ys, labels)]])
        axis.setWidth(max(metrics.horizontalAdvance(label) for label in labels) + 16)
        top = max(widths) if widths else 1.0
        for y, w in zip(ys, widths):
            text = pg.TextItem(f"{w:.2f}", color=self.theme.text, anchor=(0.0, 0.5))
            text.setPos(w + top * 0.02, y)
            self.item.addItem(text)
            self.values.append(text)
        self.top = top
        self._fit_range()
        self.item.setYRange(-0.6, n - 0.4, padding=0)

    def _fit_range(self, *_: object) -> None:
        """Room on the right of the longest bar for its value's text, in this plot's width."""
        if not self.shown:
            return
        metrics = QFontMetrics(self.plot_widget.font())
        room = (metrics.horizontalAdvance("0.00") + 12) / max(self.item.getViewBox().width(), 60.0)
        self.item.setXRange(0, self.top / max(1.0 - room, 0.4), padding=0)

    def key(self) -> list[tuple[str, str, str]]:
        return [("", self.theme.muted, "PED-ANOVA, completed trials")]

    def bar_count(self) -> int:
        widths = self.bars.opts.get("width")
        return 0 if widths is None else len(widths)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.bars.setOpts(brush=series_color(0, theme))
