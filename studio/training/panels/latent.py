"""A 2-D view of a latent space: a VAE's latent means, or any node's activations through PCA.

Points arrive as `engine.telemetry.LatentPoints`, keyed by where they come from: the VAE
recipe's latent (its first two dimensions) or the PCA probe of a node (the node probed for
feature maps: select it on the canvas). The panel draws one scatter per class, so the legend
names the classes in their colours (points without a class are grey), and a source box switches
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
MAX_LEGEND = 12  # more classes than this are drawn without legend entries past it


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
        self.plot = new_plot(context.theme, "", "", long_series=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        context.runs.latent_arrived.connect(self._arrived)

    def _arrived(self, by_source: dict[str, t.LatentPoints]) -> None:
        self.sources.update(by_source)
        if self.source is None:
            self.source = LATENT if LATENT in self.sources else next(iter(self.sources))
        self.mark_dirty()

    def _label(self, key: str) -> str:
        if key == LATENT:
            return "latent space (first two dimensions)"
        return f"PCA of '{self.context.workspace.node_name(key)}'"

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
        pca = m.method == "pca"
        item.setLabel("bottom", "principal component 1" if pca else "z₁")
        item.setLabel("left", "principal component 2" if pca else "z₂")
        item.enableAutoRange()
        what = self._label(self.source or "")
        self.header.setText(f"<b>{what[0].upper() + what[1:]}</b> · {len(points)} validation samples · after "
                            f"epoch {int(m.epoch) + 1}")

    def _scatter(self, cls: int, names: list[str]) -> pg.ScatterPlotItem:
        theme = self.context.theme
        color = series_color(cls, theme) if cls >= 0 else theme.muted
        name = names[cls] if 0 <= cls < len(names) else ("no class" if cls < 0 else str(cls))
        scatter = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(color), name=name)
        self.plot.getPlotItem().addItem(scatter)
        legend = self.plot.getPlotItem().legend
        if legend is not None and len(self.scatters) >= MAX_LEGEND:
            legend.removeItem(scatter)
        return scatter

    def clear(self) -> None:
        self.sources = {}
        self.source = None
        item = self.plot.getPlotItem()
        for scatter in self.scatters.values():
            item.removeItem(scatter)
        self.scatters = {}
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.blockSignals(False)

    def apply_theme(self, t: Theme) -> None:
        style_plot(self.plot, t)
