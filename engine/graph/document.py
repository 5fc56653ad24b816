"""The network document: nodes and wires, with checked mutators and one event per change.

`GraphDocument` is the single source of truth for a network. Every change goes
through a mutator that checks the document's invariants, raises a typed
`DocumentError` with a message a person can read, and then emits exactly one
event (`node_added`, `node_removed`, `edge_connected`, `edge_disconnected`,
`param_changed`, `node_renamed`, `nodes_moved`). The document knows nothing of
Qt, of shapes or of torch: validation and inference live in `analysis.py`.

Cycles are allowed in the document (a file may contain one, and validation
names it); `wire_problem(..., allow_cycle=False)` lets an editor refuse them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.graph.errors import DocumentError, DuplicateNodeError, UnknownNodeError, WireError
from engine.graph.events import Event
from engine.layers.params import coerce_param, coerce_params
from engine.layers.registry import LayerRegistry, default_registry
from engine.layers.spec import LayerSpec

Position = tuple[float, float]


@dataclass
class Node:
    """One layer in the network."""

    id: str
    type_id: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: Position = (0.0, 0.0)


@dataclass(frozen=True)
class Edge:
    """A wire from an output port to an input port."""

    source: str
    source_port: str
    target: str
    target_port: str


class DocumentEvents:
    """The events a document emits, one per kind of change."""

    def __init__(self) -> None:
        self.node_added = Event("node_added")  # (node)
        self.node_removed = Event("node_removed")  # (node)
        self.edge_connected = Event("edge_connected")  # (edge)
        self.edge_disconnected = Event("edge_disconnected")  # (edge)
        self.param_changed = Event("param_changed")  # (node_id, key, old, new)
        self.node_renamed = Event("node_renamed")  # (node_id, old_name, new_name)
        self.nodes_moved = Event("nodes_moved")  # ({node_id: position})


class GraphDocument:
    """A network as nodes and edges, edited only through its mutators."""

    def __init__(self, registry: LayerRegistry | None = None) -> None:
        self.registry = registry or default_registry()
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.events = DocumentEvents()

    # ---- queries -------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise UnknownNodeError(f"there is no node with id {node_id!r}") from None

    def spec(self, node_id: str) -> LayerSpec:
        return self.registry.get(self.node(node_id).type_id)

    def node_by_name(self, name: str) -> Node | None:
        for node in self.nodes.values():
            if node.name == name:
                return node
        return None

    def edges_into(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id and (port is None or e.target_port == port)]

    def edges_from(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def edges_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if node_id in (e.source, e.target)]

    def unique_name(self, prefix: str) -> str:
        """The first free name `prefix1`, `prefix2`, ... (also free as an id)."""
        stem = prefix or "node"
        i = 1
        while f"{stem}{i}" in self.nodes or self.node_by_name(f"{stem}{i}") is not None:
            i += 1
        return f"{stem}{i}"

    def id_for_name(self, name: str) -> str:
        """A free, valid Python identifier derived from a display name."""
        base = re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "node"
        if base[0].isdigit():
            base = f"n_{base}"
        candidate, i = base, 2
        while candidate in self.nodes or not candidate.isidentifier() or _is_keyword(candidate):
            candidate = f"{base}_{i}"
            i += 1
        return candidate

    def wire_problem(
        self, source: str, source_port: str, target: str, target_port: str, *, allow_cycle: bool = False
    ) -> str | None:
        """Why this wire cannot be made, or None when it can."""
        if source not in self.nodes or target not in self.nodes:
            return "both ends of a wire must be existing nodes"
        src, dst = self.nodes[source], self.nodes[target]
        src_spec, dst_spec = self.registry.get(src.type_id), self.registry.get(dst.type_id)
        if source == target:
            return f"'{src.name}' cannot feed itself"
        if source_port not in {p.name for p in src_spec.outputs}:
            return f"'{src.name}' has no output port {source_port!r}"
        if target_port not in {p.name for p in dst_spec.inputs}:
            return f"'{dst.name}' has no input port {target_port!r}"
        existing = self.edges_into(target, target_port)
        if Edge(source, source_port, target, target_port) in existing:
            return f"'{src.name}' is already wired to '{dst.name}'"
        if existing and not dst_spec.input_port(target_port).multi:
            other = self.nodes[existing[0].source].name
            return f"input {target_port!r} of '{dst.name}' is already fed by '{other}'"
        if not allow_cycle and self._reaches(target, source):
            return f"wiring '{src.name}' into '{dst.name}' would make a cycle"
        return None

    def _reaches(self, start: str, goal: str) -> bool:
        successors: dict[str, list[str]] = {}
        for e in self.edges:
            successors.setdefault(e.source, []).append(e.target)
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for nxt in successors.get(current, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    # ---- mutators ------------------------------------------------------------
    def add_node(
        self,
        type_id: str,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        position: Position = (0.0, 0.0),
        node_id: str | None = None,
        strict: bool = True,
        index: int | None = None,
    ) -> Node:
        """Add a node of `type_id`; defaults fill unspecified parameters.

        `index` places the node in document order (undo puts a deleted node back
        where it was, which keeps the order of Input nodes, and so of the built
        module's arguments, exact).

        With ``strict=False`` (used when loading files) parameter values that fail
        their schema are kept as given, so validation can report them instead of
        the file failing to open.
        """
        spec = self.registry.get(type_id)
        if name is None:
            name = self.unique_name(spec.name_prefix or type_id.lower())
        name = self._check_name(name)
        if node_id is None:
            node_id = name if name.isidentifier() and name not in self.nodes and not _is_keyword(name) \
                else self.id_for_name(name)
        if not node_id.isidentifier() or _is_keyword(node_id):
            raise DocumentError(f"node id {node_id!r} must be a valid Python identifier")
        if node_id in self.nodes:
            raise DuplicateNodeError(f"a node with id {node_id!r} already exists")
        given = dict(params or {})
        if strict:
            values = coerce_params(spec, given)
        else:
            values = spec.defaults()
            for key, raw in given.items():
                values[key] = _lenient(spec, key, raw)
        node = Node(node_id, type_id, name, values, (float(position[0]), float(position[1])))
        if index is None or index >= len(self.nodes):
            self.nodes[node_id] = node
        else:
            items = list(self.nodes.items())
            items.insert(max(index, 0), (node_id, node))
            self.nodes.clear()
            self.nodes.update(items)
        self.events.node_added.emit(node)
        return node

    def remove_node(self, node_id: str) -> list[Edge]:
        """Remove a node and the wires touching it; returns those wires, in document order."""
        node = self.node(node_id)
        dropped = self.edges_of(node_id)
        for edge in dropped:
            self.disconnect(edge)
        del self.nodes[node_id]
        self.events.node_removed.emit(node)
        return dropped

    def connect(
        self,
        source: str,
        source_port: str,
        target: str,
        target_port: str,
        *,
        index: int | None = None,
        allow_cycle: bool = True,
    ) -> Edge:
        """Wire an output port to an input port. `index` places the wire in document order
        (the order of inputs on a multi-input port such as Concat)."""
        problem = self.wire_problem(source, source_port, target, target_port, allow_cycle=allow_cycle)
        if problem:
            raise WireError(problem)
        edge = Edge(source, source_port, target, target_port)
        if index is None:
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self.events.edge_connected.emit(edge)
        return edge

    def disconnect(self, edge: Edge) -> int:
        """Remove a wire; returns the index it had (for undo)."""
        try:
            index = self.edges.index(edge)
        except ValueError:
            raise WireError(f"there is no wire {edge.source}.{edge.source_port} -> "
                            f"{edge.target}.{edge.target_port}") from None
        del self.edges[index]
        self.events.edge_disconnected.emit(edge)
        return index

    def set_param(self, node_id: str, key: str, value: Any) -> None:
        """Change one parameter; raises `ParamError` when the value does not fit the schema."""
        node = self.node(node_id)
        spec = self.registry.get(node.type_id)
        try:
            param = spec.param(key)
        except KeyError:
            raise DocumentError(f"{spec.title} '{node.name}' has no parameter {key!r}") from None
        new = coerce_param(param, value)
        old = node.params.get(key)
        if old == new and type(old) is type(new):
            return
        node.params[key] = new
        self.events.param_changed.emit(node_id, key, old, new)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if name == node.name:
            return
        name = self._check_name(name)
        old, node.name = node.name, name
        self.events.node_renamed.emit(node_id, old, name)

    def move_nodes(self, positions: Mapping[str, Position]) -> None:
        moved: dict[str, Position] = {}
        for node_id, pos in positions.items():
            node = self.node(node_id)
            node.position = (float(pos[0]), float(pos[1]))
            moved[node_id] = node.position
        if moved:
            self.events.nodes_moved.emit(moved)

    def clear(self) -> None:
        for node_id in list(self.nodes):
            self.remove_node(node_id)

    def _check_name(self, name: str) -> str:
        name = name.strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not name:
            raise DocumentError("a node needs a non-empty name")
        if len(name) > 64:
            raise DocumentError("a node name may be at most 64 characters")
        if self.node_by_name(name) is not None:
            raise DuplicateNodeError(f"the name '{name}' is already used by another node")
        return name

    # ---- convenience ---------------------------------------------------------
    def subgraph_ids(self, node_ids: Iterable[str]) -> tuple[list[Node], list[Edge]]:
        """The given nodes and the wires among them (for copy and paste)."""
        ids = set(node_ids)
        nodes = [n for n in self.nodes.values() if n.id in ids]
        edges = [e for e in self.edges if e.source in ids and e.target in ids]
        return nodes, edges


def _lenient(spec: LayerSpec, key: str, raw: Any) -> Any:
    """The canonical value when it fits the schema, else the raw value (validation reports it)."""
    try:
        return coerce_param(spec.param(key), raw)
    except (KeyError, ValueError):
        return raw


def _is_keyword(name: str) -> bool:
    import keyword

    return keyword.iskeyword(name)
