"""The one bridge from a `GraphDocument`'s engine events to Qt signals.

The document is Qt-free and emits plain `Event`s synchronously. Everything in the
studio that wants to hear about a change (the scene, the inspector, the
controller's analysis timer) connects to a `DocumentBridge` signal instead of
subscribing to the engine directly, so there is exactly one place where engine
callbacks enter Qt and one place (`close`) where they are let go.

Signals are emitted synchronously, in the order of the document's events. The
bridge never writes to the document. `follow(doc)` moves it to another document
of the same project (a block's body opened on the canvas); its library's
`definition_changed` arrives as `definitions_changed`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.graph.document import Edge, GraphDocument, Node


class DocumentBridge(QObject):
    """Re-emits a document's events as Qt signals (same names, same arguments)."""

    node_added = Signal(object)  # Node
    node_removed = Signal(object)  # Node
    edge_connected = Signal(object)  # Edge
    edge_disconnected = Signal(object)  # Edge
    param_changed = Signal(str, str, object, object)  # node_id, key, old, new
    node_renamed = Signal(str, str, str)  # node_id, old name, new name
    nodes_moved = Signal(object)  # {node_id: (x, y)}
    frozen_changed = Signal(str, bool)  # node_id, frozen
    definitions_changed = Signal(object)  # frozenset of block names whose definition (or a block inside) changed
    changed = Signal()  # after any of the above

    def __init__(self, doc: GraphDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._handlers = {
            "node_added": self._on_node_added,
            "node_removed": self._on_node_removed,
            "edge_connected": self._on_edge_connected,
            "edge_disconnected": self._on_edge_disconnected,
            "param_changed": self._on_param_changed,
            "node_renamed": self._on_node_renamed,
            "nodes_moved": self._on_nodes_moved,
            "frozen_changed": self._on_frozen_changed,
        }
        for name, handler in self._handlers.items():
            getattr(doc.events, name).subscribe(handler)
        self._library_events = doc.library.events
        self._library_events.definition_changed.subscribe(self._on_definitions_changed)

    def follow(self, doc: GraphDocument) -> None:
        """Listen to another document of the same project (a block's body opened on the canvas): the
        signals, and whatever is connected to them, stay."""
        for name, handler in self._handlers.items():
            getattr(self.doc.events, name).unsubscribe(handler)
        self.doc = doc
        for name, handler in self._handlers.items():
            getattr(doc.events, name).subscribe(handler)

    def close(self) -> None:
        """Stop listening to the document (call before dropping it)."""
        for name, handler in self._handlers.items():
            getattr(self.doc.events, name).unsubscribe(handler)
        self._handlers = {}
        if self._library_events is not None:
            self._library_events.definition_changed.unsubscribe(self._on_definitions_changed)
            self._library_events = None

    def _on_definitions_changed(self, names: frozenset) -> None:
        self.definitions_changed.emit(names)
        self.changed.emit()

    def _on_node_added(self, node: Node) -> None:
        self.node_added.emit(node)
        self.changed.emit()

    def _on_node_removed(self, node: Node) -> None:
        self.node_removed.emit(node)
        self.changed.emit()

    def _on_edge_connected(self, edge: Edge) -> None:
        self.edge_connected.emit(edge)
        self.changed.emit()

    def _on_edge_disconnected(self, edge: Edge) -> None:
        self.edge_disconnected.emit(edge)
        self.changed.emit()

    def _on_param_changed(self, node_id: str, key: str, old: object, new: object) -> None:
        self.param_changed.emit(node_id, key, old, new)
        self.changed.emit()

    def _on_node_renamed(self, node_id: str, old: str, new: str) -> None:
        self.node_renamed.emit(node_id, old, new)
        self.changed.emit()

    def _on_nodes_moved(self, positions: dict) -> None:
        self.nodes_moved.emit(positions)
        self.changed.emit()

    def _on_frozen_changed(self, node_id: str, frozen: bool) -> None:
        self.frozen_changed.emit(node_id, frozen)
        self.changed.emit()
