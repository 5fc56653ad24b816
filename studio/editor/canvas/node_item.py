"""A node on the canvas: name, type, key parameters, ports, output shape and size.

A `NodeItem` draws everything in its own `paint()` from text and rectangles laid
out once per change (`refresh` after a rename or a parameter change, `set_info`
after an analysis) and cached, so painting 500 nodes is a loop of `drawText`
calls with no layout. Below `DETAIL_LOD` it paints no text (see `overview.py`). Ports are child
`PortItem`s; the first input and output sit on the header line, so a chain of
nodes with their tops aligned has straight wires. Nodes with problems carry a
red (error) or amber (warning) `BadgeItem` whose tooltip lists the messages; a
frozen node carries a `LockBadgeItem` beside it, and so does every node inside an open block
that is frozen (`set_block_frozen`: training freezes all of it).

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
from studio.editor.canvas.lock_badge import LockBadgeItem
from studio.editor.canvas.overview import DETAIL_LOD
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


@dataclass(frozen=True)
class _Text:
    rect: QRectF
    text: str
    font: str  # "name" | "small" | "body" | "mono"
    color: str  # a CanvasColors field
    align: Qt.AlignmentFlag


_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_HEADER_PATHS: dict[tuple[float, float], QPainterPath] = {}


def _header_path(width: float, height: float) -> QPainterPath:
    """The header band of a rounded node box (shared: nodes come in few sizes)."""
    key = (width, height)
    if key not in _HEADER_PATHS:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, width, height), RADIUS, RADIUS)
        head = QPainterPath()
        head.addRect(QRectF(0, 0, width, HEADER_H))
        _HEADER_PATHS[key] = path.intersected(head)
    return _HEADER_PATHS[key]


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
            cls.widths: dict[tuple[str, str], float] = {}
            cls.elided: dict[tuple[str, str, Qt.TextElideMode, float], str] = {}
            cls.made = True
        return cls

    @classmethod
    def width(cls, font: str, text: str) -> float:
        """The advance of `text` in `font`: the sum of its characters' advances, each measured once.

        Node names are mostly distinct, so caching whole strings would not help; summing
        per-character advances ignores kerning (a fraction of a pixel per pair), which the node
        width, rounded up to 10 px with padding, absorbs. Elision measures exactly."""
        table = cls.widths
        total = 0.0
        for ch in text:
            w = table.get((font, ch))
            if w is None:
                w = table[(font, ch)] = cls.metrics[font].horizontalAdvance(ch)
            total += w
        return total

    @classmethod
    def elide(cls, font: str, text: str, mode: Qt.TextElideMode, width: float) -> str:
        if cls.width(font, text) <= width - 2 and cls.metrics[font].horizontalAdvance(text) <= width:
            return text
        key = (font, text, mode, width)
        found = cls.elided.get(key)
        if found is None:
            if len(cls.elided) > 100_000:
                cls.elided.clear()
            found = cls.elided[key] = cls.metrics[font].elidedText(text, mode, width)
        return found


NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
_POSITION_CHANGE = QGraphicsItem.GraphicsItemChange.ItemPositionChange
_POSITION_CHANGED = QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged
_SELECTED_CHANGED = QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged
_NODE_FLAGS = (QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
               | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)


class BadgeItem(QGraphicsItem):
    """The red or amber problem marker on a node's top-right corner."""

    R = 8.5

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.severity = ERROR
        self.label = "!"
        self.fix: Fix | None = None  # the first suggested fix: a click on the badge applies it
        self.setZValue(3)
        self.setAcceptHoverEvents(True)

    def set_problems(self, problems: list[Problem], counted: bool = False) -> None:
        """Show these problems; `counted` writes their number instead of "!" (a block's badge)."""
        self.severity = ERROR if any(p.severity == ERROR for p in problems) else "warning"
        label = (str(len(problems)) if len(problems) < 100 else "99+") if counted else "!"
        if label != self.label:
            self.prepareGeometryChange()
            self.label = label
        self.fix = next((p.fix for p in sorted(problems, key=lambda p: p.severity != ERROR) if p.fix), None)
        text = "\n".join(f"{'Error' if p.severity == ERROR else 'Warning'}: {p.message}" for p in problems)
        if self.fix is not None:
            text += f"\nClick to fix: {self.fix.description}"
        self.setToolTip(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor if self.fix else Qt.CursorShape.ArrowCursor)
        self.update()

    def _half_width(self) -> float:
        return self.R + 3.5 * (len(self.label) - 1)  # a pill wide enough for a two- or three-digit count

    def boundingRect(self) -> QRectF:
        w = self._half_width()
        return QRectF(-w - 1, -self.R - 1, 2 * w + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self.scene().colors
        painter.setPen(QPen(QColor(colors.node_body), 1.5))
        painter.setBrush(QColor(colors.error if self.severity == ERROR else colors.warning))
        w = self._half_width()
        painter.drawRoundedRect(QRectF(-w, -self.R, 2 * w, 2 * self.R), self.R, self.R)
        painter.setPen(QColor("white"))
        font = QFont(_Fonts.get().name)
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, self.label)


class NodeItem(QGraphicsItem):
    """One node, drawn from a cached layout."""

    def __init__(self, node: Node, spec: LayerSpec, info: NodeInfo | None = None,
                 problems: list[Problem] | None = None) -> None:
        super().__init__()
        self.node_id = node.id
        self.spec = spec
        self.name = node.name
        self.params = dict(node.params)
        self.bound: dict = {}  # values a block parameter sets (inside an open block), shown in place of params
        self.info: NodeInfo | None = info
        self.problems: list[Problem] = list(problems or [])
        self.setFlags(_NODE_FLAGS)
        self.in_ports = {p.name: PortItem(self, node.id, p.name, True, p.multi) for p in spec.inputs}
        self.out_ports = {p.name: PortItem(self, node.id, p.name, False) for p in spec.outputs}
        self._badge: BadgeItem | None = None  # made when the node first has a problem
        self.own_frozen = node.frozen
        self.block_frozen = False  # inside an open block that is frozen: frozen with it
        self._lock: LockBadgeItem | None = None  # made when the node is first frozen
        self._rect = QRectF()
        self._texts: list[_Text] | None = None
        self._label_of = None
        self._label = ""
        self._lines: list[float] = []
        self._header_path = QPainterPath()
        self._color = category_color(spec.category)
        self.setPos(*node.position)
        if info is not None:
            self._set_port_dtypes()
        self._layout()
        if self.problems:
            self.badge.set_problems(self.problems, counted=self.counts_problems)
            self.badge.show()
        if self.frozen:
            self.lock_badge.show()

    counts_problems = False  # a block's badge shows how many problems it holds

    @property
    def badge(self) -> BadgeItem:
        """The problem badge (hidden while the node has no problem)."""
        if self._badge is None:
            self._badge = BadgeItem(self)
            self._badge.hide()
            self._badge.setPos(self._rect.width() - 3, 3)
        return self._badge

    @property
    def lock_badge(self) -> LockBadgeItem:
        """The lock badge (shown while the node is frozen)."""
        if self._lock is None:
            self._lock = LockBadgeItem(self)
            self._lock.hide()
            self._place_lock()
        return self._lock

    def _place_lock(self) -> None:
        if self._lock is not None:  # on the top-left corner: clear of the icon, the first port and the problem badge
            self._lock.setPos(2, -3)

    @property
    def frozen(self) -> bool:
        """Whether training leaves this node's weights alone: frozen itself, or inside a frozen block."""
        return self.own_frozen or self.block_frozen

    def set_frozen(self, frozen: bool) -> None:
        self.own_frozen = frozen
        self._show_lock()

    def set_block_frozen(self, frozen: bool, block: str = "") -> None:
        self.block_frozen = frozen
        if frozen:
            self.lock_badge.setToolTip(f"Frozen with its block '{block}': training keeps these weights as they are")
        self._show_lock()

    def _show_lock(self) -> None:
        if self.frozen or self._lock is not None:
            self.lock_badge.setVisible(self.frozen and not self.flags() & NO_CONTENTS)

    # ---- content ---------------------------------------------------------------------
    @property
    def labelled_ports(self) -> bool:
        return len(self.spec.inputs) > 1 or len(self.spec.outputs) > 1

    def refresh(self, node: Node) -> None:
        """Take a new name, parameters or frozen flag from the document."""
        self.name, self.params = node.name, dict(node.params)
        if node.frozen != self.own_frozen:
            self.set_frozen(node.frozen)
        self._layout()

    def set_info(self, info: NodeInfo | None, problems: list[Problem]) -> None:
        """Take the latest inferred shape, parameter count and problems."""
        self.info, self.problems = info, problems
        if problems:
            self.badge.set_problems(problems, counted=self.counts_problems)
        if self._badge is not None:
            self._badge.setVisible(bool(problems) and not self.flags() & NO_CONTENTS)
        self._set_port_dtypes()
        self._layout()

    def _set_port_dtypes(self) -> None:
        info = self.info
        is_int = bool(info and info.output and info.output.dtype == LONG)
        for port in self.out_ports.values():
            port.set_state(is_int=is_int)

    @property
    def output_label(self) -> str:
        info = self.info
        if info is None or info.output is None:
            return ""
        if self._label_of is not info.output:  # the label is read by every wire out of the node
            self._label_of, self._label = info.output, info.output.label()
        return self._label

    def texts(self) -> list[str]:
        """Every text the node shows, in drawing order (name, type, rows, shape, count)."""
        return [t.text for t in self._laid_out_texts()]

    def _laid_out_texts(self) -> list[_Text]:
        # Placed on first need: a zoomed-out view of a big network never needs them.
        if self._texts is None:
            self._texts = self._make_texts(self._rows(), *self._footer(), self._rect.width(),
                                           self._rect.height())
        return self._texts

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
            if key in self.bound:
                rows.append((key, describe_value(self.bound[key]), "bound"))
            elif key in self.params:
                rows.append((key, describe_value(self.params[key]), "param"))
        return rows

    def bind(self, values: dict | None) -> None:
        """Show `values` (set by the open block's parameters) instead of the node's own."""
        values = dict(values or {})
        if values != self.bound:
            self.bound = values
            self._layout()

    def _footer(self) -> tuple[str, str]:
        if self.info is None:
            return "", ""
        shape = self.output_label or "—"
        count = self.info.param_count
        return shape, (f"{format_count(count)} params" if count else "")

    def _layout(self) -> None:
        f = _Fonts.get()
        rows = self._rows()
        shape, count = self._footer()
        header_w = ICON + 8 + f.width("name", self.display_name()) + 14 + f.width("small", self.spec.title)
        row_w = max((f.width("small", a) + 16 + f.width("body", b) for a, b, _ in rows), default=0.0)
        footer_w = f.width("mono", shape) + 14 + f.width("small", count)
        width = max(MIN_W, min(MAX_W, max(header_w, row_w, footer_w) + 2 * PAD))
        width = float(int((width + 9) // 10 * 10))
        body_h = (len(rows) * ROW_H + 10) if rows else 0.0
        height = HEADER_H + body_h + FOOTER_H
        if QRectF(0, 0, width, height) != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(0, 0, width, height)
            self._header_path = _header_path(width, height)
        self._texts = None
        self._lines = [HEADER_H, height - FOOTER_H]
        self._place_ports(rows)
        self.update()

    def _make_texts(self, rows, shape: str, count: str, width: float, height: float) -> list[_Text]:
        f = _Fonts.get()
        type_w = min(f.width("small", self.spec.title), width * 0.45)
        name_x = PAD + ICON + 8
        name_w = width - name_x - PAD - type_w - 8
        texts = [
            _Text(QRectF(name_x, 0, name_w, HEADER_H), f.elide(
                "name", self.display_name(), Qt.TextElideMode.ElideRight, name_w), "name", "text", _LEFT),
            _Text(QRectF(width - PAD - type_w, 0, type_w, HEADER_H), f.elide(
                "small", self.spec.title, Qt.TextElideMode.ElideRight, type_w), "small", "text_muted", _RIGHT),
        ]
        y = HEADER_H + 5
        for a, b, kind in rows:
            inset = 10.0 if kind == "port" else 0.0
            half = (width - 2 * PAD - 2 * inset) / 2
            if kind == "port":
                texts.append(_Text(QRectF(PAD + inset, y, half, ROW_H), a, "small", "text_muted", _LEFT))
                texts.append(_Text(QRectF(width / 2, y, half, ROW_H), b, "small", "text_muted", _RIGHT))
            else:
                key_w = min(f.width("small", a), width - 2 * PAD - 30)
                val_w = width - 2 * PAD - key_w - 12
                texts.append(_Text(QRectF(PAD, y, key_w, ROW_H), a, "small",
                                   "selection" if kind == "bound" else "text_muted", _LEFT))
                texts.append(_Text(QRectF(width - PAD - val_w, y, val_w, ROW_H), f.elide(
                    "body", b, Qt.TextElideMode.ElideMiddle, val_w), "body", "text", _RIGHT))
            y += ROW_H
        fy = height - FOOTER_H
        count_w = f.width("small", count)
        shape_w = width - 2 * PAD - count_w - (8 if count else 0)
        texts.append(_Text(QRectF(PAD, fy, shape_w, FOOTER_H), f.elide(
            "mono", shape, Qt.TextElideMode.ElideMiddle, shape_w), "mono",
            "text" if self.output_label else "text_muted", _LEFT))
        if count:
            texts.append(_Text(QRectF(width - PAD - count_w, fy, count_w, FOOTER_H), count, "small",
                               "text_muted", _RIGHT))
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
        if self._badge is not None:
            self._badge.setPos(width - 3, 3)
        self._place_lock()

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
        if option.levelOfDetailFromTransform(painter.worldTransform()) < DETAIL_LOD:
            return  # text this small is unreadable (the scene's overview normally draws instead)
        line = QColor(colors.node_border)
        line.setAlpha(150)
        painter.setPen(QPen(line, 1.0))
        for y in self._lines:
            painter.drawLine(QPointF(1, y), QPointF(self._rect.width() - 1, y))
        paint_category_badge(painter, self.spec.category, QRectF(PAD, (HEADER_H - ICON) / 2, ICON, ICON))
        fonts = _Fonts.get()
        current = None
        for t in self._laid_out_texts():
            if t.font != current:
                painter.setFont(getattr(fonts, t.font))
                current = t.font
            painter.setPen(QColor(getattr(colors, t.color)))
            painter.drawText(t.rect, t.align, t.text)

    # ---- level of detail -------------------------------------------------------------
    def set_overview(self, on: bool) -> None:
        """In overview mode the node paints nothing itself (the overview draws it) and hides its ports."""
        self.setFlag(NO_CONTENTS, on)
        for port in (*self.in_ports.values(), *self.out_ports.values()):
            port.setVisible(not on)
        if self._badge is not None:
            self._badge.setVisible(bool(self.problems) and not on)
        if self._lock is not None:
            self._lock.setVisible(self.frozen and not on)

    def display_name(self) -> str:
        """The name as the header and the overview show it."""
        return self.name

    def overview_color(self) -> str:
        return self._color.name()

    def has_error(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)

    def overview_badge(self) -> str:
        """A short mark the overview draws in the box's corner ("" for a plain layer)."""
        return ""

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):
        # Qt calls this for every change (tens of thousands while a big network loads): the
        # three that matter are handled, and the base class would only return `value`.
        if change == _POSITION_CHANGE:
            scene = self.scene()
            return scene.snap_point(value) if scene is not None else value
        if change == _POSITION_CHANGED:
            scene = self.scene()
            if scene is not None:
                scene.node_item_moved(self)
        elif change == _SELECTED_CHANGED:
            self.setZValue(0.5 if value else 0)
        return value
