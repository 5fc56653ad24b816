"""The two runs' curves overlaid: loss, and the first metric both measured, per epoch.

`CurvesOverlay.show_runs(name_a, epochs_a, name_b, epochs_b)` draws, with pyqtgraph, each run in
its own colour (the older run in the first series colour, the newer in the fourth), training solid
and validation dashed, x in epochs (1-based). The curves are made once and updated with `setData`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from studio.theme import Theme
from studio.training.panels.style import new_plot, series_color, style_plot

METRICS = ("accuracy", "top_k", "mae")
SPLITS = ("train", "val")
RUN_COLORS = (0, 3)  # series colours of the older and the newer run


def epoch_values(epochs: Sequence[dict[str, Any]], split: str, key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for record in epochs:
        values = record.get(split) if isinstance(record, dict) else None
        value = values.get(key) if isinstance(values, dict) else None
        if isinstance(value, int | float):
            xs.append(float(record.get("epoch", len(xs))) + 1.0)
            ys.append(float(value))
    return xs, ys


def shared_metric(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> str | None:
    """The first metric both runs measured."""
    for metric in METRICS:
        if epoch_values(a, "val", metric)[0] and epoch_values(b, "val", metric)[0]:
            return metric
    return None


class CurvesOverlay(QWidget):
    """Loss and a metric of two runs, overlaid."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.loss = new_plot(theme, "epoch", "loss", long_series=False)
        self.metric = new_plot(theme, "epoch", "metric", long_series=False)
        for plot in (self.loss, self.metric):  # 0.68, not 680 × 0.001
            plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.curves: dict[tuple[str, str, int], pg.PlotDataItem] = {}  # (plot, split, run index) -> curve
        self.metric_name: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss, 1)
        layout.addWidget(self.metric, 1)

    def _curve(self, plot: pg.PlotWidget, which: str, split: str, run: int, name: str) -> pg.PlotDataItem:
        key = (which, split, run)
        if key not in self.curves:
            color = series_color(RUN_COLORS[run], self.theme)
            style = Qt.PenStyle.SolidLine if split == "train" else Qt.PenStyle.DashLine
            self.curves[key] = plot.getPlotItem().plot(pen=pg.mkPen(color, width=1.8, style=style), symbol="o",
                                                       symbolSize=5, symbolBrush=color, symbolPen=None)
        curve = self.curves[key]
        label = f"{name} {'train' if split == 'train' else 'val'}"
        legend = plot.getPlotItem().legend
        if legend is not None:
            legend.removeItem(curve)
            legend.addItem(curve, label)
        return curve

    def show_runs(self, name_a: str, epochs_a: Sequence[dict[str, Any]], name_b: str,
                  epochs_b: Sequence[dict[str, Any]]) -> None:
        self.metric_name = shared_metric(epochs_a, epochs_b)
        self.metric.getPlotItem().setLabel("left", self.metric_name or "no shared metric")
        for run, (name, epochs) in enumerate(((name_a, epochs_a), (name_b, epochs_b))):
            for split in SPLITS:
                self._curve(self.loss, "loss", split, run, name).setData(*epoch_values(epochs, split, "loss"))
                curve = self._curve(self.metric, "metric", split, run, name)
                if self.metric_name is None:
                    curve.setData([], [])
                else:
                    curve.setData(*epoch_values(epochs, split, self.metric_name))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        style_plot(self.loss, theme)
        style_plot(self.metric, theme)
