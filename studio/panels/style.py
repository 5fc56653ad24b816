"""Plot colours for the light and dark themes, and the styling of pyqtgraph widgets to match.

pyqtgraph paints itself, so the application stylesheet cannot reach it: `style_plot` gives a
`PlotWidget` the theme's background, axis and text colours, and `series_color(i, theme)` gives the
i-th curve colour (the same order in every panel, so "train" and "validation" look alike
everywhere).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from studio.theme import Theme

_SERIES = {
    "light": ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"),
    "dark": ("#60a5fa", "#f87171", "#4ade80", "#fbbf24", "#a78bfa", "#22d3ee", "#f472b6", "#a3e635"),
}
TRAIN, VALIDATION = 0, 1


def series_color(index: int, theme: Theme) -> str:
    colors = _SERIES.get(theme.name, _SERIES["light"])
    return colors[index % len(colors)]


def style_plot(widget: pg.PlotWidget, theme: Theme) -> None:
    """Background, axes, grid and legend in the theme's colours."""
    widget.setBackground(theme.base)
    item = widget.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(theme.muted))
        axis.setTextPen(pg.mkPen(theme.text))
    item.showGrid(x=True, y=True, alpha=0.15)
    if item.legend is not None:
        item.legend.setLabelTextColor(theme.text)
        item.legend.setBrush(pg.mkBrush(QColor(theme.base).lighter(100)))
        item.legend.setPen(pg.mkPen(theme.canvas.node_border))
    item.titleLabel.setAttr("color", theme.text)


def new_plot(theme: Theme, x_label: str = "", y_label: str = "", legend: bool = True) -> pg.PlotWidget:
    """A plot widget ready for long runs: peak downsampling and clipping to the view."""
    widget = pg.PlotWidget()
    item = widget.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.setMenuEnabled(False)
    if x_label:
        item.setLabel("bottom", x_label)
    if y_label:
        item.setLabel("left", y_label)
    if legend:
        item.addLegend(offset=(-8, 8), labelTextSize="8pt")
    style_plot(widget, theme)
    return widget


def lookup_table(name: str = "viridis") -> np.ndarray:
    """A (256, 4) uint8 colour table from a pyqtgraph colour map."""
    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=True)


def rgba(color: str) -> tuple[int, int, int, int]:
    c = QColor(color)
    return c.red(), c.green(), c.blue(), 255


def ramp_table(low: str, high: str) -> np.ndarray:
    """A (256, 4) uint8 table running linearly from colour `low` to colour `high`."""
    a, b = np.array(rgba(low), dtype=np.float64), np.array(rgba(high), dtype=np.float64)
    t = np.linspace(0.0, 1.0, 256)[:, None]
    return np.round(a + (b - a) * t).astype(np.uint8)

