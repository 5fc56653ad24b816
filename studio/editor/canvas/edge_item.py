"""A wire on the canvas: a curve from an output port to an input port, labelled with its shape.

An `EdgeItem` keeps its path and label box cached and recomputes them only when
an end moves (`update_path`) or the tensor on it changes (`set_label`). The label
(``N×16×5×5``) sits on the middle of the curve in a small pill and is left out
where the wire is too short to hold it or the view is zoomed far out. A wire is
selectable (for Delete) with a generous hit area. `WirePreview` is the dashed
curve that follows the mouse while a wire is being dragged. Neither writes the
document.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from engine.graph.document import Edge
from studio.editor.canvas.port_item import PortItem

_SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
LABEL_MIN_LOD = 0.7  # the 10 px label is 7 px on screen here; smaller is unreadable


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from `start` (an output) to `end` (an input)."""
    dx = max(40.0, abs(end.x() - start.x()) * 0.5)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


class _LabelFont:
    font: QFont | None = None
    metrics: QFontMetricsF | None = None

    widths: dict[str, float] = {}
    height = 0.0

    @classmethod
    def get(cls) -> tuple[QFont, QFontMetricsF]:
        if cls.font is None:
            cls.font = QFont("DejaVu Sans Mono")
            cls.font.setStyleHint(QFont.StyleHint.Monospace)
            cls.font.setPixelSize(10)
            cls.metrics = QFontMetricsF(cls.font)
            cls.height = cls.metrics.height()
        return cls.font, cls.metrics

    @classmethod
    def width(cls, label: str) -> float:
        """The label's advance, measured once per distinct label (a network has few shapes)."""
        found = cls.widths.get(label)
        if found is None:
            found = cls.widths[label] = cls.get()[1].horizontalAdvance(label)
        return found


class EdgeItem(QGraphicsItem):
    """One wire between two ports."""

    def __init__(self, edge: Edge, source: PortItem, target: PortItem, label: str = "") -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        self.label = label
        self._path = QPainterPath()
        self._shape: QPainterPath | None = None
        self._label_rect = QRectF()
        self._show_label = False
        self._bounds = QRectF()
        self._hover = False
        self.setFlag(_SELECTABLE)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)  # under the nodes (which keep the default 0: one call fewer per node)
        self.update_path()

    def path(self) -> QPainterPath:
        """The wire's curve, in scene coordinates."""
        return self._path

    def set_overview(self, on: bool) -> None:
        """In overview mode the wire paints nothing itself: the scene's overview draws all wires at once."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, on)

    def label_shown(self) -> bool:
        return self._show_label

    def set_label(self, label: str) -> None:
        if label != self.label:
            self.label = label
            self.update_path()

    def update_path(self) -> None:
        """Recompute the curve and the label box after an end moved."""
        start, end = self.source.anchor(), self.target.anchor()
        self.prepareGeometryChange()
        self._path = wire_path(start, end)
        self._shape = None  # stroked when first hit-tested: most wires of a big network never are
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4)
        self._show_label = False
        if self.label:
            w, h = _LabelFont.width(self.label) + 8, _LabelFont.height + 4
            # The curve is point-symmetric about the middle of its ends, so that is its midpoint.
            mid = QPointF((start.x() + end.x()) / 2, (start.y() + end.y()) / 2)
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)
            # Only where the gap between the two nodes can hold it.
            self._show_label = end.x() - start.x() >= w + 6
            if self._show_label:
                self._bounds = self._bounds.united(self._label_rect.adjusted(-1, -1, 1, 1))

    # ---- QGraphicsItem -------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10.0)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        selected = self.isSelected()
        color = QColor(colors.wire_selected if selected else colors.wire)
        width = 2.6 if selected or self._hover else 1.8
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if not self._show_label:
            return
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LABEL_MIN_LOD:
            return
        font, _ = _LabelFont.get()
        painter.setPen(QPen(color, 1.0))
        painter.setBrush(QColor(colors.label_bg))
        r = self._label_rect.height() / 2
        painter.drawRoundedRect(self._label_rect, r, r)
        painter.setFont(font)
        painter.setPen(QColor(colors.label_text))
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()


class WirePreview(QGraphicsPathItem):
    """The dashed wire that follows the mouse during a wire drag."""

    def __init__(self, color: str) -> None:
        super().__init__()
        pen = QPen(QColor(color), 2.0, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
        self.setZValue(5)

    def set_ends(self, output_end: QPointF, input_end: QPointF) -> None:
        self.setPath(wire_path(output_end, input_end))

    def set_color(self, color: str) -> None:
        pen = self.pen()
        pen.setColor(QColor(color))
        self.setPen(pen)
