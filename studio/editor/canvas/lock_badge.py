"""The lock badge: a frozen node's mark on the canvas.

A small round badge with a padlock, drawn on the top edge of a node whose weights training
leaves alone (`Node.frozen`; on a block it covers everything inside). It sits on the node's
top-left corner (the problem badge has the top-right one, so both can show at once), and its
tooltip says what freezing means. The node
item shows or hides it; the badge never edits anything. Zoomed out, the overview draws the same
mark with `paint_lock` in the corner of the node's box.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

TOOLTIP = "Frozen: training keeps these weights as they are (toggle in the Inspector)"


class LockBadgeItem(QGraphicsItem):
    """A padlock on a round badge, centred on its position."""

    R = 8.5

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setZValue(3)
        self.setToolTip(TOOLTIP)

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        paint_lock(painter, QPointF(0, 0), self.R, QColor(colors.selection), QColor(colors.node_body))


def paint_lock(painter: QPainter, centre: QPointF, radius: float, fill: QColor, ring: QColor) -> None:
    """A white padlock on a round badge of `radius` around `centre` (drawn at any scale)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(centre)
    painter.scale(radius / LockBadgeItem.R, radius / LockBadgeItem.R)  # drawn for the item's size
    painter.setPen(QPen(ring, 1.5))
    painter.setBrush(fill)
    painter.drawEllipse(QPointF(0, 0), LockBadgeItem.R, LockBadgeItem.R)
    white = QColor("white")
    shackle = QPainterPath()  # an arch over the body
    shackle.moveTo(-2.6, -0.5)
    shackle.lineTo(-2.6, -2.6)
    shackle.arcTo(QRectF(-2.6, -5.2, 5.2, 5.2), 180, -180)
    shackle.lineTo(2.6, -0.5)
    painter.setPen(QPen(white, 1.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(shackle)
    painter.setPen(Qt.PenStyle.NoPen)  # the body
    painter.setBrush(white)
    painter.drawRoundedRect(QRectF(-4.0, -1.0, 8.0, 6.0), 1.2, 1.2)
    painter.restore()
