"""A 2-D view of a latent space: a VAE's latent means, or any node's activations through PCA.

Points arrive as `engine.telemetry.LatentPoints`, keyed by where they come from: the VAE
recipe's latent (its first two dimensions) or the PCA probe of a node (the node probed for
feature maps: select it on the canvas). The panel draws one scatter per class in the class's
colour (points without a class are grey), names the classes in those colours in a legend line
above the plot (on the plot it would hide a corner of the cloud), and a source box switches
between the latent and the nodes seen in this run. Updates come once an epoch.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.style import new_plot, series_color, style_plot

LATENT = "None"  # the key of the VAE's own latent (its message has no node)
MAX_LEGEND = 20  # the legend names this many classes, then says how many more there are


class LatentPanel(Panel):
    """A scatter of 2-D points coloured by class."""

    name, title = "latent", "Latent Space"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.sources: dict[str, t.LatentPoints] = {}
        self.source: str | None = None  # the key shown (None: the first to arrive)
        self.scatters: dict[int, pg.ScatterPlotItem] = {}
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.setObjectName("latent_source")
        self.choice.currentIndexChanged.connect(self._chosen)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Show"))
        row.addWidget(self.choice, 1)
        self.plot = new_plot(context.theme, "", "", legend=False, long_series=False)
        self.legend = QLabel()  # beside the plot, not on it: a cloud can fill any corner
        self.legend.setObjectName("latent_legend")
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(row)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        context.runs.latent_arrived.connect(self._arrived)

    def _arrived(self, by_source: dict[str, t.LatentPoints]) -> None:
        self.sources.update(by_source)
        if self.source is None:
            self.source = LATENT if LATENT in self.sources else next(iter(self.sources))
        self.mark_dirty()

    def _label(self, key: str) -> str:
        m = self.sources.get(key)
        pca = m is not None and m.method == "pca"
        if key == LATENT:
            return "latent space" + (" (two principal components)" if pca else " (first two dimensions)")
        name = self.context.workspace.node_name(key)
        return f"PCA of '{name}'" if pca else f"'{name}' (first two dimensions)"

    def _fill_choice(self) -> None:
        keys = sorted(self.sources, key=lambda k: (k != LATENT, k))
        if [self.choice.itemData(i) for i in range(self.choice.count())] == keys:
            return
        self.choice.blockSignals(True)
        self.choice.clear()
        for key in keys:
            self.choice.addItem(self._label(key), key)
        self.choice.setCurrentIndex(max(self.choice.findData(self.source), 0))
        self.choice.blockSignals(False)

    def _chosen(self, _index: int) -> None:
        key = self.choice.currentData()
        if key is not None and key != self.source:
            self.source = str(key)
            self.mark_dirty()
            self.flush()

    def show_source(self, key: str) -> None:
        self.choice.setCurrentIndex(self.choice.findData(key))

    def redraw(self) -> None:
        self._fill_choice()
        m = self.sources.get(self.source or "")
        item = self.plot.getPlotItem()
        if m is None:
            for scatter in self.scatters.values():
                scatter.setData(x=[], y=[])
            self.header.setText("A VAE's latent space, or the activations of the probed node (select one on the "
                                "canvas) through PCA, appear after each epoch, coloured by class.")
            return
        points = np.asarray(m.points, dtype=np.float64).reshape(-1, 2)
        labels = np.asarray(m.labels).reshape(-1)[:len(points)]
        names = list(m.class_names)
        present = sorted(set(labels.tolist()))
        for cls in present:
            if cls not in self.scatters:
                self.scatters[cls] = self._scatter(cls, names)
        for cls, scatter in self.scatters.items():
            chosen = labels == cls
            scatter.setData(x=points[chosen, 0], y=points[chosen, 1])
        self.legend.setText(self._legend_html(present, names))
        pca = m.method == "pca"
        item.setLabel("bottom", "principal component 1" if pca else "z₁")
        item.setLabel("left", "principal component 2" if pca else "z₂")
        item.enableAutoRange()
        what = self._label(self.source or "")
        self.header.setText(f"<b>{what[0].upper() + what[1:]}</b> · {len(points)} validation samples · after "
                            f"epoch {int(m.epoch) + 1}")

    def _class_color(self, cls: int) -> str:
        return series_color(cls, self.context.theme) if cls >= 0 else self.context.theme.muted

    def _class_name(self, cls: int, names: list[str]) -> str:
        return names[cls] if 0 <= cls < len(names) else ("no class" if cls < 0 else str(cls))

    def _legend_html(self, classes: list[int], names: list[str]) -> str:
        entries = [f"<span style='color:{self._class_color(c)}'>●</span>&nbsp;{self._class_name(c, names)}"
                   for c in classes[:MAX_LEGEND]]
        more = f" … and {len(classes) - MAX_LEGEND} more" if len(classes) > MAX_LEGEND else ""
        return " &nbsp; ".join(entries) + more

    def _scatter(self, cls: int, names: list[str]) -> pg.ScatterPlotItem:
        scatter = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(self._class_color(cls)),
                                     name=self._class_name(cls, names))
        self.plot.getPlotItem().addItem(scatter)
        return scatter

    def clear(self) -> None:
        self.sources = {}
        self.source = None
        item = self.plot.getPlotItem()
        for scatter in self.scatters.values():
            item.removeItem(scatter)
        self.scatters = {}
        self.legend.setText("")
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.blockSignals(False)

    def apply_theme(self, t: Theme) -> None:
        style_plot(self.plot, t)
