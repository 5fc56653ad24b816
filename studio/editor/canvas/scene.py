"""The canvas scene: node and wire items kept in step with one document.

`GraphScene` builds a `NodeItem` per node and an `EdgeItem` per wire, keeps them
in `nodes: dict[node_id, NodeItem]` and `edges: dict[Edge, EdgeItem]`, and
follows the document only through the controller's `DocumentBridge` signals
(added, removed, connected, disconnected, parameter changed, renamed, moved)
and its `analysis_changed` signal (shapes, parameter counts, badges, wire
labels). It is the one place that turns mouse gestures on items into controller
calls: a node drag becomes one move command on release, a wire drag (see
`wire_drag.py`) one connect, reconnect or disconnect. Items never write the
document, and neither does the scene. While the controller is read-only
(`editable_changed`) nodes cannot be dragged and ports start no wires; selecting
still works.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from engine.graph.analysis import Analysis, NodeInfo, Problem
from engine.graph.document import Edge, Node
from engine.layers.spec import LONG
from studio.editor.canvas.block_item import BlockNodeItem
from studio.editor.canvas.edge_item import EdgeItem
from studio.editor.canvas.node_item import BadgeItem, NodeItem
from studio.editor.canvas.overview import DETAIL_LOD, OverviewItem
from studio.editor.canvas.port_item import PortItem
from studio.editor.canvas.wire_drag import WireDrag
from studio.editor.document_controller import DocumentController
from studio.theme import CanvasColors

GRID = 20.0
EXTENT = 200_000.0


class GraphScene(QGraphicsScene):
    """Items for one document's nodes and wires."""

    content_changed = Signal()  # nodes added, removed or moved (the minimap listens)
    block_open_requested = Signal(str)  # a block instance was double-clicked: open it in place

    def __init__(self, controller: DocumentController, colors: CanvasColors) -> None:
        super().__init__()
        self.controller = controller
        controller.measure = self.node_sizes  # insertions make room using the drawn sizes
        self.colors = colors
        self.snap_enabled = True
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._edges_of: dict[str, set[Edge]] = {}
        self._wire_drag: WireDrag | None = None
        self._drag_start: dict[str, tuple[float, float]] | None = None
        self._syncing = False
        self._building = False
        self.overview_mode = False
        self.overview = OverviewItem(self)
        self.overview.hide()
        self.addItem(self.overview)
        self.setSceneRect(-EXTENT / 2, -EXTENT / 2, EXTENT, EXTENT)
        doc = controller.doc
        # Nodes are made with the analysis they will show, and wires after them with their
        # labels, so each item lays itself out once (building 5,000 nodes stays well under 0.5 s).
        analysis = controller.level_analysis
        problems = _problems_by_node(analysis)
        self._building = True  # the scene rect grows once, after every node is in
        for node in doc.nodes.values():
            self._on_node_added(node, analysis.nodes.get(node.id), problems.get(node.id, []))
        self._building = False
        area = QRectF()
        for item in self.nodes.values():
            area = area.united(item.sceneBoundingRect())
        self._keep_inside_rect(area)
        for edge in doc.edges:
            self._on_edge_connected(edge)
        bridge = controller.bridge
        self._links = [
            (bridge.node_added, self._on_node_added), (bridge.node_removed, self._on_node_removed),
            (bridge.edge_connected, self._on_edge_connected), (bridge.edge_disconnected, self._on_edge_disconnected),
            (bridge.param_changed, self._on_node_changed), (bridge.node_renamed, self._on_node_changed),
            (bridge.nodes_moved, self._on_nodes_moved), (bridge.definitions_changed, self._on_definitions_changed),
            (bridge.frozen_changed, self._on_node_changed),
            (controller.level_analysis_changed, self.apply_analysis),
            (controller.editable_changed, self._editable_changed),
        ]
        for signal, slot in self._links:
            signal.connect(slot)
        self.apply_analysis(controller.level_analysis)

    def detach(self) -> None:
        """Stop following the document: the canvas shows another scene now (a block opened or left, or
        another project), and this one only waits to be deleted."""
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links = []

    # ---- queries -----------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        """Selected nodes, in document order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.controller.doc.nodes if n in chosen]

    def selected_node_items(self) -> list[NodeItem]:
        return [i for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids: Iterable[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        return {n: item.size() for n, item in self.nodes.items()}

    def snap_point(self, point: QPointF) -> QPointF:
        """Where a dragged node lands: on the grid while snapping is on."""
        if not self.snap_enabled or self._syncing:
            return point
        return QPointF(round(point.x() / GRID) * GRID, round(point.y() / GRID) * GRID)

    def follow_zoom(self, zoom: float) -> None:
        """The view's zoom changed: draw the overview below `DETAIL_LOD`, every item's detail above."""
        self.set_overview(zoom < DETAIL_LOD)

    def set_overview(self, on: bool) -> None:
        if on == self.overview_mode:
            return
        self.overview_mode = on
        for item in self.nodes.values():
            item.set_overview(on)
        for edge_item in self.edges.values():
            edge_item.set_overview(on)
        self.overview.invalidate()
        self.overview.setVisible(on)

    def set_colors(self, colors: CanvasColors) -> None:
        self.colors = colors
        self.update()

    # ---- document -> items -----------------------------------------------------------
    def _on_node_added(self, node: Node, info: NodeInfo | None = None, problems: list[Problem] | None = None):
        doc = self.controller.doc
        kind = BlockNodeItem if doc.is_block(node.id) else NodeItem
        item = kind(node, doc.spec_of(node), info, problems)
        item.bind(self.controller.level_bindings.get(node.id))
        frozen_by = self.controller.frozen_by()
        if frozen_by is not None and (node.id in doc.nodes and not doc.spec_of(node).is_input
                                      and not doc.spec_of(node).is_output):
            item.set_block_frozen(True, frozen_by)
        item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, self.controller.editable)
        self.nodes[node.id] = item
        self._edges_of[node.id] = set()
        if self.overview_mode:
            item.set_overview(True)
        self.addItem(item)
        if self._building:
            return
        self._keep_inside(item)
        self.overview.invalidate()
        self.content_changed.emit()

    def _keep_inside(self, item: NodeItem) -> None:
        self._keep_inside_rect(item.sceneBoundingRect())

    def _keep_inside_rect(self, area: QRectF) -> None:
        """Grow the scene when a node lands near its edge, so huge networks still pan freely."""
        rect = self.sceneRect()
        needed = area.adjusted(-EXTENT / 4, -EXTENT / 4, EXTENT / 4, EXTENT / 4)
        if not rect.contains(needed):
            self.setSceneRect(rect.united(needed))

    def _on_node_removed(self, node: Node) -> None:
        item = self.nodes.pop(node.id, None)
        self._edges_of.pop(node.id, None)
        if item is not None:
            self.removeItem(item)
        self.overview.invalidate()
        self.content_changed.emit()

    def _on_edge_connected(self, edge: Edge) -> None:
        source = self.nodes[edge.source]
        target = self.nodes[edge.target]
        if edge.source_port not in source.out_ports or edge.target_port not in target.in_ports:
            return  # a block lost the port this wire used: validation reports the wire, nothing to draw
        item = EdgeItem(edge, source.out_ports[edge.source_port], target.in_ports[edge.target_port],
                        source.output_label)
        self.edges[edge] = item
        self._edges_of[edge.source].add(edge)
        self._edges_of[edge.target].add(edge)
        if self.overview_mode:
            item.set_overview(True)
        self.addItem(item)
        self.overview.invalidate()
        self._update_port(edge.target, edge.target_port)

    def _on_edge_disconnected(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is not None:
            self.removeItem(item)
        for node_id in (edge.source, edge.target):
            self._edges_of.get(node_id, set()).discard(edge)
        self.overview.invalidate()
        if edge.target in self.nodes:
            self._update_port(edge.target, edge.target_port)

    def _update_port(self, node_id: str, port: str) -> None:
        wires = [e for e in self._edges_of[node_id] if e.target == node_id and e.target_port == port]
        is_int = any(self._output_is_int(e.source) for e in wires)
        if port not in self.nodes[node_id].in_ports:
            return
        self.nodes[node_id].in_ports[port].set_state(connected=bool(wires), is_int=is_int)

    def _output_is_int(self, node_id: str) -> bool:
        info = self.nodes[node_id].info
        return bool(info and info.output and info.output.dtype == LONG)

    def _on_node_changed(self, node_id: str, *args: object) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.refresh(self.controller.doc.nodes[node_id])
            self._update_edges_of(node_id)
            self.overview.invalidate()

    def _on_nodes_moved(self, positions: dict[str, tuple[float, float]]) -> None:
        moved = []
        self._syncing = True  # each item's move only moves its wires; the batch is announced once
        try:
            for node_id, (x, y) in positions.items():
                item = self.nodes.get(node_id)
                if item is not None and (item.x(), item.y()) != (x, y):
                    item.setPos(x, y)
                    moved.append(item)
        finally:
            self._syncing = False
        if moved:
            area = QRectF()
            for item in moved:
                area = area.united(item.sceneBoundingRect())
                self.overview.node_moved(item)
            self._keep_inside_rect(area)
            self.content_changed.emit()

    def _on_definitions_changed(self, names: frozenset) -> None:
        """A block definition changed (its ports, parameters or title may have): remake its instances."""
        doc = self.controller.doc
        for node in list(doc.nodes.values()):
            if node.type_id in names and node.id in self.nodes:
                self._remake_node(node)

    def _remake_node(self, node: Node) -> None:
        old = self.nodes[node.id]
        selected = old.isSelected()
        edges = [e for e in self.controller.doc.edges if node.id in (e.source, e.target)]
        for edge in list(self._edges_of.get(node.id, ())):
            self._on_edge_disconnected(edge)
        self.removeItem(old)
        del self.nodes[node.id]
        self._on_node_added(node, old.info, old.problems)
        for edge in edges:
            self._on_edge_connected(edge)
        self.nodes[node.id].setSelected(selected)

    def _editable_changed(self, editable: bool) -> None:
        self.cancel_gesture()
        for item in self.nodes.values():
            item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, editable)

    def _update_edges_of(self, node_id: str) -> None:
        for edge in self._edges_of.get(node_id, ()):
            self.edges[edge].update_path()

    def node_item_moved(self, item: NodeItem) -> None:
        """Called by a node as it moves: its wires follow."""
        self._update_edges_of(item.node_id)
        if self._syncing:
            return
        self._keep_inside(item)
        self.overview.node_moved(item)
        self.content_changed.emit()

    def apply_analysis(self, analysis: Analysis) -> None:
        """Show inferred shapes, parameter counts and problems on nodes and wires."""
        problems = _problems_by_node(analysis)
        changed: set[str] = set()
        bindings = self.controller.level_bindings
        for node_id, item in self.nodes.items():
            item.bind(bindings.get(node_id))
            info = analysis.nodes.get(node_id)
            mine = problems.get(node_id, [])
            if info is item.info and mine == item.problems:
                continue
            item.set_info(info, mine)
            self._update_edges_of(node_id)
            changed.add(node_id)
        for edge, edge_item in self.edges.items():
            if edge.source in changed:
                edge_item.set_label(self.nodes[edge.source].output_label)
                self._update_port(edge.target, edge.target_port)
        if changed:
            self.overview.invalidate()

    # ---- gestures ------------------------------------------------------------------------
    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem) and item.isVisible():
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        editable = self.controller.editable
        if event.button() == Qt.MouseButton.LeftButton and editable:
            badge = self.badge_at(event.scenePos())
            if badge is not None and badge.fix is not None:  # the one-click fix, on the node itself
                self.controller.apply_fix(badge.fix)
                event.accept()
                return
            port = self.port_at(event.scenePos())
            if port is not None:
                self._wire_drag = WireDrag(self, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and editable:
            self._drag_start = {n: (self.nodes[n].x(), self.nodes[n].y()) for n in self.selected_node_ids()}

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            for item in self.items(event.scenePos()):
                if isinstance(item, BlockNodeItem):
                    self.block_open_requested.emit(item.node_id)
                    event.accept()
                    return
                if isinstance(item, NodeItem):
                    break
        super().mouseDoubleClickEvent(event)

    def badge_at(self, pos: QPointF) -> BadgeItem | None:
        """The problem badge under `pos`, if any."""
        for item in self.items(pos):
            if isinstance(item, BadgeItem) and item.isVisible():
                return item
        return None

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire_drag is not None:
            self._wire_drag.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire_drag is not None and event.button() == Qt.MouseButton.LeftButton:
            drag, self._wire_drag = self._wire_drag, None
            drag.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self._drag_start is not None and event.button() == Qt.MouseButton.LeftButton:
            start, self._drag_start = self._drag_start, None
            new = {n: (self.nodes[n].x(), self.nodes[n].y()) for n in start if n in self.nodes}
            self.controller.move_nodes(start, new)

    def cancel_gesture(self) -> bool:
        """Drop a wire drag in progress (Escape); True when there was one."""
        if self._wire_drag is None:
            return False
        self._wire_drag.cancel()
        self._wire_drag = None
        return True


def _problems_by_node(analysis: Analysis) -> dict[str, list[Problem]]:
    """Each node's problems (the engine reports a problem inside a block on the block's instance)."""
    problems: dict[str, list[Problem]] = {}
    for p in analysis.problems:
        if p.node_id is not None:
            problems.setdefault(p.node_id, []).append(p)
    return problems
