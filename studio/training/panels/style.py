"""Plot colours for the light and dark themes, and the styling of pyqtgraph widgets to match.

pyqtgraph paints itself, so the application stylesheet cannot reach it: `style_plot` gives a
`PlotWidget` the theme's background, axis and text colours, and `series_color(i, theme)` gives the
i-th curve colour (the same order in every panel, so "train" and "validation" look alike
everywhere).
"""

from __future__ import annotations

import math

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
    item.showGrid(x=False, y=False)  # a grid costs more to paint than the curves (≈5 ms a repaint)
    if item.legend is not None:
        item.legend.setLabelTextColor(theme.text)
        for _sample, label in item.legend.items:  # setLabelTextColor leaves drawn labels in the old colour
            label.setText(label.text, color=theme.text)
        background = QColor(theme.base)
        background.setAlpha(215)  # curves stay visible under the legend, its text stays readable
        item.legend.setBrush(pg.mkBrush(background))
        item.legend.setPen(pg.mkPen(theme.canvas.node_border))
    item.titleLabel.setAttr("color", theme.text)
    if item.titleLabel.text:
        item.titleLabel.setText(item.titleLabel.text, color=theme.text)


class DecadeAxis(pg.AxisItem):
    """A log axis labelled only at 1, 2 and 5 × 10^n (only at powers of ten across many decades).

    pyqtgraph labels every minor tick of a log axis, and on a short axis they overlap.
    """

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        lo, hi = self.range if self.range else (0.0, 1.0)
        keep = (1,) if abs(hi - lo) > 2.5 else (1, 2, 5)
        out = []
        for v in values:
            mantissa = round(10 ** (v - math.floor(v)), 3)
            out.append(f"{10 ** v:g}" if any(abs(mantissa - k) < 1e-6 for k in keep) else "")
        return out


def new_plot(theme: Theme, x_label: str = "", y_label: str = "", legend: bool = True,
             long_series: bool = True, log_y: bool = False,
             legend_offset: tuple[int, int] = (-8, 8)) -> pg.PlotWidget:
    """A plot widget; for `long_series` ready for long runs: peak downsampling and clipping to the view.

    Histograms (``stepMode`` curves, whose x has one value more than y) must not clip: pyqtgraph
    cuts x and y alike. `log_y` gives a log y axis labelled at 1, 2 and 5 × 10^n; the legend sits
    at `legend_offset` (negative numbers count from the right and bottom).
    """
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")} if log_y else None)
    item = widget.getPlotItem()
    if log_y:
        item.setLogMode(y=True)
        item.getAxis("left").enableAutoSIPrefix(False)
    if long_series:
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
    item.setMenuEnabled(False)
    if x_label:
        item.setLabel("bottom", x_label)
    if y_label:
        item.setLabel("left", y_label)
    if legend:
        # two columns: a short plot (the row under the canvas) keeps every entry and most of its curves
        item.addLegend(offset=legend_offset, labelTextSize="8pt", colCount=2)
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

