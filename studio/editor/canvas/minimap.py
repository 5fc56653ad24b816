"""The minimap: an overview of the whole network in a corner of the canvas.

A small overlay on the view's bottom-right corner paints each node as a block in
its category colour and the part of the scene the view shows as a frame; a click
or drag in it moves the view there; its × button (or View ▸ Minimap) hides it. It paints the node
rectangles the scene's overview keeps cached, grouped by colour (no scene render), so it stays cheap
with thousands of nodes. It is hidden while
everything is already in view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QToolButton, QWidget

if TYPE_CHECKING:
    from studio.editor.canvas.scene import GraphScene
    from studio.editor.canvas.view import GraphView

WIDTH, HEIGHT, MARGIN = 150, 96, 10  # small: an overview, not a second canvas


class Minimap(QWidget):
    """The overview overlay of a `GraphView`."""

    close_requested = Signal()  # its × button: the window turns View ▸ Minimap off

    def __init__(self, view: GraphView) -> None:
        super().__init__(view)
        self.view = view
        self.scene: GraphScene | None = None
        self.setFixedSize(WIDTH, HEIGHT)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self.wanted = True  # View > Minimap
        self._cache = QPixmap()
        self._cache_key: tuple | None = None
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("minimapClose")
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide the minimap (View ▸ Minimap shows it again)")
        self.close_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.close_button.setFixedSize(16, 16)
        self.close_button.move(WIDTH - 18, 2)
        self.close_button.clicked.connect(self.close_requested)
        self.hide()

    def set_scene(self, scene: GraphScene) -> None:
        if self.scene is not None:
            self.scene.content_changed.disconnect(self._content_changed)
        self.scene = scene
        scene.content_changed.connect(self._content_changed)
        self._content_changed()

    def _content_changed(self) -> None:
        self.place()
        self.refresh()

    def refresh(self) -> None:
        """Show the overview only when part of the network is out of view, and repaint it."""
        shown = False
        if self.wanted and self.scene is not None and self.scene.nodes:
            seen = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
            shown = not seen.contains(self._nodes_rect())
        if shown != self.isVisible():
            self.setVisible(shown)
        if shown:
            self.update()

    def _nodes_rect(self) -> QRectF:
        return self.scene.overview.nodes_rect()

    def place(self) -> None:
        area = self.view.viewport().geometry()
        self.move(area.right() - WIDTH - MARGIN, area.bottom() - HEIGHT - MARGIN)

    def _mapping(self) -> tuple[QRectF, float, QPointF]:
        """The scene rect shown, the scale, and the offset into the widget."""
        nodes = self._nodes_rect()
        seen = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        world = nodes.united(seen).adjusted(-40, -40, 40, 40)
        inner = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(inner.width() / world.width(), inner.height() / world.height())
        offset = QPointF(inner.center().x() - world.center().x() * scale,
                         inner.center().y() - world.center().y() * scale)
        return seen, scale, offset

    def paintEvent(self, event) -> None:
        if self.scene is None or not self.scene.nodes:
            return
        colors = self.scene.colors
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(colors.node_border), 1))
        background = QColor(colors.minimap_bg)
        background.setAlpha(235)
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        seen, scale, offset = self._mapping()
        painter.drawPixmap(0, 0, self._nodes_pixmap(scale, offset))
        frame = QColor(colors.minimap_view)
        fill = QColor(frame)
        fill.setAlpha(30)
        painter.setPen(QPen(frame, 1.5))
        painter.setBrush(fill)
        painter.drawRect(QRectF(seen.x() * scale + offset.x(), seen.y() * scale + offset.y(),
                                seen.width() * scale, seen.height() * scale))

    def _nodes_pixmap(self, scale: float, offset: QPointF) -> QPixmap:
        """The node blocks, drawn once per change of the network or of the mapping (not per frame)."""
        overview = self.scene.overview
        key = (overview.generation, scale, offset.x(), offset.y(), self.scene.colors, self.devicePixelRatioF())
        if key != self._cache_key:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(round(WIDTH * ratio), round(HEIGHT * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.translate(offset)
            painter.scale(scale, scale)
            for name, rects in overview.rects_by_color().items():
                color = QColor(name)
                color.setAlpha(200)
                pen = QPen(color, 2.0)  # cosmetic: every node shows as at least a 2-pixel block
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.setBrush(color)
                painter.drawRects(rects)
            painter.end()
            self._cache, self._cache_key = pixmap, key
        return self._cache

    def _move_view(self, pos: QPointF) -> None:
        _, scale, offset = self._mapping()
        self.view.center_on_point(QPointF((pos.x() - offset.x()) / scale, (pos.y() - offset.y()) / scale))

    def mousePressEvent(self, event) -> None:
        self._move_view(event.position())
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_view(event.position())
        event.accept()
