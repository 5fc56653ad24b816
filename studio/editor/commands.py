"""Undo commands: each one calls `GraphDocument` mutators and nothing else.

A command's `redo` applies one document change and its `undo` applies the
inverse, so that redo after undo restores the document exactly: node order
(`add_node(index=...)`) and wire order (`connect(index=...)`, which fixes the
order of inputs on a multi-input port such as Concat). Commands never touch the
scene or any widget; the canvas follows the document's events. Gestures that make
several changes (delete a selection, paste, apply a fix) group these commands in
one `QUndoStack` macro, which is one undo step.

Callers check a change before pushing it (`wire_problem`, `coerce_param`, name
checks): a mutator that raised inside `redo` would leave a half-done step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph.document import Edge, GraphDocument

SET_PARAM_ID = 1001


def describe_value(value: Any) -> str:
    """A short text for a parameter value in undo texts: 5, (5, 5), same, auto."""
    if value is None:
        return "auto"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe_value(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def wire_text(doc: GraphDocument, edge: Edge) -> str:
    """`pool2 → fc1`, naming ports only where a node has several."""
    src, dst = doc.nodes[edge.source], doc.nodes[edge.target]
    left = src.name if len(doc.spec(edge.source).outputs) < 2 else f"{src.name}.{edge.source_port}"
    right = dst.name if len(doc.spec(edge.target).inputs) < 2 else f"{dst.name}.{edge.target_port}"
    return f"{left} → {right}"


class AddNodeCommand(QUndoCommand):
    """Add one node; the id and name chosen on the first redo are kept for later redos."""

    def __init__(self, doc: GraphDocument, type_id: str, *, name: str | None = None,
                 params: Mapping[str, Any] | None = None, position: tuple[float, float] = (0.0, 0.0),
                 node_id: str | None = None, strict: bool = True, frozen: bool = False) -> None:
        super().__init__()
        self.doc = doc
        self.type_id = type_id
        self.frozen = frozen
        self.name = name
        self.params = dict(params or {})
        self.position = position
        self.node_id = node_id
        self.strict = strict
        self.setText(f"Add {doc.type_spec(type_id).title}" + (f" '{name}'" if name else ""))

    def redo(self) -> None:
        node = self.doc.add_node(self.type_id, name=self.name, params=self.params, position=self.position,
                                 node_id=self.node_id, strict=self.strict, frozen=self.frozen)
        if self.node_id is None:
            self.node_id, self.name = node.id, node.name
            self.setText(f"Add {self.doc.type_spec(self.type_id).title} '{node.name}'")

    def undo(self) -> None:
        self.doc.remove_node(self.node_id)


class RemoveNodeCommand(QUndoCommand):
    """Remove one node and its wires; undo puts both back at their old places in document order."""

    def __init__(self, doc: GraphDocument, node_id: str) -> None:
        super().__init__()
        self.doc = doc
        self.node_id = node_id
        node = doc.node(node_id)
        self.setText(f"Delete {doc.spec(node_id).title} '{node.name}'")
        self._snapshot: tuple[Any, ...] | None = None

    def redo(self) -> None:
        node = self.doc.node(self.node_id)
        node_index = list(self.doc.nodes).index(self.node_id)
        wires = [(i, e) for i, e in enumerate(self.doc.edges) if self.node_id in (e.source, e.target)]
        self._snapshot = (node.type_id, node.name, dict(node.params), node.position, node_index, wires,
                          node.frozen)
        self.doc.remove_node(self.node_id)

    def undo(self) -> None:
        type_id, name, params, position, node_index, wires, frozen = self._snapshot
        self.doc.add_node(type_id, name=name, params=params, position=position, node_id=self.node_id,
                          strict=False, index=node_index, frozen=frozen)
        for index, edge in wires:  # ascending indices: each lands exactly where it was
            self.doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, index=index)


class ConnectCommand(QUndoCommand):
    """Make one wire (at `index` in document order, or at the end)."""

    def __init__(self, doc: GraphDocument, edge: Edge, index: int | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.edge = edge
        self.index = index
        self.setText(f"Connect {wire_text(doc, edge)}")

    def redo(self) -> None:
        e = self.edge
        self.doc.connect(e.source, e.source_port, e.target, e.target_port, index=self.index)

    def undo(self) -> None:
        self.doc.disconnect(self.edge)


class DisconnectCommand(QUndoCommand):
    """Remove one wire; undo puts it back at the same place in document order."""

    def __init__(self, doc: GraphDocument, edge: Edge) -> None:
        super().__init__()
        self.doc = doc
        self.edge = edge
        self.index: int | None = None
        self.setText(f"Disconnect {wire_text(doc, edge)}")

    def redo(self) -> None:
        self.index = self.doc.disconnect(self.edge)

    def undo(self) -> None:
        e = self.edge
        self.doc.connect(e.source, e.source_port, e.target, e.target_port, index=self.index)


class SetParamCommand(QUndoCommand):
    """Change one parameter. Commands of the same editing `session` on the same parameter merge."""

    def __init__(self, doc: GraphDocument, node_id: str, key: str, value: Any, session: int | None = None):
        super().__init__()
        self.doc = doc
        self.node_id = node_id
        self.key = key
        self.old = doc.node(node_id).params.get(key)
        self.new = value
        self.session = session
        self._update_text()

    def _update_text(self) -> None:
        name = self.doc.node(self.node_id).name
        self.setText(f"Set {name}.{self.key} to {describe_value(self.new)}")

    def id(self) -> int:
        return SET_PARAM_ID if self.session is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or other.session != self.session:
            return False
        if (other.node_id, other.key) != (self.node_id, self.key):
            return False
        self.new = other.new
        self._update_text()
        self.setObsolete(self.new == self.old and type(self.new) is type(self.old))
        return True

    def redo(self) -> None:
        self.doc.set_param(self.node_id, self.key, self.new)

    def undo(self) -> None:
        self.doc.set_param(self.node_id, self.key, self.old)


class RenameCommand(QUndoCommand):
    """Rename one node."""

    def __init__(self, doc: GraphDocument, node_id: str, name: str) -> None:
        super().__init__()
        self.doc = doc
        self.node_id = node_id
        self.old = doc.node(node_id).name
        self.new = name
        self.setText(f"Rename {self.old} to {name}")

    def redo(self) -> None:
        self.doc.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.doc.rename(self.node_id, self.old)


class SetFrozenCommand(QUndoCommand):
    """Freeze a node (training leaves its weights alone) or thaw it."""

    def __init__(self, doc: GraphDocument, node_id: str, frozen: bool) -> None:
        super().__init__()
        self.doc = doc
        self.node_id = node_id
        self.frozen = frozen
        self.setText(f"{'Freeze' if frozen else 'Unfreeze'} {doc.node(node_id).name}")

    def redo(self) -> None:
        self.doc.set_frozen(self.node_id, self.frozen)

    def undo(self) -> None:
        self.doc.set_frozen(self.node_id, not self.frozen)


class MoveNodesCommand(QUndoCommand):
    """Move nodes from `old` to `new` positions (one drag, or an auto-arrange)."""

    def __init__(self, doc: GraphDocument, old: Mapping[str, tuple[float, float]],
                 new: Mapping[str, tuple[float, float]], text: str | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.old = dict(old)
        self.new = dict(new)
        if text is None:
            if len(self.new) == 1:
                text = f"Move {doc.node(next(iter(self.new))).name}"
            else:
                text = f"Move {len(self.new)} nodes"
        self.setText(text)

    def redo(self) -> None:
        self.doc.move_nodes(self.new)

    def undo(self) -> None:
        self.doc.move_nodes(self.old)
