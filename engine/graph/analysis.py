"""Validation and shape inference over a `GraphDocument`, re-run only where an edit reaches.

`NetworkAnalyzer` subscribes to a document's events and keeps, per node, the
inferred input and output `TensorSpec`s, the parameter count and the node's own
problems. `analyze()` re-infers only the nodes an edit touched and, in
topological order, their successors whose inputs actually changed (an edit that
leaves a node's output shape as it was stops there). Structure-wide checks
(cycles, missing Input or Output, nodes that reach no Output) run on every call
with networkx; they are linear in the size of the graph.

Problems are data (`Problem`): node id, severity, a message in the user's node
names, and, where one exists, a `Fix` that names an adapter layer to insert.
Nothing here imports torch.

Blocks: an instance is inferred with its actual input shapes, copy by copy
(`engine.graph.block_inference`, which memoises each definition's analysis by
its inputs and bound parameters, so an edit outside a block never re-infers its
inside, and an edit inside re-infers only the instances of that definition). A
problem inside a block is reported on the instance node (`problems_of` gives
the badge count) with `path` — the instance ids down to the node at fault, the
document being `hierarchy.document_at(network, path)` — and a message naming
the place (``in layer2 ▸ 0 ▸ conv1: ...``); its fix refers to that document.
The same analyser runs on a block's body given `inputs` for its Block Inputs
and `bindings` for its exposed parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from engine.graph.blocks import BLOCK_INPUT, BLOCK_OUTPUT
from engine.graph.bulk import gc_paused
from engine.graph.document import Edge, GraphDocument, Node
from engine.layers.params import ParamError, coerce_params
from engine.layers.spec import Fix, LayerSpec, ShapeError, TensorSpec

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the network; `node_id` is None for network-wide problems."""

    node_id: str | None
    severity: str
    message: str
    fix: Fix | None = None
    code: str = ""
    path: tuple[str, ...] = ()  # inside a block: instance ids from node_id down to the node at fault

    @property
    def inside(self) -> bool:
        return len(self.path) > 1


@dataclass
class NodeInfo:
    """What inference knows about one node."""

    inputs: tuple[TensorSpec, ...] = ()
    output: TensorSpec | None = None
    param_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    outputs: dict[str, TensorSpec] | None = None  # by port, for blocks with several outputs

    def output_for(self, port: str) -> TensorSpec | None:
        if self.outputs is not None:
            return self.outputs.get(port)
        return self.output


@dataclass
class Analysis:
    """A snapshot of the whole network's validity, shapes and sizes."""

    nodes: dict[str, NodeInfo]
    problems: list[Problem]
    total_params: int

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def output_of(self, node_id: str) -> TensorSpec | None:
        info = self.nodes.get(node_id)
        return info.output if info else None

    def problems_of(self, node_id: str) -> list[Problem]:
        """A node's problems (for a block instance, also those inside it: the badge count)."""
        index: dict[str | None, list[Problem]] | None = self.__dict__.get("_by_node")
        if index is None:  # built once per snapshot: a canvas asks for every node
            index = {}
            for problem in self.problems:
                index.setdefault(problem.node_id, []).append(problem)
            self.__dict__["_by_node"] = index
        return list(index.get(node_id, ()))


class NetworkAnalyzer:
    """Keeps an `Analysis` of a document up to date, incrementally."""

    def __init__(self, doc: GraphDocument, inputs: Mapping[str, TensorSpec] | None = None,
                 bindings: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.doc = doc
        self.block_inputs = dict(inputs or {})  # Block Input id -> the shape an instance feeds it
        self.bindings = {k: dict(v) for k, v in (bindings or {}).items()}  # inner id -> exposed values
        self._graph = nx.DiGraph()
        self._cache: dict[str, NodeInfo] = {}
        self._dirty: set[str] = set()
        self._order: list[str] | None = None
        self.last_recomputed: int = 0  # how many nodes the last analyze() re-inferred (for tests and bench)
        for node in doc.nodes.values():
            self._on_node_added(node)
        for edge in doc.edges:
            self._on_edge_connected(edge)
        ev = doc.events
        self._subscriptions = [
            (ev.node_added, self._on_node_added),
            (ev.node_removed, self._on_node_removed),
            (ev.edge_connected, self._on_edge_connected),
            (ev.edge_disconnected, self._on_edge_disconnected),
            (ev.param_changed, self._on_param_changed),
            (ev.node_renamed, self._on_renamed),
        ]
        self._subscriptions.append((doc.library.events.definition_changed, self._on_definitions_changed))
        for event, handler in self._subscriptions:
            event.subscribe(handler)

    def close(self) -> None:
        """Stop listening to the document."""
        for event, handler in self._subscriptions:
            event.unsubscribe(handler)
        self._subscriptions = []

    def _on_definitions_changed(self, names: frozenset[str]) -> None:
        # Instances of an edited definition (or of one containing it) re-infer; nothing else does.
        self._dirty.update(n.id for n in self.doc.nodes.values() if n.type_id in names)

    # ---- event handlers: remember what changed --------------------------------
    def _on_node_added(self, node: Node) -> None:
        self._graph.add_node(node.id)
        self._dirty.add(node.id)
        self._order = None

    def _on_node_removed(self, node: Node) -> None:
        self._graph.remove_node(node.id)
        self._cache.pop(node.id, None)
        self._dirty.discard(node.id)
        self._order = None

    def _on_edge_connected(self, edge: Edge) -> None:
        if self._graph.has_edge(edge.source, edge.target):
            self._graph.edges[edge.source, edge.target]["count"] += 1
        else:
            self._graph.add_edge(edge.source, edge.target, count=1)
        self._dirty.add(edge.target)
        self._order = None

    def _on_edge_disconnected(self, edge: Edge) -> None:
        data = self._graph.edges[edge.source, edge.target]
        data["count"] -= 1
        if data["count"] == 0:
            self._graph.remove_edge(edge.source, edge.target)
        self._dirty.add(edge.target)
        self._dirty.add(edge.source)  # it may now reach no Output, and fixes name it
        self._order = None

    def _on_param_changed(self, node_id: str, key: str, old: object, new: object) -> None:
        self._dirty.add(node_id)

    def _on_renamed(self, node_id: str, old: str, new: str) -> None:
        # Messages and fixes of neighbours quote this node's name.
        self._dirty.add(node_id)
        self._dirty.update(self._graph.successors(node_id))
        self._dirty.update(self._graph.predecessors(node_id))

    # ---- analysis -------------------------------------------------------------
    def invalidate_all(self) -> None:
        self._dirty = set(self.doc.nodes)

    def analyze(self) -> Analysis:
        """Bring the cache up to date and return a snapshot."""
        with gc_paused():
            return self._analyze()

    def _analyze(self) -> Analysis:
        cyclic = self._cyclic_nodes()
        order = self._topological_order(cyclic)
        incoming = self._incoming_edges()
        pending = set(self._dirty)
        recomputed = 0
        for node_id in order:
            if node_id not in pending:
                continue
            old = self._cache.get(node_id)
            info = self._infer_node(self.doc.nodes[node_id], incoming.get(node_id, []))
            self._cache[node_id] = info
            recomputed += 1
            if old is None or old.output != info.output:
                pending.update(self._graph.successors(node_id))
        for node_id in cyclic:
            self._cache[node_id] = NodeInfo()
        self._dirty.clear()
        self.last_recomputed = recomputed
        return self._snapshot(cyclic)

    def _cyclic_nodes(self) -> dict[str, list[str]]:
        """Every node on a cycle, mapped to one cycle through it (in order)."""
        cyclic: dict[str, list[str]] = {}
        if self._order is not None or nx.is_directed_acyclic_graph(self._graph):
            return cyclic
        for component in nx.strongly_connected_components(self._graph):
            if len(component) < 2:
                continue
            sub = self._graph.subgraph(component)
            cycle = [u for u, _ in nx.find_cycle(sub)]
            for node_id in component:
                cyclic[node_id] = cycle
        return cyclic

    def _topological_order(self, cyclic: dict[str, list[str]]) -> list[str]:
        if self._order is None:
            graph = self._graph.subgraph(n for n in self._graph if n not in cyclic) if cyclic else self._graph
            order = list(nx.topological_sort(graph))
            if cyclic:
                return order  # never cache an order that leaves nodes out
            self._order = order
        return self._order

    def _incoming_edges(self) -> dict[str, list[Edge]]:
        incoming: dict[str, list[Edge]] = {}
        for edge in self.doc.edges:
            incoming.setdefault(edge.target, []).append(edge)
        return incoming

    def _infer_node(self, node: Node, incoming: list[Edge]) -> NodeInfo:
        spec = self.doc.spec_of(node)
        info = NodeInfo()
        if node.type_id == BLOCK_INPUT:
            info.output = self.block_inputs.get(node.id)  # unknown when a body is analysed on its own
            return info
        try:
            values = node.params
            if node.id in self.bindings:
                values = {**values, **self.bindings[node.id]}
            params = coerce_params(spec, values)
        except ParamError as exc:
            info.problems.append(Problem(node.id, ERROR, f"{exc}", code="param"))
            return info
        inputs: list[TensorSpec] = []
        for port in spec.inputs:
            edges = [e for e in incoming if e.target_port == port.name]
            if not edges:
                info.problems.append(Problem(
                    node.id, ERROR, f"input {port.name!r} is not connected: wire a layer's output into it",
                    code="unconnected"))
                return info
            if port.multi and len(edges) < port.min_inputs:
                info.problems.append(Problem(
                    node.id, ERROR, f"{spec.title} needs at least {port.min_inputs} inputs, has {len(edges)}",
                    code="arity"))
                return info
            for edge in edges:
                upstream = self._cache.get(edge.source)
                value = upstream.output_for(edge.source_port) if upstream is not None else None
                if value is None:
                    return info  # the problem is upstream and reported there
                inputs.append(value)
        info.inputs = tuple(inputs)
        if node.type_id in self.doc.library.definitions:
            from engine.graph.block_inference import infer_instance

            return infer_instance(self.doc, node, params, info)
        try:
            info.output = spec.infer(params, inputs)
            info.param_count = spec.count_params(params, inputs)
        except ShapeError as exc:
            info.output = None
            info.problems.append(Problem(node.id, ERROR, exc.message, self._fix_for(exc, node, spec, incoming),
                                         code="shape"))
        return info

    def _fix_for(self, exc: ShapeError, node: Node, spec: LayerSpec, incoming: list[Edge]) -> Fix | None:
        if not exc.fix_type or len(incoming) != 1 or exc.fix_type not in self.doc.registry:
            return None
        edge = incoming[0]
        source = self.doc.nodes[edge.source]
        fix_title = self.doc.type_spec(exc.fix_type).title
        return Fix(
            description=f"insert {fix_title} between '{source.name}' and '{node.name}'",
            insert_type=exc.fix_type,
            source=edge.source,
            target=node.id,
            target_port=edge.target_port,
            params=exc.fix_params,
        )

    def _snapshot(self, cyclic: dict[str, list[str]]) -> Analysis:
        problems: list[Problem] = []
        names = {n.id: n.name for n in self.doc.nodes.values()}
        reported_cycles: set[frozenset[str]] = set()
        for node_id, cycle in cyclic.items():
            ring = " → ".join(names[n] for n in [*cycle, cycle[0]])
            problems.append(Problem(node_id, ERROR, f"is on a cycle: {ring}; a network must flow one way",
                                    code="cycle"))
            reported_cycles.add(frozenset(cycle))
        total = 0
        for node_id in self.doc.nodes:
            info = self._cache.get(node_id)
            if info is None:
                continue
            problems.extend(info.problems)
            total += info.param_count
        problems.extend(self._network_problems())
        problems.sort(key=lambda p: p.severity != ERROR)  # stable: errors first, then document order
        return Analysis(dict(self._cache), problems, total)

    def _network_problems(self) -> list[Problem]:
        doc = self.doc
        if doc.is_body:
            return self._body_problems()
        inputs = [n for n in doc.nodes.values() if doc.spec_of(n).is_input]
        outputs = [n for n in doc.nodes.values() if doc.spec_of(n).is_output]
        problems: list[Problem] = []
        if not inputs:
            problems.append(Problem(None, ERROR, "the network has no Input node: add one from the palette",
                                    code="no_input"))
        if not outputs:
            problems.append(Problem(None, ERROR, "the network has no Output node: add one after the last layer",
                                    code="no_output"))
            return problems
        return problems + self._dead_ends(outputs, "Output")

    def _body_problems(self) -> list[Problem]:
        outputs = [n for n in self.doc.nodes.values() if n.type_id == BLOCK_OUTPUT]
        if not outputs:
            return [Problem(None, ERROR, "the block has no Block Output: add one after its last layer",
                            code="no_output")]
        return self._dead_ends(outputs, "Block Output")

    def _dead_ends(self, outputs: list[Node], what: str) -> list[Problem]:
        useful = _ancestors_of(self._graph, (n.id for n in outputs))
        return [Problem(node.id, WARNING, f"reaches no {what}, so it is never trained or used", code="dead_end")
                for node in self.doc.nodes.values() if node.id not in useful]


def _ancestors_of(graph: nx.DiGraph, targets: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(targets)
    seen.update(stack)
    pred = graph.pred
    while stack:
        for parent in pred[stack.pop()]:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def analyze(doc: GraphDocument) -> Analysis:
    """A one-off analysis of `doc` (the CLI and tests; editors keep a `NetworkAnalyzer`)."""
    with gc_paused():
        analyzer = NetworkAnalyzer(doc)
        try:
            return analyzer.analyze()
        finally:
            analyzer.close()
