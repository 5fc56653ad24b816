"""The canvas view: zoom, pan, grid, drops from the palette, quick-add and the minimap.

`GraphView` shows a `GraphScene`. The wheel zooms around the cursor; the middle
button, or Space held with the left button, pans; a left drag on empty canvas
draws a rubber band (Ctrl or Shift adds to the selection). The background is a
grid that the scene snaps nodes to. A layer dragged from the palette and dropped
here becomes a node where it was dropped; a double-click on empty canvas, Tab or
Ctrl+Space opens the quick-add box at the cursor (with one node selected, the chosen layer is
wired after it, and inserted before what it fed); while the document is
read-only both are ignored. Everything that changes the document goes through
the scene's controller.

Repainting uses `BoundingRectViewportUpdate`; the grid skips its fine lines when
zoomed out, and below a readable zoom the scene draws its batched overview (see
`overview.py`), so that a 5,000-node network pans and zooms without stutter.
"""

from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from studio.editor.canvas.breadcrumb import BreadcrumbBar
from studio.editor.canvas.minimap import Minimap
from studio.editor.canvas.node_item import HEADER_H
from studio.editor.canvas.quick_add import QuickAddPopup
from studio.editor.canvas.scene import GRID, GraphScene
from studio.editor.clipboard import block_from_mime, layer_type_from_mime

MIN_ZOOM, MAX_ZOOM = 0.001, 3.0  # far enough out to fit thousands of nodes (drawn as an overview)


class GraphView(QGraphicsView):
    """The canvas widget."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space_held = False
        self.quick_add: QuickAddPopup | None = None
        self._quick_add_at = QPointF()
        self._quick_add_after: str | None = None
        self._was_empty = True
        self.minimap = Minimap(self)
        self.breadcrumb = BreadcrumbBar(self)  # over the canvas while a block is open

    # ---- scene -----------------------------------------------------------------------
    def graph_scene(self) -> GraphScene | None:
        scene = self.scene()
        return scene if isinstance(scene, GraphScene) else None

    def set_graph_scene(self, scene: GraphScene) -> None:
        self.setScene(scene)
        self.minimap.set_scene(scene)
        self._was_empty = not scene.nodes
        scene.content_changed.connect(self._content_changed)
        scene.follow_zoom(self.zoom())

    def _content_changed(self) -> None:
        scene = self.graph_scene()
        empty = scene is not None and not scene.nodes
        if empty != self._was_empty:  # the empty-canvas hint comes or goes: repaint all of it
            self._was_empty = empty
            self.viewport().update()

    # ---- zoom and pan -------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom`, keeping the scene point under `anchor` (view coordinates) in place."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        fixed = self.mapToScene(anchor.toPoint())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        moved = self.mapFromScene(fixed)
        self.pan_by(moved.x() - anchor.x(), moved.y() - anchor.y())
        self._zoom_applied(zoom)

    def _zoom_applied(self, zoom: float) -> None:
        scene = self.graph_scene()
        if scene is not None:
            scene.follow_zoom(zoom)  # level of detail: the overview below a readable zoom
        self.minimap.refresh()
        self.zoom_changed.emit(zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, anchor)

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(1 / 1.25)

    def pan_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def center(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def center_on_point(self, point: QPointF) -> None:
        self.centerOn(point)
        self.minimap.refresh()

    def fit_to_view(self, max_zoom: float = 1.0, min_zoom: float = MIN_ZOOM) -> None:
        """Show every node; zoom at most `max_zoom`, and at least `min_zoom` (then anchored left)."""
        scene = self.graph_scene()
        if scene is None or not scene.nodes:
            self.set_zoom(1.0)
            self.centerOn(0, 0)
            return
        rect = scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        view = self.viewport().rect()
        zoom = min(view.width() / max(rect.width(), 1), view.height() / max(rect.height(), 1))
        zoom = max(min_zoom, min(max_zoom, zoom))
        self.setTransform(QTransform.fromScale(zoom, zoom))
        if rect.width() * zoom > view.width():  # too wide to fit readably: start at the left end
            self.centerOn(rect.left() + view.width() / zoom / 2, rect.center().y())
        else:
            self.centerOn(rect.center())
        self._zoom_applied(zoom)

    def center_on_node(self, node_id: str) -> None:
        scene = self.graph_scene()
        if scene is not None and node_id in scene.nodes:
            item = scene.nodes[node_id]
            self.center_on_point(item.sceneBoundingRect().center())

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if shiboken6.isValid(self.minimap):  # Qt scrolls once more while tearing the view down
            self.minimap.refresh()

    # ---- background --------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.graph_scene()
        if scene is None:
            super().drawBackground(painter, rect)
            return
        colors = scene.colors
        painter.fillRect(rect, QColor(colors.background))
        zoom = self.zoom()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # straight 1-px lines: no need, far faster
        for step, color, min_zoom in ((GRID, colors.grid_minor, 0.55), (GRID * 5, colors.grid_major, 0.12)):
            if zoom < min_zoom:
                continue
            pen = QPen(QColor(color), 1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = [QLineF(x, rect.top(), x, rect.bottom())
                     for x in _steps(left, rect.right(), step)]
            lines += [QLineF(rect.left(), y, rect.right(), y) for y in _steps(top, rect.bottom(), step)]
            painter.drawLines(lines)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        scene = self.graph_scene()
        if scene is None or scene.nodes:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(scene.colors.text_muted))
        painter.drawText(QRectF(self.viewport().rect()), Qt.AlignmentFlag.AlignCenter,
                         "Drag a layer here from the Layers panel,\nor double-click (or press Tab) to search for one.")
        painter.restore()

    # ---- mouse and keys -------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta), event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:
        middle = event.button() == Qt.MouseButton.MiddleButton
        if middle or (self._space_held and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        _shift_as_ctrl(event)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_held
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        _shift_as_ctrl(event)
        super().mouseReleaseEvent(event)

    def editable(self) -> bool:
        """Whether the shown document takes edits (quick add and drops are ignored while read-only)."""
        scene = self.graph_scene()
        return scene is not None and scene.controller.editable

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.itemAt(event.position().toPoint()) is None:
            if not self.editable():
                event.accept()
                return
            self.open_quick_add(event.position().toPoint())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key.Key_Tab and not event.modifiers():
            if self.editable():
                self.open_quick_add()
            event.accept()
            return
        scene = self.graph_scene()
        if key == Qt.Key.Key_Escape and scene is not None and scene.cancel_gesture():
            event.accept()
            return
        if key == Qt.Key.Key_Escape and self.breadcrumb.isVisible():  # inside a block: back up
            self.breadcrumb.level_chosen.emit(len(self.breadcrumb.labels) - 2)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next_: bool) -> bool:
        return False  # Tab opens quick-add on the canvas instead of moving focus

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.minimap.place()
        self.minimap.refresh()

    # ---- quick add ------------------------------------------------------------------------
    def cursor_view_pos(self) -> QPoint:
        """The mouse position in the viewport, or its centre when the mouse is elsewhere."""
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        return pos if self.viewport().rect().contains(pos) else self.viewport().rect().center()

    def open_quick_add(self, view_pos: QPoint | None = None) -> QuickAddPopup | None:
        """Open the search box at `view_pos` (default: the cursor); the chosen layer lands there."""
        scene = self.graph_scene()
        if scene is None:
            return None
        view_pos = view_pos if view_pos is not None else self.cursor_view_pos()
        self._quick_add_at = self.mapToScene(view_pos)
        selected = scene.selected_node_ids()
        self._quick_add_after = selected[0] if len(selected) == 1 else None  # the new layer is wired after it
        if self.quick_add is None:
            self.quick_add = QuickAddPopup(scene.controller.doc.registry, self)
            self.quick_add.chosen.connect(self._quick_add_chosen)
        self.quick_add.registry = scene.controller.doc.registry
        self.quick_add.open_at(self.viewport().mapToGlobal(view_pos))
        return self.quick_add

    def _quick_add_chosen(self, type_id: str) -> None:
        scene = self.graph_scene()
        after = self._quick_add_after
        if scene is not None and after is not None and after in scene.controller.doc.nodes:
            node_id = scene.controller.add_after(after, type_id)
            if node_id is not None:
                scene.select_nodes([node_id])
                self.setFocus()
            return
        self.add_layer_at(type_id, self._quick_add_at)

    def add_layer_at(self, type_id: str, scene_pos: QPointF) -> str | None:
        """Add a node of `type_id` with its header under `scene_pos`, selected."""
        scene = self.graph_scene()
        if scene is None:
            return None
        pos = scene.snap_point(QPointF(scene_pos.x() - 20, scene_pos.y() - HEADER_H / 2))
        node_id = scene.controller.add_node(type_id, (pos.x(), pos.y()))
        if node_id is None:  # refused: the document is read-only
            return None
        scene.select_nodes([node_id])
        self.setFocus()
        return node_id

    # ---- drops from the palette -------------------------------------------------------------
    @staticmethod
    def _palette_drag(mime) -> bool:
        return layer_type_from_mime(mime) is not None or block_from_mime(mime) is not None

    def dragEnterEvent(self, event) -> None:
        if self._palette_drag(event.mimeData()) and self.editable():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if self._palette_drag(event.mimeData()) and self.editable():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        type_id = layer_type_from_mime(event.mimeData())
        block = block_from_mime(event.mimeData())
        if (type_id is None and block is None) or not self.editable() or self.graph_scene() is None:
            super().dropEvent(event)
            return
        at = self.mapToScene(event.position().toPoint())
        if type_id is not None:
            self.add_layer_at(type_id, at)
        else:
            self.add_block_at(*block, at)
        event.acceptProposedAction()

    def add_block_at(self, source: str, name: str, scene_pos: QPointF) -> str | None:
        """Place an instance of a block (the project's, or a bundled one) with its header under `scene_pos`."""
        scene = self.graph_scene()
        if scene is None:
            return None
        pos = scene.snap_point(QPointF(scene_pos.x() - 20, scene_pos.y() - HEADER_H / 2))
        node_id = scene.controller.place_block(source, name, (pos.x(), pos.y()))
        if node_id is not None:
            scene.select_nodes([node_id])
            self.setFocus()
        return node_id


def _shift_as_ctrl(event) -> None:
    """Shift adds to the selection like Ctrl does (clicks and rubber band alike)."""
    if event.button() == Qt.MouseButton.LeftButton and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
        event.setModifiers(event.modifiers() | Qt.KeyboardModifier.ControlModifier)


def _steps(start: float, stop: float, step: float) -> list[float]:
    count = max(0, math.ceil((stop - start) / step))
    return [start + i * step for i in range(count)]
