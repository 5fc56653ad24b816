"""A node on the canvas: name, type, key parameters, ports, output shape and size.

A `NodeItem` draws everything in its own `paint()` from text and rectangles laid
out once per change (`refresh` after a rename or a parameter change, `set_info`
after an analysis) and cached, so painting 500 nodes is a loop of `drawText`
calls with no layout. At low zoom it paints a plain box. Ports are child
`PortItem`s; the first input and output sit on the header line, so a chain of
nodes with their tops aligned has straight wires. Nodes with problems carry a
red (error) or amber (warning) `BadgeItem` whose tooltip lists the messages.

The item snaps to the scene's grid while dragged and tells the scene when it
moved; it never writes the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.graph.analysis import ERROR, NodeInfo, Problem
from engine.graph.document import Node
from engine.layers.spec import LONG, Fix, LayerSpec
from studio.editor.canvas.port_item import PortItem
from studio.editor.category_style import category_color, paint_category_badge
from studio.editor.commands import describe_value
from studio.number_format import format_count

HEADER_H = 30.0
ROW_H = 19.0
FOOTER_H = 24.0
PAD = 10.0
MIN_W = 150.0
MAX_W = 270.0
RADIUS = 7.0
ICON = 16.0
LOW_DETAIL = 0.4
MIN_NAME_LOD = 0.18


@dataclass(frozen=True)
class _Text:
    rect: QRectF
    text: str
    font: str  # "name" | "small" | "body" | "mono"
    color: str  # a CanvasColors field
    align: Qt.AlignmentFlag


class _Fonts:
    """The node fonts, made once a QGuiApplication exists."""

    made = False

    @classmethod
    def get(cls) -> _Fonts:
        if not cls.made:
            cls.name = QFont()
            cls.name.setPixelSize(13)
            cls.name.setWeight(QFont.Weight.DemiBold)
            cls.small = QFont()
            cls.small.setPixelSize(11)
            cls.body = QFont()
            cls.body.setPixelSize(12)
            cls.mono = QFont("DejaVu Sans Mono")
            cls.mono.setStyleHint(QFont.StyleHint.Monospace)
            cls.mono.setPixelSize(11)
            cls.metrics = {k: QFontMetricsF(getattr(cls, k)) for k in ("name", "small", "body", "mono")}
            cls.made = True
        return cls


class BadgeItem(QGraphicsItem):
    """The red or amber problem marker on a node's top-right corner."""

    R = 8.5

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.severity = ERROR
        self.fix: Fix | None = None  # the first suggested fix: a click on the badge applies it
        self.setZValue(3)
        self.setAcceptHoverEvents(True)

    def set_problems(self, problems: list[Problem]) -> None:
        self.severity = ERROR if any(p.severity == ERROR for p in problems) else "warning"
        self.fix = next((p.fix for p in sorted(problems, key=lambda p: p.severity != ERROR) if p.fix), None)
        text = "\n".join(f"{'Error' if p.severity == ERROR else 'Warning'}: {p.message}" for p in problems)
        if self.fix is not None:
            text += f"\nClick to fix: {self.fix.description}"
        self.setToolTip(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor if self.fix else Qt.CursorShape.ArrowCursor)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        painter.setPen(QPen(QColor(colors.node_body), 1.5))
        painter.setBrush(QColor(colors.error if self.severity == ERROR else colors.warning))
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)
        painter.setPen(QColor("white"))
        font = QFont(_Fonts.get().name)
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


class NodeItem(QGraphicsItem):
    """One node, drawn from a cached layout."""

    def __init__(self, node: Node, spec: LayerSpec) -> None:
        super().__init__()
        self.node_id = node.id
        self.spec = spec
        self.name = node.name
        self.params = dict(node.params)
        self.info: NodeInfo | None = None
        self.problems: list[Problem] = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setZValue(1)
        self.setCursor(Qt.CursorShape.ArrowCursor)
        self.in_ports = {p.name: PortItem(self, node.id, p.name, True, p.multi) for p in spec.inputs}
        self.out_ports = {p.name: PortItem(self, node.id, p.name, False) for p in spec.outputs}
        self.badge = BadgeItem(self)
        self.badge.hide()
        self._rect = QRectF()
        self._texts: list[_Text] = []
        self._lines: list[float] = []
        self._header_path = QPainterPath()
        self._color = category_color(spec.category)
        self.setPos(*node.position)
        self._layout()

    # ---- content ---------------------------------------------------------------------
    @property
    def labelled_ports(self) -> bool:
        return len(self.spec.inputs) > 1 or len(self.spec.outputs) > 1

    def refresh(self, node: Node) -> None:
        """Take a new name or parameters from the document."""
        self.name, self.params = node.name, dict(node.params)
        self._layout()

    def set_info(self, info: NodeInfo | None, problems: list[Problem]) -> None:
        """Take the latest inferred shape, parameter count and problems."""
        self.info, self.problems = info, problems
        if problems:
            self.badge.set_problems(problems)
            self.badge.show()
        else:
            self.badge.hide()
        is_int = bool(info and info.output and info.output.dtype == LONG)
        for port in self.out_ports.values():
            port.set_state(is_int=is_int)
        self._layout()

    @property
    def output_label(self) -> str:
        return self.info.output.label() if self.info and self.info.output else ""

    def texts(self) -> list[str]:
        """Every text the node shows, in drawing order (name, type, rows, shape, count)."""
        return [t.text for t in self._texts]

    def size(self) -> tuple[float, float]:
        return self._rect.width(), self._rect.height()

    # ---- layout ----------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str, str]]:
        """(left text, right text, kind) per body row: port rows, then key parameters."""
        rows: list[tuple[str, str, str]] = []
        if self.labelled_ports:
            count = max(len(self.spec.inputs), len(self.spec.outputs))
            ins, outs = list(self.in_ports), list(self.out_ports)
            for i in range(count):
                rows.append((ins[i] if i < len(ins) else "", outs[i] if i < len(outs) else "", "port"))
        for key in self.spec.key_params:
            if key in self.params:
                rows.append((key, describe_value(self.params[key]), "param"))
        return rows

    def _footer(self) -> tuple[str, str]:
        if self.info is None:
            return "", ""
        shape = self.output_label or "—"
        count = self.info.param_count
        return shape, (f"{format_count(count)} params" if count else "")

    def _layout(self) -> None:
        fonts = _Fonts.get()
        m = fonts.metrics
        rows = self._rows()
        shape, count = self._footer()
        header_w = ICON + 8 + m["name"].horizontalAdvance(self.name) + 14 + \
            m["small"].horizontalAdvance(self.spec.title)
        row_w = max((m["small"].horizontalAdvance(a) + 16 + m["body"].horizontalAdvance(b)
                     for a, b, _ in rows), default=0.0)
        footer_w = m["mono"].horizontalAdvance(shape) + 14 + m["small"].horizontalAdvance(count)
        width = max(MIN_W, min(MAX_W, max(header_w, row_w, footer_w) + 2 * PAD))
        width = float(int((width + 9) // 10 * 10))
        body_h = (len(rows) * ROW_H + 10) if rows else 0.0
        height = HEADER_H + body_h + FOOTER_H
        if QRectF(0, 0, width, height) != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(0, 0, width, height)
            path = QPainterPath()
            path.addRoundedRect(self._rect, RADIUS, RADIUS)
            head = QPainterPath()
            head.addRect(QRectF(0, 0, width, HEADER_H))
            self._header_path = path.intersected(head)
        self._texts = self._make_texts(rows, shape, count, width, height)
        self._lines = [HEADER_H, height - FOOTER_H]
        self._place_ports(rows)
        self.update()

    def _make_texts(self, rows, shape: str, count: str, width: float, height: float) -> list[_Text]:
        m = _Fonts.get().metrics
        left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
        vc = Qt.AlignmentFlag.AlignVCenter
        type_w = min(m["small"].horizontalAdvance(self.spec.title), width * 0.45)
        name_x = PAD + ICON + 8
        name_w = width - name_x - PAD - type_w - 8
        texts = [
            _Text(QRectF(name_x, 0, name_w, HEADER_H), m["name"].elidedText(
                self.name, Qt.TextElideMode.ElideRight, name_w), "name", "text", left | vc),
            _Text(QRectF(width - PAD - type_w, 0, type_w, HEADER_H), m["small"].elidedText(
                self.spec.title, Qt.TextElideMode.ElideRight, type_w), "small", "text_muted", right | vc),
        ]
        y = HEADER_H + 5
        for a, b, kind in rows:
            inset = 10.0 if kind == "port" else 0.0
            half = (width - 2 * PAD - 2 * inset) / 2
            if kind == "port":
                texts.append(_Text(QRectF(PAD + inset, y, half, ROW_H), a, "small", "text_muted", left | vc))
                texts.append(_Text(QRectF(width / 2, y, half, ROW_H), b, "small", "text_muted", right | vc))
            else:
                key_w = min(m["small"].horizontalAdvance(a), width - 2 * PAD - 30)
                val_w = width - 2 * PAD - key_w - 12
                texts.append(_Text(QRectF(PAD, y, key_w, ROW_H), a, "small", "text_muted", left | vc))
                texts.append(_Text(QRectF(width - PAD - val_w, y, val_w, ROW_H), m["body"].elidedText(
                    b, Qt.TextElideMode.ElideMiddle, val_w), "body", "text", right | vc))
            y += ROW_H
        fy = height - FOOTER_H
        count_w = m["small"].horizontalAdvance(count)
        shape_w = width - 2 * PAD - count_w - (8 if count else 0)
        texts.append(_Text(QRectF(PAD, fy, shape_w, FOOTER_H), m["mono"].elidedText(
            shape, Qt.TextElideMode.ElideMiddle, shape_w), "mono", "text" if self.output_label else "text_muted",
            left | vc))
        if count:
            texts.append(_Text(QRectF(width - PAD - count_w, fy, count_w, FOOTER_H), count, "small",
                               "text_muted", right | vc))
        return texts

    def _place_ports(self, rows) -> None:
        width = self._rect.width()
        if self.labelled_ports:
            ys = [HEADER_H + 5 + ROW_H * (i + 0.5) for i in range(len(rows))]
        else:
            ys = [HEADER_H / 2]
        for i, port in enumerate(self.in_ports.values()):
            port.setPos(0, ys[min(i, len(ys) - 1)])
        for i, port in enumerate(self.out_ports.values()):
            port.setPos(width, ys[min(i, len(ys) - 1)])
        self.badge.setPos(width - 3, 3)

    # ---- QGraphicsItem ---------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        has_error = any(p.severity == ERROR for p in self.problems)
        if self.isSelected():
            pen = QPen(QColor(colors.selection), 2.0)
        elif has_error:
            pen = QPen(QColor(colors.error), 1.5)
        else:
            pen = QPen(QColor(colors.node_border), 1.0)
        painter.setPen(pen)
        painter.setBrush(QColor(colors.node_body))
        painter.drawRoundedRect(self._rect, RADIUS, RADIUS)
        header = QColor(self._color)
        header.setAlpha(34)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(header)
        painter.drawPath(self._header_path)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOW_DETAIL:
            self._paint_overview(painter, lod, colors)
            return
        line = QColor(colors.node_border)
        line.setAlpha(150)
        painter.setPen(QPen(line, 1.0))
        for y in self._lines:
            painter.drawLine(QPointF(1, y), QPointF(self._rect.width() - 1, y))
        paint_category_badge(painter, self.spec.category, QRectF(PAD, (HEADER_H - ICON) / 2, ICON, ICON))
        fonts = _Fonts.get()
        current = None
        for t in self._texts:
            if t.font != current:
                painter.setFont(getattr(fonts, t.font))
                current = t.font
            painter.setPen(QColor(getattr(colors, t.color)))
            painter.drawText(t.rect, t.align, t.text)

    def _paint_overview(self, painter: QPainter, lod: float, colors) -> None:
        """Zoomed far out: the name in a font that stays readable on screen, or just the category mark."""
        if lod < MIN_NAME_LOD:
            painter.setBrush(self._color)
            painter.drawRoundedRect(QRectF(PAD, (HEADER_H - ICON) / 2, ICON, ICON), 3, 3)
            return
        font = QFont(_Fonts.get().name)
        font.setPixelSize(max(13, int(10 / lod)))
        metrics = QFontMetricsF(font)
        box = self._rect.adjusted(PAD / 2, 0, -PAD / 2, 0)
        painter.setFont(font)
        painter.setPen(QColor(colors.text))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter,
                         metrics.elidedText(self.name, Qt.TextElideMode.ElideRight, box.width()))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        scene = self.scene()
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and scene is not None:
            return scene.snap_point(value)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and scene is not None:
            scene.node_item_moved(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1.5 if value else 1)
        return super().itemChange(change, value)
