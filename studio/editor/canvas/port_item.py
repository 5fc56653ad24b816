"""A node's input or output port: a small circle that wires attach to.

Ports are children of their `NodeItem`, which places them. A port paints itself
by the dtype of the tensor on it (floats blue, token ids amber), hollow while an
input is unconnected, and with a green or red ring while a wire being dragged
would be accepted or refused there. The hit area is larger than the dot so ports
are easy to grab. Ports never write the document: the scene handles the drag.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

RADIUS = 5.0
HIT_RADIUS = 10.0

NO_HIGHLIGHT, VALID, INVALID = 0, 1, 2
_CURSOR: list[QCursor] = []


def _cross_cursor() -> QCursor:
    """One shared cursor object (ten thousand ports need not build ten thousand)."""
    if not _CURSOR:
        _CURSOR.append(QCursor(Qt.CursorShape.CrossCursor))
    return _CURSOR[0]


class PortItem(QGraphicsItem):
    """One port of one node."""

    def __init__(self, parent: QGraphicsItem, node_id: str, name: str, is_input: bool, multi: bool = False):
        super().__init__(parent)
        self.node_id = node_id
        self.name = name
        self.is_input = is_input
        self.multi = multi
        self.connected = False
        self.is_int = False
        self.highlight = NO_HIGHLIGHT
        self._hover = False
        self.setAcceptHoverEvents(True)

    # ---- state set by the node / scene -------------------------------------------
    def set_state(self, *, connected: bool | None = None, is_int: bool | None = None) -> None:
        changed = False
        if connected is not None and connected != self.connected:
            self.connected, changed = connected, True
        if is_int is not None and is_int != self.is_int:
            self.is_int, changed = is_int, True
        if changed:
            self.update()

    def set_highlight(self, state: int) -> None:
        if state != self.highlight:
            self.highlight = state
            self.update()

    def anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    # ---- QGraphicsItem -------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-HIT_RADIUS, -HIT_RADIUS, 2 * HIT_RADIUS, 2 * HIT_RADIUS)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        scene = self.scene()
        if scene is None:
            return
        colors = scene.colors
        color = QColor(colors.port_int if self.is_int else colors.port_float)
        radius = RADIUS + (1.5 if self._hover or self.highlight else 0.0)
        if self.highlight:
            ring = QColor(colors.valid if self.highlight == VALID else colors.invalid)
            ring.setAlpha(70)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(ring)
            painter.drawEllipse(QPointF(0, 0), radius + 4, radius + 4)
            color = QColor(colors.valid if self.highlight == VALID else colors.invalid)
        painter.setPen(QPen(color, 2.0))
        filled = self.connected or not self.is_input or self.highlight
        painter.setBrush(color if filled else QColor(colors.node_body))
        if self.multi:
            painter.drawRoundedRect(QRectF(-radius, -radius - 2, 2 * radius, 2 * radius + 4), radius, radius)
        else:
            painter.drawEllipse(QPointF(0, 0), radius, radius)

    def hoverEnterEvent(self, event) -> None:
        if not self.hasCursor():  # set on first hover: cheaper than on each of 10,000 ports at load
            self.setCursor(_cross_cursor())
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()
