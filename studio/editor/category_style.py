"""A colour and a small painted icon for each layer category.

The palette, the quick-add box, the inspector and the node items all show a
layer's category the same way. Known categories get a hand-picked colour and a
glyph drawn with QPainter; a category added later (a plug-in's, say) gets a
stable colour hashed from its name and its first letter, so the catalog is
always read dynamically and nothing breaks when it grows.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

_COLORS = {
    "Input / Output": "#0f766e",
    "Dense": "#2563eb",
    "Convolution": "#7c3aed",
    "Pooling": "#0891b2",
    "Normalisation": "#65a30d",
    "Reshape": "#64748b",
    "Sequence": "#c2410c",
    "Recurrent": "#c2410c",
    "Attention": "#db2777",
    "Merge": "#ca8a04",
    "Activation": "#dc6b19",
    "Blocks": "#4f46e5",
    "Block ports": "#0f766e",
}


def category_color(category: str) -> QColor:
    """The colour of `category` (hashed from the name for categories not listed here)."""
    if category in _COLORS:
        return QColor(_COLORS[category])
    hue = zlib.crc32(category.encode("utf-8")) % 360
    return QColor.fromHsl(hue, 140, 110)


def _glyph(painter: QPainter, category: str, r: QRectF) -> None:
    """Draw the white glyph of `category` inside `r` (a square in a 16-unit design grid)."""
    s = r.width() / 16.0

    def p(x: float, y: float) -> QPointF:
        return QPointF(r.left() + x * s, r.top() + y * s)

    path = QPainterPath()
    if category == "Input / Output":
        path.moveTo(p(3, 8))
        path.lineTo(p(12, 8))
        path.moveTo(p(9, 5))
        path.lineTo(p(12, 8))
        path.lineTo(p(9, 11))
    elif category == "Dense":
        for x in (4, 12):
            for y in (4, 8, 12) if x == 4 else (6, 10):
                path.addEllipse(p(x, y), 1.1 * s, 1.1 * s)
        for y in (4, 8, 12):
            for y2 in (6, 10):
                path.moveTo(p(4, y))
                path.lineTo(p(12, y2))
    elif category == "Convolution":
        for i in range(3):
            for j in range(3):
                path.addRect(QRectF(p(3.5 + i * 3.2, 3.5 + j * 3.2), p(5.8 + i * 3.2, 5.8 + j * 3.2)))
    elif category == "Pooling":
        path.addRect(QRectF(p(3, 3), p(13, 13)))
        path.moveTo(p(8, 3))
        path.lineTo(p(8, 13))
        path.moveTo(p(3, 8))
        path.lineTo(p(13, 8))
    elif category == "Normalisation":
        path.moveTo(p(2.5, 12.5))
        path.cubicTo(p(6, 12.5), p(6, 3), p(8, 3))
        path.cubicTo(p(10, 3), p(10, 12.5), p(13.5, 12.5))
    elif category == "Reshape":
        path.addRect(QRectF(p(3, 4), p(8, 12)))
        path.addRect(QRectF(p(10, 7), p(13.5, 9)))
    elif category in ("Sequence", "Recurrent"):
        path.arcMoveTo(QRectF(p(3, 3), p(13, 13)), 60)
        path.arcTo(QRectF(p(3, 3), p(13, 13)), 60, 280)
        path.moveTo(p(12.5, 2.5))
        path.lineTo(p(10.5, 4.3))
        path.lineTo(p(13, 5.5))
    elif category == "Attention":
        path.moveTo(p(2, 8))
        path.quadTo(p(8, 1.5), p(14, 8))
        path.quadTo(p(8, 14.5), p(2, 8))
        path.addEllipse(p(8, 8), 2 * s, 2 * s)
    elif category == "Merge":
        path.moveTo(p(3, 4))
        path.lineTo(p(8, 8))
        path.lineTo(p(3, 12))
        path.moveTo(p(8, 8))
        path.lineTo(p(13, 8))
    elif category == "Blocks":  # two stacked boxes: a subnetwork
        path.addRoundedRect(QRectF(p(2.5, 2.5), p(10.5, 10.5)), 1.5 * s, 1.5 * s)
        path.moveTo(p(13.5, 6))
        path.lineTo(p(13.5, 13.5))
        path.lineTo(p(6, 13.5))
    elif category == "Block ports":  # an arrow through a bracket: a way in or out of a block
        path.moveTo(p(2.5, 8))
        path.lineTo(p(11, 8))
        path.moveTo(p(8, 5))
        path.lineTo(p(11, 8))
        path.lineTo(p(8, 11))
        path.moveTo(p(13.5, 3))
        path.lineTo(p(13.5, 13))
    elif category == "Activation":
        path.moveTo(p(2.5, 11))
        path.lineTo(p(7.5, 11))
        path.lineTo(p(13.5, 4))
    else:
        font = QFont()
        font.setPixelSize(int(11 * s))
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, (category[:1] or "?").upper())
        return
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)


def paint_category_badge(painter: QPainter, category: str, rect: QRectF) -> None:
    """A rounded square in the category colour with its white glyph (used by icons and nodes)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(category_color(category))
    radius = rect.width() * 0.22
    painter.drawRoundedRect(rect, radius, radius)
    pen = QPen(QColor("white"), max(1.0, rect.width() / 11.0))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    _glyph(painter, category, rect.adjusted(rect.width() * 0.08, rect.width() * 0.08,
                                            -rect.width() * 0.08, -rect.width() * 0.08))
    painter.restore()


@lru_cache(maxsize=64)
def category_icon(category: str) -> QIcon:
    """A QIcon of the category badge at the usual small sizes."""
    icon = QIcon()
    for size in (16, 20, 24, 32, 48):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        paint_category_badge(painter, category, QRectF(0.5, 0.5, size - 1, size - 1))
        painter.end()
        icon.addPixmap(pixmap)
    return icon
