"""One side of the architecture diff: a run's network on a read-only canvas, its changed nodes ringed.

`DiffCanvas.show_network(document, marks, title)` draws `document` (a run's snapshot, never the
open project) with the editor's own canvas items (`GraphScene` over a read-only
`DocumentController`, laid out like the gallery when the snapshot has no positions), and puts a
`DiffHalo` on every marked node: a ring and a tag in the status colour (added green, removed red,
changed amber, dashed violet for a node with changes inside), whose tooltip lists the changes.
Double-clicking a block opens its body in place with that level's marks (merged over the block's
copies); the breadcrumb over the canvas, or Esc, goes back up. Nothing here can edit anything: the
controller refuses every change with `READ_ONLY`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QLabel,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from engine.diff.network_diff import ADDED, CHANGED, INSIDE, REMOVED, Mark
from engine.graph.document import GraphDocument
from engine.project import Project
from studio.editor.auto_layout import layout_is_broken
from studio.editor.canvas.scene import GraphScene
from studio.editor.canvas.view import GraphView
from studio.editor.document_controller import DocumentController
from studio.theme import Theme

READ_ONLY = "A run's network is read-only: open the project to edit it"
STATUS_COLORS = {ADDED: "#16a34a", REMOVED: "#dc2626", CHANGED: "#d97706", INSIDE: "#7c3aed"}
STATUS_WORDS = {ADDED: "added", REMOVED: "removed", CHANGED: "changed",
                INSIDE: "changed inside (+ added, − removed, ~ changed)"}
RING = 3.0  # pixels, at any zoom
GLOW = 8.0  # scene units around the node
TAG_H = 17.0


def tag_text(mark: Mark) -> str:
    """``added``, ``removed``, ``changed``; for changes inside, their counts: ``+2 −1 ~3``."""
    if mark.status != INSIDE:
        return STATUS_WORDS[mark.status]
    counts = {status: sum(c.status == status for c in mark.changes) for status in (ADDED, REMOVED, CHANGED)}
    return " ".join(f"{sign}{counts[status]}" for status, sign in ((ADDED, "+"), (REMOVED, "−"), (CHANGED, "~"))
                    if counts[status])


class DiffTag(QGraphicsItem):
    """The status word over a node's top-left corner, drawn at screen size (legible at any zoom)."""

    def __init__(self, halo: DiffHalo) -> None:
        super().__init__(halo)
        self.text = tag_text(halo.mark)
        self.color = halo.color
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._font = QFont()
        self._font.setPixelSize(11)
        self._font.setWeight(QFont.Weight.DemiBold)
        width = QFontMetricsF(self._font).horizontalAdvance(self.text) + 12
        self._rect = QRectF(-2, -TAG_H - 4, width, TAG_H)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(self.color))
        painter.drawRoundedRect(self._rect, 5, 5)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(self._font)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class DiffHalo(QGraphicsItem):
    """A tinted glow and a ring behind a node, in the colour of its diff status, with its `DiffTag`."""

    def __init__(self, node: QGraphicsItem, size: tuple[float, float], mark: Mark) -> None:
        super().__init__(node)
        self.mark = mark
        self.status = mark.status
        self._rect = QRectF(-GLOW, -GLOW, size[0] + 2 * GLOW, size[1] + 2 * GLOW)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        self.setToolTip("\n".join(change.text() for change in mark.changes))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.tag = DiffTag(self)

    @property
    def color(self) -> str:
        return STATUS_COLORS[self.status]

    @property
    def text(self) -> str:
        return self.tag.text

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-RING, -RING, RING, RING)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        color = QColor(self.color)
        fill = QColor(color)
        fill.setAlpha(70)
        pen = QPen(color, RING)
        pen.setCosmetic(True)  # the same width at any zoom: a zoomed-out network still shows its changes
        if self.status == INSIDE:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 12, 12)


MarksAt = Callable[[Sequence[str]], dict[str, Mark]]  # block path (instance ids) -> marks of that level


class DiffCanvas(QWidget):
    """A titled, read-only canvas of one run's network with diff halos; blocks open in place.

    Double-clicking a block shows its body with the marks of that level (`marks_at(path)`); the
    breadcrumb over the canvas (or Esc) goes back up. `level_changed(path)` tells the panel, which
    opens the same block on the other side.
    """

    level_changed = Signal(list)
    zoomed = Signal(float)  # a person zoomed this canvas (not a fit): the panel zooms the other one alike

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self._quiet_zoom = False
        self.title = QLabel()
        self.title.setObjectName("diffCanvasTitle")
        self.title.setWordWrap(True)
        self.view = GraphView()
        self.view.minimap.wanted = False  # it would cover much of a small canvas
        self.view.setMinimumSize(60, 40)
        self.view.breadcrumb.level_chosen.connect(self.go_to_depth)
        self.view.zoom_changed.connect(self._zoom_changed)
        self.controller: DocumentController | None = None
        self.scene: GraphScene | None = None
        self.halos: dict[str, DiffHalo] = {}
        self.marks_at: MarksAt = lambda path: {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    @property
    def block_path(self) -> list[str]:
        return list(self.controller.block_path) if self.controller is not None else []

    def show_network(self, document: GraphDocument, marks_at: MarksAt, title: str, name: str = "network") -> None:
        """Draw `document` with the marks `marks_at(path)` gives for each level; the previous network goes.
        `name` heads the breadcrumb inside a block (the run's id)."""
        self.clear()
        self.title.setText(title)
        self.marks_at = marks_at
        controller = DocumentController(Project(document, name))
        controller.set_editable(False, READ_ONLY)
        controller.level_changed.connect(self._show_level)
        self.controller = controller
        self._show_level()

    def _show_level(self) -> None:
        """Draw the document the controller shows (the network, or an open block's body) with its marks."""
        controller = self.controller
        assert controller is not None
        old = self.scene
        if old is not None:
            old.detach()
            old.blockSignals(True)
        scene = GraphScene(controller, self.theme.canvas)
        scene.setParent(self.view)
        scene.block_open_requested.connect(self.open_block)
        if layout_is_broken(controller.doc, scene.node_sizes()):  # written in code: no positions yet
            controller.set_editable(True)
            controller.auto_arrange(scene.node_sizes(), undoable=False)
            controller.set_editable(False, READ_ONLY)
        if not controller.block_path:
            scene.apply_analysis(controller.flush_analysis())
        self.scene = scene
        self.view.set_graph_scene(scene)
        self.view.breadcrumb.set_path(controller.level_names() if controller.block_path else [])
        self.halos = {}
        sizes = scene.node_sizes()
        for node_id, mark in self.marks_at(controller.block_path).items():
            item = scene.nodes.get(node_id)
            if item is not None:
                self.halos[node_id] = DiffHalo(item, sizes[node_id], mark)
        if old is not None:
            old.clear()
            old.deleteLater()
        self.fit()
        self.level_changed.emit(list(controller.block_path))

    def open_block(self, instance_id: str) -> bool:
        """Open a block instance of the shown level (double-click); False when it is no block here."""
        if self.controller is None or instance_id not in self.controller.doc.nodes or \
                not self.controller.doc.is_block(instance_id):
            return False
        self.controller.open_block(instance_id)
        return True

    def go_to_depth(self, depth: int) -> None:
        if self.controller is not None:
            self.controller.go_up(depth)

    def show_path(self, path: Sequence[str]) -> None:
        """Show the block reached through `path` (as deep as this network has it), or the network."""
        if self.controller is None or list(path) == self.block_path:
            return
        if self.block_path:
            self.controller.go_up(0)
        for instance_id in path:
            if not self.open_block(instance_id):
                break

    def fit(self) -> None:
        if self.scene is not None and self.scene.nodes:
            with self._not_echoed():  # each side fits its own network
                self.view.fit_to_view(max_zoom=1.0)

    def follow_zoom(self, zoom: float) -> None:
        """Zoom to `zoom` (the other canvas's, set by a person) about the middle, without echoing it back."""
        with self._not_echoed():
            self.view.set_zoom(zoom)

    @contextmanager
    def _not_echoed(self) -> Iterator[None]:
        """Zoom changes made inside are this canvas's own business: `zoomed` is not emitted for them."""
        self._quiet_zoom = True
        try:
            yield
        finally:
            self._quiet_zoom = False

    def _zoom_changed(self, zoom: float) -> None:
        if not self._quiet_zoom:
            self.zoomed.emit(zoom)

    def centre_on(self, node_id: str) -> None:
        if self.scene is not None and node_id in self.scene.nodes:
            self.scene.select_nodes([node_id])
            self.view.center_on_node(node_id)

    def clear(self) -> None:
        self.halos = {}
        if self.scene is not None:
            self.scene.detach()
            self.scene.clear()
            self.scene.deleteLater()
        if self.controller is not None:
            self.controller.level_changed.disconnect(self._show_level)
            self.controller.close()
            self.controller.deleteLater()
        self.scene = self.controller = None
        self.view.breadcrumb.set_path([])
        self.title.clear()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()


def legend(parent: QWidget | None = None) -> QLabel:
    """Coloured chips naming the diff statuses (one label that wraps, so a narrow dock stays narrow)."""
    chips = "&nbsp;&nbsp; ".join(f"<span style='color:{STATUS_COLORS[status]}; font-size:14px'>■</span>&nbsp;"
                                 f"{STATUS_WORDS[status]}" for status in (ADDED, REMOVED, CHANGED, INSIDE))
    label = QLabel(chips, parent)
    label.setObjectName("diffLegend")
    label.setWordWrap(True)
    return label
