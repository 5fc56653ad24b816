"""The confusion matrix of the latest validation (or test) pass: a heatmap with the counts in it.

Rows are true classes, columns predicted ones; colour is the share of each true class (so a
rare class is as readable as a common one), the text is the count. All counts are painted by one
item (`CountsItem`) at the screen positions of the cell centres, so a 10×10 matrix is one item,
not a hundred text items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.mosaic import colorize
from studio.training.panels.style import ramp_table, rgba, series_color

MAX_TEXT_CLASSES = 20  # beyond this only the colours show the counts


class CountsItem(pg.GraphicsObject):
    """The counts of a matrix, drawn unscaled at the centres of its cells."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.dark = np.zeros((0, 0), dtype=bool)  # cells that need light text
        self.font = QFont()
        self.font.setPixelSize(12)

    def set_counts(self, counts: np.ndarray, dark: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.counts, self.dark = counts, dark
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.counts.shape[1], self.counts.shape[0])

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        n = len(self.counts)
        if n == 0 or n > MAX_TEXT_CLASSES:
            return
        transform = painter.transform()
        centres = [[transform.map(QPointF(c + 0.5, r + 0.5)) for c in range(n)] for r in range(n)]
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        box = QRectF(-40, -10, 80, 20)
        for r in range(n):
            for c in range(n):
                painter.setPen(QColor("#ffffff" if self.dark[r, c] else "#111827"))
                text = str(int(self.counts[r, c]))
                painter.drawText(box.translated(centres[r][c]), Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class ConfusionPanel(Panel):
    """Heatmap of true vs predicted classes with counts."""

    name, title = "confusion", "Confusion Matrix"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.message: t.ConfusionMatrix | None = None
        self.matrix: np.ndarray | None = None
        self.names: list[str] = []
        self._lut = ramp_table(context.theme.base, series_color(0, context.theme))
        self.header = QLabel("The confusion matrix appears after the first validation pass.")
        self.header.setWordWrap(True)
        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.invertY(True)
        item.setLabel("bottom", "predicted")
        item.setLabel("left", "true")
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.counts = CountsItem()
        item.addItem(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.plot, 1)
        self._theme = context.theme
        self.apply_theme(context.theme)
        context.runs.confusion_arrived.connect(self._arrived)

    def _arrived(self, message: t.ConfusionMatrix) -> None:
        self.message = message
        self.mark_dirty()

    def redraw(self) -> None:
        if self.message is None:
            self.image.clear()
            self.counts.set_counts(np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=bool))
            self.header.setText("The confusion matrix appears after the first validation pass.")
            return
        m = np.asarray(self.message.matrix, dtype=np.int64)
        names = list(self.message.class_names or [str(i) for i in range(len(m))])
        self.matrix = m
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        self.image.setImage(colorize(share.astype(np.float32), self._lut, rgba(self._theme.base)), autoLevels=False)
        self._texts(m, share)
        self.names = names
        self._ticks()
        item = self.plot.getPlotItem()
        item.setRange(xRange=(0, len(m)), yRange=(0, len(m)), padding=0.02)
        total = int(m.sum())
        correct = float(np.trace(m)) / total * 100 if total else 0.0
        split = "validation" if self.message.split == "val" else "test"
        self.header.setText(f"<b>{split}</b> · epoch {int(self.message.epoch) + 1} · {total} samples · "
                            f"{correct:.1f}% correct")

    def _ticks(self) -> None:
        """Class names on both axes; under the columns shortened until they fit their cells."""
        item = self.plot.getPlotItem()
        names = self.names
        item.getAxis("left").setTicks([[(i + 0.5, n) for i, n in enumerate(names)]])
        cell = item.getViewBox().width() / max(len(names), 1)
        metrics = QFontMetrics(item.getAxis("bottom").style.get("tickFont") or QFont())
        shown = list(names)
        for length in (8, 5, 3, 1):
            if all(metrics.horizontalAdvance(n) + 6 <= cell for n in shown):
                break
            shown = [n if len(n) <= length else n[:length] + "." for n in names]
        item.getAxis("bottom").setTicks([[(i + 0.5, n) for i, n in enumerate(shown)]])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.names:
            self._ticks()

    def _texts(self, m: np.ndarray, share: np.ndarray) -> None:
        index = (np.clip(share, 0.0, 1.0) * 255).astype(np.uint8)
        rgb = self._lut[index][..., :3].astype(np.float64)
        luminance = rgb @ np.array([0.299, 0.587, 0.114])
        self.counts.set_counts(m, luminance < 140)

    def clear(self) -> None:
        self.message = None
        self.matrix = None

    def apply_theme(self, t: Theme) -> None:
        self._theme = t
        self._lut = ramp_table(t.base, series_color(0, t))
        self.plot.setBackground(t.base)
        item = self.plot.getPlotItem()
        for name in ("left", "bottom"):
            item.getAxis(name).setPen(pg.mkPen(t.muted))
            item.getAxis(name).setTextPen(pg.mkPen(t.text))
        self.mark_dirty()
