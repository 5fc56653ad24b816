"""The network document: nodes and wires, with checked mutators and one event per change.

`GraphDocument` is the single source of truth for a network. Every change goes
through a mutator that checks the document's invariants, raises a typed
`DocumentError` with a message a person can read, and then emits exactly one
event (`node_added`, `node_removed`, `edge_connected`, `edge_disconnected`,
`param_changed`, `node_renamed`, `nodes_moved`, `frozen_changed`). The document knows nothing of
Qt, of shapes or of torch: validation and inference live in `analysis.py`.

Cycles are allowed in the document (a file may contain one, and validation
names it); `wire_problem(..., allow_cycle=False)` lets an editor refuse them.

Hierarchy: every document has a `library` of block definitions
(`engine.graph.blocks`), shared with the body documents of those definitions.
A node whose ``type_id`` names a definition is an instance of that block; read
any node's declaration with `spec(node_id)` / `spec_of(node)` (layers come from
the registry, blocks from the library, Block Input/Output from `blocks`). A body
document (``owner`` is its definition) may also use numeric node ids ("0", "1")
like `nn.Sequential`, so an imported or hand-written module tree keeps its names.

Name, incoming and outgoing wire look-ups are indexed, so building a document
of n nodes is linear in n (files of 100,000 nodes open in seconds).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.graph.blocks import BLOCK_INPUT, PORT_SPECS, BlockDefinition, BlockLibrary
from engine.graph.errors import DocumentError, DuplicateNodeError, UnknownNodeError, WireError
from engine.graph.events import Event
from engine.graph.reserved_names import is_reserved, reserved_reason
from engine.layers.params import coerce_param, coerce_params
from engine.layers.registry import LayerRegistry, default_registry
from engine.layers.spec import LayerSpec

Position = tuple[float, float]
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)+")


@dataclass
class Node:
    """One layer in the network."""

    id: str
    type_id: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: Position = (0.0, 0.0)
    frozen: bool = False  # training leaves its weights (and a block's, all inside) as they are


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
        self.frozen_changed = Event("frozen_changed")  # (node_id, frozen)


class GraphDocument:
    """A network as nodes and edges, edited only through its mutators."""

    def __init__(self, registry: LayerRegistry | None = None, library: BlockLibrary | None = None) -> None:
        self.registry = registry or default_registry()
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.events = DocumentEvents()
        self.is_body = library is not None  # a block definition's body (its library is the project's)
        if library is None:
            library = BlockLibrary()
            library.network = self
        self.library = library
        self.owner: BlockDefinition | None = None  # set when the body joins the library
        self._ids_by_name: dict[str, str] = {}
        self._into: dict[str, list[Edge]] = {}
        self._from: dict[str, list[Edge]] = {}
        self._free_from: dict[str, int] = {}

    # ---- queries -------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise UnknownNodeError(f"there is no node with id {node_id!r}") from None

    def spec(self, node_id: str) -> LayerSpec:
        return self.spec_of(self.node(node_id))

    def spec_of(self, node: Node) -> LayerSpec:
        """The declaration of a node: a layer's, a block's (synthesised), or a block port's."""
        return self.type_spec(node.type_id)

    def type_spec(self, type_id: str) -> LayerSpec:
        if type_id in self.library.definitions:
            return self.library.spec(type_id)
        port = PORT_SPECS.get(type_id)
        if port is not None:
            return port
        return self.registry.get(type_id)

    def is_block(self, node_id: str) -> bool:
        """Whether the node is an instance of a block definition."""
        return self.node(node_id).type_id in self.library.definitions

    def definition_of(self, node_id: str) -> BlockDefinition:
        node = self.node(node_id)
        if node.type_id not in self.library.definitions:
            raise DocumentError(f"'{node.name}' is a {node.type_id} layer, not a block")
        return self.library.definitions[node.type_id]

    @property
    def root(self) -> bool:
        return not self.is_body

    def node_by_name(self, name: str) -> Node | None:
        node_id = self._ids_by_name.get(name)
        return self.nodes[node_id] if node_id is not None else None

    def edges_into(self, node_id: str, port: str | None = None) -> list[Edge]:
        edges = self._into.get(node_id, [])
        return [e for e in edges if port is None or e.target_port == port]

    def edges_from(self, node_id: str) -> list[Edge]:
        return list(self._from.get(node_id, []))

    def edges_of(self, node_id: str) -> list[Edge]:
        """The wires touching a node, in document order."""
        touching = set(self._into.get(node_id, [])) | set(self._from.get(node_id, []))
        if len(touching) < 2:
            return list(touching)
        return sorted(touching, key=self._edge_order())

    def _edge_order(self) -> Any:
        position = {e: i for i, e in enumerate(self.edges)}
        return position.__getitem__

    def unique_name(self, prefix: str) -> str:
        """The first free name `prefix1`, `prefix2`, ... (also free as an id)."""
        stem = prefix or "node"
        i = self._free_from.get(stem, 1)  # every name below this one is taken
        while f"{stem}{i}" in self.nodes or f"{stem}{i}" in self._ids_by_name:
            i += 1
        self._free_from[stem] = i
        return f"{stem}{i}"

    def _name_freed(self, name: str) -> None:
        match = _NUMBERED.match(name)
        if match:
            stem, number = match.group(1), int(match.group(2))
            if number < self._free_from.get(stem, 1):
                self._free_from[stem] = max(number, 1)

    def id_for_name(self, name: str, also_taken: Container[str] = ()) -> str:
        """A free, valid Python identifier derived from a display name; `also_taken` holds ids not in the
        document yet that it must not take either (a paste's earlier nodes)."""
        base = re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "node"
        if base[0].isdigit():
            base = f"n_{base}"
        candidate, i = base, 2
        while candidate in self.nodes or candidate in also_taken or not candidate.isidentifier() \
                or is_reserved(candidate):
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
        src_spec, dst_spec = self.spec_of(src), self.spec_of(dst)
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
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for edge in self._from.get(current, ()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    stack.append(edge.target)
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
        frozen: bool = False,
    ) -> Node:
        """Add a node of `type_id`; defaults fill unspecified parameters.

        `index` places the node in document order (undo puts a deleted node back
        where it was, which keeps the order of Input nodes, and so of the built
        module's arguments, exact).

        With ``strict=False`` (used when loading files) parameter values that fail
        their schema are kept as given, so validation can report them instead of
        the file failing to open.
        """
        spec = self.type_spec(type_id)
        self._check_placement(type_id, spec)
        if name is None:
            name = self.unique_name(spec.name_prefix or type_id.lower())
        name = self._check_name(name)
        if node_id is None:
            node_id = name if name.isidentifier() and name not in self.nodes and not is_reserved(name) \
                else self.id_for_name(name)
        if isinstance(node_id, str) and is_reserved(node_id):
            raise DocumentError(f"node id {reserved_reason(node_id)}: give the node another id")
        if not self._valid_id(node_id, type_id):
            raise DocumentError(f"node id {node_id!r} must be a valid Python identifier"
                                + (" or a number" if self.is_body else ""))
        if node_id in self.nodes:
            raise DuplicateNodeError(f"a node with id {node_id!r} already exists")
        given = dict(params or {})
        if strict:
            values = coerce_params(spec, given)
        else:
            values = spec.defaults()
            for key, raw in given.items():
                values[key] = _lenient(spec, key, raw)
        node = Node(node_id, type_id, name, values, (float(position[0]), float(position[1])), bool(frozen))
        self._ids_by_name[name] = node_id
        self._into[node_id] = []
        self._from[node_id] = []
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
        del self._ids_by_name[node.name]
        del self._into[node_id], self._from[node_id]
        self._name_freed(node.name)
        self._name_freed(node_id)
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
        if index is None or index >= len(self.edges):
            self.edges.append(edge)
            self._into[target].append(edge)
        else:
            self.edges.insert(index, edge)
            # keep the per-node list in document order (the order of a multi-input port's wires)
            into = self._into[target]
            into.append(edge)
            into.sort(key=self._edge_order())
        self._from[source].append(edge)
        self.events.edge_connected.emit(edge)
        return edge

    def disconnect(self, edge: Edge) -> int:
        """Remove a wire; returns the index it had (for undo)."""
        if edge not in self._into.get(edge.target, ()):
            raise WireError(f"there is no wire {edge.source}.{edge.source_port} -> "
                            f"{edge.target}.{edge.target_port}")
        index = self._index_of(edge)
        del self.edges[index]
        self._into[edge.target].remove(edge)
        self._from[edge.source].remove(edge)
        self.events.edge_disconnected.emit(edge)
        return index

    def set_param(self, node_id: str, key: str, value: Any) -> None:
        """Change one parameter; raises `ParamError` when the value does not fit the schema."""
        node = self.node(node_id)
        spec = self.spec_of(node)
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

    def replace_params(self, node_id: str, values: Mapping[str, Any]) -> None:
        """Set a node's whole parameter dict as given (restoring saved data); one event per changed key."""
        node = self.node(node_id)
        old = node.params
        node.params = dict(values)
        for key in dict.fromkeys([*old, *values]):
            before, after = old.get(key), node.params.get(key)
            if before != after or type(before) is not type(after):
                self.events.param_changed.emit(node_id, key, before, after)

    def reorder_edges(self, order: list[Edge]) -> None:
        """Put the same wires in another document order (restoring saved data)."""
        if sorted(map(_edge_key, order)) != sorted(map(_edge_key, self.edges)):
            raise WireError("reordering must keep the same wires")
        self.edges = list(order)
        position = self._edge_order()
        for edges in self._into.values():
            edges.sort(key=position)
        for edges in self._from.values():
            edges.sort(key=position)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if name == node.name:
            return
        name = self._check_name(name)
        old, node.name = node.name, name
        del self._ids_by_name[old]
        self._ids_by_name[name] = node_id
        self._name_freed(old)
        self.events.node_renamed.emit(node_id, old, name)

    def set_frozen(self, node_id: str, frozen: bool) -> None:
        """Freeze a node (training keeps its weights, a block's all inside it) or thaw it."""
        node = self.node(node_id)
        spec = self.spec_of(node)
        if frozen and (spec.is_input or spec.is_output):
            raise DocumentError(f"'{node.name}' has no weights to freeze")
        if node.frozen == bool(frozen):
            return
        node.frozen = bool(frozen)
        self.events.frozen_changed.emit(node_id, node.frozen)

    def move_nodes(self, positions: Mapping[str, Position]) -> None:
        moved: dict[str, Position] = {}
        for node_id, pos in positions.items():
            node = self.node(node_id)
            node.position = (float(pos[0]), float(pos[1]))
            moved[node_id] = node.position
        if moved:
            self.events.nodes_moved.emit(moved)

    def clear(self) -> None:
        for edge in reversed(list(self.edges)):
            self.disconnect(edge)  # from the end: each removal is then O(1)
        for node_id in reversed(list(self.nodes)):
            self.remove_node(node_id)

    def _index_of(self, edge: Edge) -> int:
        # Most removals are of recent wires (undo, reconnect, clear): search from the end.
        edges = self.edges
        for i in range(len(edges) - 1, -1, -1):
            if edges[i] == edge:
                return i
        raise WireError(f"there is no wire {edge.source}.{edge.source_port} -> {edge.target}.{edge.target_port}")

    def _valid_id(self, node_id: str, type_id: str) -> bool:
        if not isinstance(node_id, str):
            return False
        if node_id.isidentifier() and not is_reserved(node_id):
            return True
        # Inside a block a layer may be named as PyTorch names a child module: numbered, like a child of
        # nn.Sequential ("downsample.0.weight"), or with dashes, like RegNet's stages ("block1-0").
        return self.is_body and type_id != BLOCK_INPUT and is_module_name(node_id)

    def _check_placement(self, type_id: str, spec: LayerSpec) -> None:
        if type_id in self.library.definitions:
            self.library.check_placement(type_id, self)
        elif type_id in PORT_SPECS and not self.is_body:
            raise DocumentError(f"a {spec.title} belongs inside a block; the network's own ports are "
                                "Input and Output nodes")
        elif self.is_body and (spec.is_input or spec.is_output) and type_id not in PORT_SPECS:
            raise DocumentError(f"an {spec.title} node belongs to the network itself; inside a block use "
                                f"a Block {'Input' if spec.is_input else 'Output'}")

    def _check_name(self, name: str) -> str:
        name = name.strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not name:
            raise DocumentError("a node needs a non-empty name")
        if len(name) > 64:
            raise DocumentError("a node name may be at most 64 characters")
        if name in self._ids_by_name:
            raise DuplicateNodeError(f"the name '{name}' is already used by another node")
        return name

    # ---- convenience ---------------------------------------------------------
    def subgraph_ids(self, node_ids: Iterable[str]) -> tuple[list[Node], list[Edge]]:
        """The given nodes and the wires among them (for copy and paste)."""
        ids = set(node_ids)
        nodes = [n for n in self.nodes.values() if n.id in ids]
        edges = [e for e in self.edges if e.source in ids and e.target in ids]
        return nodes, edges


def is_module_name(name: str) -> bool:
    """Whether `name` is a child-module name a block's node may carry that is not an identifier:
    a plain number (``0``) or identifier characters with dashes (``block1-0``)."""
    if name.isdigit():
        return str(int(name)) == name
    return _MODULE_NAME.fullmatch(name) is not None


def _edge_key(edge: Edge) -> tuple[str, str, str, str]:
    return (edge.source, edge.source_port, edge.target, edge.target_port)


def lenient_value(spec: LayerSpec, key: str, raw: Any) -> Any:
    return _lenient(spec, key, raw)


def _lenient(spec: LayerSpec, key: str, raw: Any) -> Any:
    """The canonical value when it fits the schema, else the raw value (validation reports it)."""
    try:
        return coerce_param(spec.param(key), raw)
    except (KeyError, ValueError):
        return raw

