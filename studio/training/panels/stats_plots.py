"""Weight and gradient statistics: gradient flow over time and per-node histograms.

`GradientFlowPanel` draws one curve per node with parameters: the norm of all its gradients
(log scale) at each statistics report, so vanishing or exploding gradients show as curves
falling or climbing away from the rest. `HistogramPanel` shows the latest weight and gradient
histograms of one parameter of one node (side by side when the panel is wide, one above the
other when it is tall); it follows the node selected on the canvas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QBoxLayout, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.scalar_plots import PlotPanel
from studio.training.panels.series import Series
from studio.training.panels.style import TRAIN, VALIDATION, new_plot, series_color, style_plot

NORM_FLOOR = 1e-12  # the log axis cannot show a zero norm
MAX_NEW_CURVES = 2


def total_norm(params: dict[str, dict[str, Any]]) -> float:
    """The norm of all of a node's parameters (or gradients) together."""
    return math.sqrt(sum(float(p["norm"]) ** 2 for p in params.values() if math.isfinite(float(p["norm"]))))


class GradientFlowPanel(PlotPanel):
    """Per-node gradient norms over the run."""

    name, title, x_label, y_label = "gradient_flow", "Gradient Flow", "step", "gradient norm"
    log_y = True

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.series: dict[str, Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        context.runs.grad_stats_arrived.connect(self._stats)

    def _stats(self, by_node: dict[str, t.ParamStats]) -> None:
        for node_id, message in by_node.items():
            norm = max(total_norm(message.params), NORM_FLOOR)
            self.series.setdefault(node_id, Series(256)).append(float(message.step), norm)
        self.mark_dirty()

    def redraw(self) -> None:
        created = 0
        for node_id, series in self.series.items():
            if node_id not in self.curves:
                if created == MAX_NEW_CURVES:  # making a curve costs milliseconds: a few per tick
                    self.mark_dirty()
                    continue
                self.curves[node_id] = self._new_curve(node_id)
                created += 1
            self.curves[node_id].setData(series.x, series.y)

    def _new_curve(self, node_id: str) -> pg.PlotDataItem:
        order = self.context.workspace.node_ids()
        index = order.index(node_id) if node_id in order else len(self.curves)
        color = pg.intColor(index, hues=max(len(order), 8), values=1, maxValue=220)
        return self.plot.getPlotItem().plot(name=self.context.workspace.node_name(node_id),
                                            pen=pg.mkPen(color, width=1.0), symbol="o", symbolSize=4,
                                            symbolBrush=color, symbolPen=None)

    def clear(self) -> None:
        item = self.plot.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
        self.series, self.curves = {}, {}

    def latest(self) -> dict[str, float]:
        """The last gradient norm of every node."""
        return {n: float(s.y[-1]) for n, s in self.series.items() if len(s)}


class HistogramPanel(Panel):
    """Weight and gradient histograms of one parameter of one node, latest report."""

    name, title = "histograms", "Histograms"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.weights: dict[str, dict[str, Any]] = {}
        self.grads: dict[str, dict[str, Any]] = {}
        self.node_box, self.param_box = QComboBox(), QComboBox()
        for box in (self.node_box, self.param_box):
            box.setMinimumContentsLength(6)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.info = QLabel("")
        self.info.setObjectName("muted")
        self.info.setWordWrap(True)
        self.node_box.setToolTip("The node whose parameters are shown (follows the canvas selection)")
        self.param_box.setToolTip("Which of the node's parameters")
        row = QHBoxLayout()
        row.addWidget(self.node_box, 1)
        row.addWidget(self.param_box, 1)
        t = context.theme
        self.plots = {"weights": new_plot(t, "value", "count", legend=False, long_series=False),
                      "grads": new_plot(t, "gradient", "count", legend=False, long_series=False)}
        for plot in self.plots.values():
            plot.setMinimumSize(110, 80)
        self.curves = {}
        for index, (key, plot) in ((TRAIN, ("weights", self.plots["weights"])),
                                   (VALIDATION, ("grads", self.plots["grads"]))):
            color = series_color(index, t)
            plot.setTitle("weights" if key == "weights" else "gradients", size="9pt")
            self.curves[key] = plot.getPlotItem().plot(stepMode="center", fillLevel=0,
                                                        pen=pg.mkPen(color, width=1.2),
                                                        brush=pg.mkBrush(color + "66"))
        self.plots_box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.plots_box.addWidget(self.plots["weights"])
        self.plots_box.addWidget(self.plots["grads"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.addLayout(row)
        layout.addLayout(self.plots_box, 1)
        layout.addWidget(self.info)
        self.node_box.activated.connect(lambda _i: self._node_chosen())
        self.param_box.activated.connect(lambda _i: self._param_chosen())
        context.runs.weight_stats_arrived.connect(lambda m: self._stats(self.weights, m))
        context.runs.grad_stats_arrived.connect(lambda m: self._stats(self.grads, m))
        context.workspace.selection_changed.connect(self._selection)

    @property
    def node_id(self) -> str | None:
        return self.node_box.currentData()

    def show_node(self, node_id: str) -> None:
        """Show the histograms of `node_id` (if it has parameters)."""
        index = self.node_box.findData(node_id)
        if index >= 0:
            self.node_box.setCurrentIndex(index)
            self._node_chosen()

    def _selection(self, node_ids: list[str]) -> None:
        if len(node_ids) == 1:
            self.show_node(node_ids[0])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() >= 2 * self.height()
        self.plots_box.setDirection(QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom)

    def _param_chosen(self) -> None:
        self.mark_dirty()
        self.flush()

    def _node_chosen(self) -> None:
        self._fill_params()
        self.mark_dirty()
        self.flush()

    def _stats(self, store: dict[str, dict[str, Any]], by_node: dict[str, t.ParamStats]) -> None:
        for node_id, message in by_node.items():
            store[node_id] = message.params
            if self.node_box.findData(node_id) < 0:
                self._add_node(node_id)
        if self.node_id in by_node:
            self.mark_dirty()

    def _add_node(self, node_id: str) -> None:
        order = self.context.workspace.node_ids()
        known = [self.node_box.itemData(i) for i in range(self.node_box.count())]
        position = sum(1 for k in known if k in order and node_id in order and order.index(k) < order.index(node_id))
        self.node_box.insertItem(position, self.context.workspace.node_name(node_id), node_id)
        if self.node_box.count() == 1 or node_id in self.context.workspace.selected():
            self.node_box.setCurrentIndex(self.node_box.findData(node_id))
            self._fill_params()

    def _fill_params(self) -> None:
        names = list((self.weights.get(self.node_id) or self.grads.get(self.node_id) or {}).keys())
        current = self.param_box.currentText()
        self.param_box.clear()
        self.param_box.addItems(names)
        if current in names:
            self.param_box.setCurrentText(current)

    def redraw(self) -> None:
        param = self.param_box.currentText()
        if self.param_box.count() == 0 and self.node_id is not None:
            self._fill_params()
            param = self.param_box.currentText()
        parts = []
        for key, store in (("weights", self.weights), ("grads", self.grads)):
            stats = store.get(self.node_id or "", {}).get(param)
            if stats is None:
                self.curves[key].clear()
                continue
            hist = np.asarray(stats["hist"], dtype=np.float64)
            lo, hi = (float(v) for v in stats["edges"])
            if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo < 1e-12:
                mid = lo if math.isfinite(lo) else 0.0
                lo, hi = mid - 1e-6, mid + 1e-6
            self.curves[key].setData(np.linspace(lo, hi, len(hist) + 1), hist)
            parts.append(f"{'weights' if key == 'weights' else 'gradients'}: mean {stats['mean']:.3g}, "
                         f"std {stats['std']:.3g}, norm {stats['norm']:.3g}")
        self.info.setText(" · ".join(parts) if parts else "No statistics yet: they arrive every few seconds "
                          "while training.")

    def clear(self) -> None:
        self.weights, self.grads = {}, {}
        self.node_box.clear()
        self.param_box.clear()

    def apply_theme(self, t: Theme) -> None:
        for plot in self.plots.values():
            style_plot(plot, t)
