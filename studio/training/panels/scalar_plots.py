"""Curves of a run's scalars: loss, metrics, learning rate and throughput.

Every curve is made once and updated with ``setData`` from a growing `Series`; x is measured in
epochs (epoch + fraction for per-batch points), so runs with other batch sizes line up. A recipe's
named loss terms (``Step.parts``: a VAE's reconstruction and KL terms, a GAN's generator and
discriminator losses) each get a curve of their own in the Loss panel, on a log-scaled plot beside
the total. The Loss
and Metrics panels also draw the runs chosen for comparison in the Runs panel, dashed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.series import Series
from studio.training.panels.style import TRAIN, VALIDATION, new_plot, series_color, style_plot

PERCENT = ("accuracy", "top_k")
# a recipe's loss terms as the legend names them (each is a curve of its own beside the total)
PART_NAMES = {"reconstruction": "reconstruction", "kl": "KL divergence", "generator": "generator (G)",
              "discriminator": "discriminator (D)"}
MAX_NEW_CURVES = 1


def _x(step: t.Step) -> float:
    return float(step.epoch) + float(step.epoch_fraction)


class PlotPanel(Panel):
    """A panel holding one plot."""

    x_label = "epoch"
    y_label = ""
    log_y = False
    legend_offset = (-8, 8)  # top right (curves that fall leave it free)

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.plot = new_plot(context.theme, self.x_label, self.y_label, log_y=self.log_y,
                             legend_offset=self.legend_offset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot)

    def add_curve(self, name: str, color: str, symbol: str | None = None, dashed: bool = False,
                  width: float = 1.6) -> pg.PlotDataItem:
        pen = pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        kwargs: dict[str, Any] = {"name": name, "pen": pen}
        if symbol:
            kwargs.update(symbol=symbol, symbolSize=6, symbolBrush=color, symbolPen=None)
        return self.plot.getPlotItem().plot(**kwargs)

    def apply_theme(self, t: Theme) -> None:
        style_plot(self.plot, t)


class LossPanel(PlotPanel):
    """Training loss per batch and per epoch, validation loss per epoch, and compared runs."""

    name, title, y_label = "loss", "Loss", "loss"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        t = context.theme
        self.batches, self.train, self.val = Series(), Series(), Series()
        self.curves = {"batches": self.add_curve("train (batches)", series_color(TRAIN, t), width=1.0),
                       "train": self.add_curve("train", series_color(TRAIN, t), symbol="o"),
                       "val": self.add_curve("validation", series_color(VALIDATION, t), symbol="o")}
        self.curves["batches"].setOpacity(0.45)
        self.parts: dict[str, Series] = {}  # a recipe's named loss terms (reconstruction, kl, generator, ...)
        self.part_curves: dict[str, pg.PlotDataItem] = {}
        self.terms_plot: pg.PlotWidget | None = None  # made when the first term arrives
        self.compared: list[pg.PlotDataItem] = []
        context.runs.steps_arrived.connect(self._steps)
        context.runs.epochs_arrived.connect(self._epochs)
        context.comparison.changed.connect(self._compare)

    def _steps(self, steps: list[t.Step]) -> None:
        self.batches.extend((_x(s) for s in steps), (float(s.loss) for s in steps))
        for step in steps:
            for part, value in (getattr(step, "parts", None) or {}).items():
                self.parts.setdefault(str(part), Series()).append(_x(step), float(value))
        self.mark_dirty()

    def _epochs(self, epochs: list[t.Epoch]) -> None:
        for e in epochs:
            x = float(e.epoch) + 1.0
            if "loss" in e.train:
                self.train.append(x, float(e.train["loss"]))
            if "loss" in e.val:
                self.val.append(x, float(e.val["loss"]))
        self.mark_dirty()

    def redraw(self) -> None:
        for name, series in (("batches", self.batches), ("train", self.train), ("val", self.val)):
            self.curves[name].setData(series.x, series.y)
        if self.parts and self.terms_plot is None:
            self._add_terms_plot()
        if self.parts and self.terms_plot.isHidden():
            self.terms_plot.show()
        for part, series in self.parts.items():
            if part not in self.part_curves:  # a term's curve is made the first time it is reported
                color = series_color(len(self.part_curves) + 2, self.context.theme)
                pen = pg.mkPen(color, width=1.2)
                self.part_curves[part] = self.terms_plot.getPlotItem().plot(
                    name=PART_NAMES.get(part, part), pen=pen, connect="finite")
            # a log axis has no place for a term at zero (a KL term before the encoder moves): a gap there
            y = series.y
            self.part_curves[part].setData(series.x, np.where(y > 0, y, np.nan))

    def _add_terms_plot(self) -> None:
        """A second plot beside the total: the recipe's terms on a log axis (a VAE's KL term and its
        reconstruction term differ by orders of magnitude, and neither should flatten the other)."""
        self.terms_plot = new_plot(self.context.theme, self.x_label, "loss terms", log_y=True,
                                   legend_offset=self.legend_offset)
        self.terms_plot.getPlotItem().setXLink(self.plot.getPlotItem())
        layout = self.layout()
        layout.setDirection(QBoxLayout.Direction.LeftToRight)  # the row under the canvas is wide, not tall
        layout.addWidget(self.terms_plot)

    def clear(self) -> None:
        for series in (self.batches, self.train, self.val):
            series.clear()
        self.parts = {}  # another run may have other terms (or none): their curves and legend entries go
        if self.terms_plot is not None:
            for curve in self.part_curves.values():
                self.terms_plot.getPlotItem().removeItem(curve)
            self.terms_plot.hide()
        self.part_curves = {}

    def apply_theme(self, t: Theme) -> None:
        super().apply_theme(t)
        if self.terms_plot is not None:
            style_plot(self.terms_plot, t)

    def _compare(self, runs: dict[str, list[dict[str, Any]]]) -> None:
        item = self.plot.getPlotItem()
        for curve in self.compared:
            item.removeItem(curve)
        self.compared = []
        for i, (run_id, epochs) in enumerate(runs.items()):
            color = series_color(i + 2, self.context.theme)
            xs = [float(e["epoch"]) + 1.0 for e in epochs]
            for split, symbol in (("train", "t"), ("val", "o")):
                ys = [e[split].get("loss", float("nan")) for e in epochs]
                if any(y == y for y in ys):
                    curve = self.add_curve(f"{run_id} {split}", color, symbol=symbol, dashed=True, width=1.2)
                    curve.setData(xs, ys)
                    self.compared.append(curve)


class MetricsPanel(PlotPanel):
    """Accuracy (and top-k, MAE) per epoch for training and validation, and compared runs."""

    name, title, y_label = "metrics", "Metrics", "metric"
    legend_offset = (-8, -8)  # bottom right: accuracy climbs into the top

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.series: dict[tuple[str, str], Series] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.compared: list[pg.PlotDataItem] = []
        context.runs.epochs_arrived.connect(self._epochs)
        context.comparison.changed.connect(self._compare)

    @staticmethod
    def scale(metric: str) -> float:
        return 100.0 if metric in PERCENT else 1.0

    def _label(self, metric: str) -> str:
        return {"accuracy": "accuracy %", "top_k": "top-k accuracy %", "mae": "mean abs. error"}.get(metric, metric)

    def _epochs(self, epochs: list[t.Epoch]) -> None:
        for e in epochs:
            for split, values in (("train", e.train), ("val", e.val)):
                for metric, value in values.items():
                    if metric != "loss":
                        self._series(metric, split).append(float(e.epoch) + 1.0, value * self.scale(metric))
        self.mark_dirty()

    def _series(self, metric: str, split: str) -> Series:
        return self.series.setdefault((metric, split), Series(256))

    def redraw(self) -> None:
        created = 0
        for key, series in self.series.items():
            if key not in self.curves:  # a metric's curves are made the first time it is reported
                if created == MAX_NEW_CURVES:  # a new curve (and its legend entry) costs milliseconds
                    self.mark_dirty()
                    continue
                created += 1
                metric, split = key
                self._label_axis()
                name = f"{'train' if split == 'train' else 'validation'} {self._label(metric)}"
                color = series_color(len(self.curves), self.context.theme)
                self.curves[key] = self.add_curve(name, color, symbol="o")
            self.curves[key].setData(series.x, series.y)

    def _label_axis(self) -> None:
        metrics = {m for m, _ in self.series}
        label = "accuracy (%)" if metrics <= set(PERCENT) else self._label(next(iter(metrics))) \
            if len(metrics) == 1 else "metric"
        self.plot.getPlotItem().setLabel("left", label)

    def clear(self) -> None:
        for series in self.series.values():
            series.clear()

    def _compare(self, runs: dict[str, list[dict[str, Any]]]) -> None:
        item = self.plot.getPlotItem()
        for curve in self.compared:
            item.removeItem(curve)
        self.compared = []
        for i, (run_id, epochs) in enumerate(runs.items()):
            metrics = sorted({m for e in epochs for m in e.get("val", {}) if m != "loss"})
            for metric in metrics:
                xs = [float(e["epoch"]) + 1.0 for e in epochs]
                ys = [e["val"].get(metric, float("nan")) * self.scale(metric) for e in epochs]
                curve = self.add_curve(f"{run_id} validation {self._label(metric)}",
                                       series_color(i + 2, self.context.theme), symbol="o", dashed=True, width=1.2)
                curve.setData(xs, ys)
                self.compared.append(curve)


class StepScalarPanel(PlotPanel):
    """One scalar of the step messages over the run (learning rate, throughput)."""

    key = ""

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.values = Series()
        self.curve = self.add_curve(self.y_label, series_color(TRAIN, context.theme), width=1.0)
        self.plot.getPlotItem().legend.hide()
        context.runs.steps_arrived.connect(self._steps)

    def _steps(self, steps: list[t.Step]) -> None:
        self.values.extend((_x(s) for s in steps), (float(getattr(s, self.key)) for s in steps))
        self.mark_dirty()

    def redraw(self) -> None:
        self.curve.setData(self.values.x, self.values.y)

    def clear(self) -> None:
        self.values.clear()


class LearningRatePanel(StepScalarPanel):
    """The rate of every step, with a marker and a label where it was set by hand while training."""

    name, title, y_label, key = "learning_rate", "Learning Rate", "learning rate", "lr"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.changes: list[t.LRChanged] = []
        # plain numbers on the axis: an SI prefix lengthens the axis title past a short dock ("(x0.001)")
        self.plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        color = series_color(VALIDATION, context.theme)
        self.markers = pg.ScatterPlotItem(symbol="star", size=14, brush=pg.mkBrush(color), pen=pg.mkPen(None))
        self.plot.getPlotItem().addItem(self.markers)
        self.labels: list[pg.TextItem] = []
        context.runs.lr_changes_arrived.connect(self._changed)

    def _changed(self, changes: list[t.LRChanged]) -> None:
        self.changes += changes
        self.mark_dirty()

    def redraw(self) -> None:
        xs = [float(c.epoch) + float(c.epoch_fraction) for c in self.changes]
        x, y = self.values.x, self.values.y
        if self.changes:  # a change is a jump: the curve rises or falls straight up or down at its step
            at = np.searchsorted(x, xs, side="right")
            x, y = np.insert(x, at, xs), np.insert(y, at, [float(c.lr) for c in self.changes])
        self.curve.setData(x, y)
        self.markers.setData(xs, [float(c.lr) for c in self.changes])
        item = self.plot.getPlotItem()
        while len(self.labels) < len(self.changes):  # a label per change, made once
            label = pg.TextItem(anchor=(0.0, 1.0), color=self.context.theme.text)
            item.addItem(label)
            self.labels.append(label)
        for label, change, x in zip(self.labels, self.changes, xs):
            label.setText(f"set {change.lr:g}")
            label.setPos(x, float(change.lr))
        for label in self.labels[len(self.changes):]:
            label.setText("")

    def clear(self) -> None:
        super().clear()
        self.changes = []


class ThroughputPanel(StepScalarPanel):
    name, title, y_label, key = "throughput", "Throughput", "samples / s", "samples_per_s"
