"""Level of detail: the zoomed-out canvas, drawn as coloured boxes with readable titles.

Below `DETAIL_LOD` a node's own text would be smaller than about 7 pixels on
screen, so the scene switches to overview mode (`GraphScene.set_overview`): the
node, wire and port items stop painting (they keep their place, selection and
hit area), and one `OverviewItem` draws the whole network in a handful of
batched calls: each node as a box in its category colour, wires as one path,
selection and error outlines, and each node's title in a screen-sized font,
only where the box on screen is big enough to hold it legibly. No text is ever
drawn below `TITLE_MIN_PX` pixels; ports and wire labels are not drawn at all.

The boxes, titles and wire path are computed from the scene's items once per
change (`invalidate` marks them stale; the next paint rebuilds them), so a frame
costs the same few calls whether the network has fifty nodes or five thousand.
The item never writes the document and takes no mouse events: clicks and
rubber bands reach the (invisible) node items underneath as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from studio.editor.canvas.lock_badge import paint_lock

if TYPE_CHECKING:
    from studio.editor.canvas.scene import GraphScene

DETAIL_LOD = 0.65  # the smallest node text (11 px) is about 7 px on screen here
TITLE_MIN_PX = 11  # no overview title is drawn smaller than this many pixels
TITLE_MAX_PX = 16
TITLE_MIN_CHARS_PX = 30  # a box narrower than this on screen gets no title (it would be "…")
STRAIGHT_WIRES_BELOW = 0.05  # zoom under which wires are drawn as straight lines
FILL_MIX = 0.30  # how much of the category colour tints a box
LOCK_MIN_RADIUS = 4.0  # a frozen box's lock is drawn where one this big (screen pixels) fits
LOCK_MAX_RADIUS = 8.5


@dataclass(slots=True)
class OverviewBox:
    """One node as the overview draws it."""

    node_id: str
    rect: QRectF
    color: str  # category colour, #rrggbb
    title: str
    error: bool
    badge: str = ""  # a count of problems inside a block, when there are any
    frozen: bool = False  # drawn with a lock in its corner


def _mix(color: QColor, base: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(base.redF() + (color.redF() - base.redF()) * amount,
                           base.greenF() + (color.greenF() - base.greenF()) * amount,
                           base.blueF() + (color.blueF() - base.blueF()) * amount)


class _TitleFonts:
    """Screen-pixel fonts by size, with their metrics, made on first use."""

    fonts: dict[int, tuple[QFont, QFontMetricsF]] = {}

    @classmethod
    def get(cls, px: int) -> tuple[QFont, QFontMetricsF]:
        if px not in cls.fonts:
            font = QFont()
            font.setPixelSize(px)
            font.setWeight(QFont.Weight.DemiBold)
            cls.fonts[px] = (font, QFontMetricsF(font))
        return cls.fonts[px]


def title_px(box_height_px: float) -> int | None:
    """The largest title font for a box this tall on screen, or None when no legible title fits."""
    px = int(min(TITLE_MAX_PX, box_height_px * 0.6))
    return px if px >= TITLE_MIN_PX else None


def fit_title(title: str, width: float, height: float) -> tuple[int, str] | None:
    """The font size and text of `title` in a box of this screen size: as large as the box allows,
    smaller (down to `TITLE_MIN_PX`) before it is shortened, None when not even a few letters fit."""
    largest = title_px(height)
    if largest is None or width < TITLE_MIN_CHARS_PX:
        return None
    for px in range(largest, TITLE_MIN_PX - 1, -1):
        if _TitleFonts.get(px)[1].horizontalAdvance(title) <= width:
            return px, title
    two_lines = _two_lines(title, width, height)
    if two_lines is not None:
        return two_lines
    elided = _TitleFonts.get(TITLE_MIN_PX)[1].elidedText(title, Qt.TextElideMode.ElideRight, width)
    return (TITLE_MIN_PX, elided) if len(elided) > 3 else None


def _two_lines(title: str, width: float, height: float) -> tuple[int, str] | None:
    """The title broken at a space into two lines that fit (``layer1`` over ``×2``), or None."""
    words = title.split(" ")
    if len(words) < 2:
        return None
    for px in range(min(TITLE_MAX_PX, int(height / 2.5)), TITLE_MIN_PX - 1, -1):
        metrics = _TitleFonts.get(px)[1]
        if 2 * metrics.height() > height:
            continue
        for cut in range(len(words) - 1, 0, -1):
            top, bottom = " ".join(words[:cut]), " ".join(words[cut:])
            if max(metrics.horizontalAdvance(top), metrics.horizontalAdvance(bottom)) <= width:
                return px, f"{top}\n{bottom}"
    return None


class OverviewItem(QGraphicsItem):
    """Draws every node and wire of a scene in overview mode."""

    def __init__(self, scene: GraphScene) -> None:
        super().__init__()
        self._scene = scene
        self._boxes: list[OverviewBox] | None = None
        self._groups: dict[str, list[QRectF]] = {}
        self._wires: QPainterPath | None = QPainterPath()
        self._lines: list[QLineF] = []
        self._bounds = QRectF()
        self._nodes_rect = QRectF()
        self._error_rects: list[QRectF] = []
        self._frozen_boxes: list[OverviewBox] = []
        self._by_id: dict[str, OverviewBox] = {}
        self._tallest = 0.0
        self._elided: dict[tuple[str, int, int], tuple[int, str] | None] = {}
        self.title_draws = 0  # titles drawn by the last paint (tests read this)
        self.generation = 0  # goes up with every change of the boxes (the minimap caches by it)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(1)

    # ---- cache ------------------------------------------------------------------------
    def invalidate(self) -> None:
        """The nodes, wires or problems changed: rebuild before the next paint."""
        if self._boxes is not None:
            self.prepareGeometryChange()
            self._boxes = None
            self.generation += 1
            self.update()

    def node_moved(self, item) -> None:
        """One node moved: move its box in place (wires are re-collected before the next overview paint)."""
        if self._boxes is None:
            return
        box = self._by_id.get(item.node_id)
        if box is None:
            self.invalidate()
            return
        box.rect.moveTo(item.pos())  # the same QRectF sits in the colour group the minimap draws
        self.generation += 1
        self.prepareGeometryChange()
        self._nodes_rect = self._nodes_rect.united(box.rect)
        self._bounds = self._bounds.united(box.rect)
        self._wires = None
        self.update()

    def boxes(self) -> list[OverviewBox]:
        if self._boxes is None:
            self._rebuild()
        return self._boxes

    def rects_by_color(self) -> dict[str, list[QRectF]]:
        """Node rectangles grouped by category colour (the minimap paints these too)."""
        if self._boxes is None:
            self._rebuild()
        return self._groups

    def nodes_rect(self) -> QRectF:
        """The union of every node's rectangle."""
        if self._boxes is None:
            self._rebuild()
        return self._nodes_rect

    def _rebuild(self) -> None:
        scene = self._scene
        boxes: list[OverviewBox] = []
        groups: dict[str, list[QRectF]] = {}
        bounds = QRectF()
        for node_id, item in scene.nodes.items():
            rect = QRectF(item.pos(), QPointF(item.pos().x() + item.size()[0], item.pos().y() + item.size()[1]))
            box = OverviewBox(node_id, rect, item.overview_color(), item.display_name(), item.has_error(),
                              item.overview_badge(), item.frozen)
            boxes.append(box)
            groups.setdefault(box.color, []).append(rect)
            bounds = bounds.united(rect)
        nodes_rect = QRectF(bounds)
        wires = self._collect_wires()
        if not wires.isEmpty():
            bounds = bounds.united(wires.boundingRect())
        self._by_id = {b.node_id: b for b in boxes}  # (invalidate announced the geometry change)
        self._boxes, self._groups, self._wires, self._nodes_rect = boxes, groups, wires, nodes_rect
        self.generation += 1
        self._error_rects = [b.rect for b in boxes if b.error]
        self._frozen_boxes = [b for b in boxes if b.frozen]
        self._tallest = max((b.rect.height() for b in boxes), default=0.0)
        frozen_tallest = max((b.rect.height() for b in self._frozen_boxes), default=0.0)
        self._bounds = bounds.adjusted(-4, -4 - frozen_tallest * 5 / 6, 4, 4)  # room for the locks
        self._elided.clear()

    def _collect_wires(self) -> QPainterPath:
        wires = QPainterPath()
        lines = []
        for edge_item in self._scene.edges.values():
            path = edge_item.path()
            wires.addPath(path)
            lines.append(QLineF(path.elementAt(0).x, path.elementAt(0).y,
                                path.currentPosition().x(), path.currentPosition().y()))
        self._lines = lines
        return wires

    # ---- QGraphicsItem ------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._boxes is None:
            self._rebuild()
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None):
        colors = self._scene.colors
        boxes = self.boxes()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        wire = QPen(QColor(colors.wire), 1.0)
        wire.setCosmetic(True)
        painter.setPen(wire)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._wires is None:
            self._wires = self._collect_wires()
        if painter.worldTransform().m11() < STRAIGHT_WIRES_BELOW:
            painter.drawLines(self._lines)  # curves this small are lines anyway, and far cheaper
        else:
            painter.drawPath(self._wires)
        body = QColor(colors.node_body)
        for color, rects in self._groups.items():
            edge = QColor(color)
            pen = QPen(edge, 1.0)
            pen.setCosmetic(True)  # a box of any size shows as at least a pixel of its colour
            painter.setPen(pen)
            painter.setBrush(_mix(edge, body, FILL_MIX))
            painter.drawRects(rects)
        self._paint_marks(painter, boxes, colors)
        self._paint_titles(painter, option.exposedRect, boxes, colors)
        self._paint_locks(painter, option.exposedRect, colors)

    def _paint_locks(self, painter: QPainter, exposed: QRectF, colors) -> None:
        """A lock over the top-left corner of each frozen box big enough on screen to hold one. It is
        drawn only where the box is at least 3 × LOCK_MIN_RADIUS pixels tall, so it reaches at most
        5/6 of the box's height above it (see the margin in `_rebuild`)."""
        if not self._frozen_boxes:
            return
        transform = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        fill, ring = QColor(colors.selection), QColor(colors.node_body)
        for box in self._frozen_boxes:
            if not box.rect.intersects(exposed):
                continue
            screen = transform.mapRect(box.rect)
            radius = min(LOCK_MAX_RADIUS, screen.height() / 3)
            if radius >= LOCK_MIN_RADIUS:  # above the box's left corner, clear of its title
                paint_lock(painter, QPointF(screen.left() + radius, screen.top() - radius - 1), radius, fill, ring)
        painter.restore()

    def _paint_marks(self, painter: QPainter, boxes: list[OverviewBox], colors) -> None:
        """Selection and error outlines, drawn over the boxes (cosmetic: visible at any zoom)."""
        chosen = [QRectF(i.pos(), QSizeF(*i.size())) for i in self._scene.selected_node_items()]
        errors = self._error_rects
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rects, color in ((errors, colors.error), (chosen, colors.selection)):
            if rects:
                pen = QPen(QColor(color), 2.5)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRects(rects)

    def _paint_titles(self, painter: QPainter, exposed: QRectF, boxes: list[OverviewBox], colors) -> None:
        """Each visible node's title, in screen pixels, where a legible one fits in its box."""
        self.title_draws = 0
        transform = painter.worldTransform()
        if title_px(self._tallest * transform.m22()) is None:  # even the tallest box is too small: skip the whole loop
            return
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        text = QColor(colors.text)
        badge_color = QColor(colors.error)
        current = None
        for box in boxes:
            if not box.rect.intersects(exposed):
                continue
            screen = transform.mapRect(box.rect)
            inner = screen.adjusted(3, 1, -3, -1)
            key = (box.title, int(inner.width()), int(inner.height()))
            if key not in self._elided:
                self._elided[key] = fit_title(box.title, int(inner.width()), int(screen.height()))
            fitted = self._elided[key]
            if fitted is None:
                continue
            px, title = fitted
            if current != px:
                painter.setFont(_TitleFonts.get(px)[0])
                current = px
            painter.setPen(text)
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, title)
            self.title_draws += 1
            if box.badge:
                painter.setPen(badge_color)
                painter.drawText(inner, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, box.badge)
        painter.restore()
