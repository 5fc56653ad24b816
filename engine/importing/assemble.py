"""Assembling mapped operations into a network whose blocks follow the source's module tree.

Every operation carries the chain of modules it ran in (fx's
``nn_module_stack``). Each module of that tree that is not itself a layer
becomes a block: its body holds the layers it called directly and one instance
per child module, named as in the source (``conv1``, ``0``), so the built
module's state-dict keys are the source's. A block's inputs are the values its
operations use from outside it, its outputs the values it makes that are used
outside, both in the order the source uses them.

Bodies that come out identical share one definition (named after the module's
class: ``BasicBlock``, ``BasicBlock2`` for a variant); an ``nn.Sequential``
whose children are copies of one block in a chain becomes one instance of that
block with ``repeat`` N, which builds to the same numbered container.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from torch import fx

from engine.graph.blocks import BLOCK_INPUT, BLOCK_OUTPUT, REPEAT, BlockDefinition
from engine.graph.document import GraphDocument, is_module_name
from engine.graph.serialize import body_to_data
from engine.importing.leaves import is_leaf_type
from engine.importing.ops import Layer
from engine.importing.trace import Traced

Ref = tuple[str, str]  # (node id, port) inside one document


@dataclass
class Op:
    node: fx.Node
    layer: Layer
    chain: list[str]  # scope keys from the outermost module down (root excluded)
    order: float
    name: str = ""


@dataclass
class Scope:
    key: str
    qualname: str
    type_name: str  # the module's class, qualified: "torchvision.models.resnet.BasicBlock"
    local: str  # the child's name in its parent ("layer1", "0")
    items: list[Op | Scope] = field(default_factory=list)
    inputs: list[fx.Node] = field(default_factory=list)
    outputs: list[fx.Node] = field(default_factory=list)


@dataclass
class Assembly:
    doc: GraphDocument
    layers: int = 0
    instances: int = 0


SEQUENTIAL = "torch.nn.modules.container.Sequential"


def type_name(value: Any) -> str:
    """A module class as its qualified name (fx records classes, torch.export their names)."""
    return value if isinstance(value, str) else f"{value.__module__}.{value.__qualname__}"


def scope_chain(node: fx.Node) -> list[tuple[str, str, str]]:
    """(stack key, module path, class) of every module `node` ran in, below the root and above its layer."""
    stack = list((node.meta.get("nn_module_stack") or {}).items())
    chain = [(key, value[0], type_name(value[1])) for key, value in stack if value[0]]
    if node.op == "call_module" and chain:
        chain = chain[:-1]
    while chain and is_leaf_type(chain[-1][2]):  # torch.export: the ops inside a layer's module
        chain = chain[:-1]
    return chain


class Assembler:
    """Turns the mapped operations of one traced graph into a network document."""

    def __init__(self, traced: Traced, layers: dict[fx.Node, Layer], aliases: dict[fx.Node, fx.Node],
                 doc: GraphDocument) -> None:
        self.traced = traced
        self.layers = layers
        self.aliases = aliases
        self.doc = doc
        self.root = Scope("", "", type_name(type(traced.root)), "")
        self.scopes: dict[str, Scope] = {"": self.root}
        self.ops: dict[fx.Node, Op] = {}
        self.signatures: dict[str, str] = {}
        self.names_used: set[str] = set()
        self.count = Assembly(doc)
        self.renamed: dict[str, str] = {}  # source module names that are not node ids -> the ids used

    def node_name(self, name: str, top: bool = False) -> str:
        """The node id for a source attribute name: itself (inside a block also a number, ``0``, or a
        dashed name, RegNet's ``block1-0``), else with the characters ids cannot hold replaced; renames
        are kept for the weights."""
        if name.isidentifier() or (not top and is_module_name(name)):
            return name  # numbered and dashed children are node ids inside blocks, not in the network itself
        new = re.sub(r"\W", "_", name)
        new = new if new.isidentifier() else f"m_{new}"
        self.renamed[name] = new
        return new

    def our_key(self, key: str) -> str:
        """A source state-dict key as the imported network names it."""
        if not self.renamed:
            return key
        return ".".join(self.renamed.get(part, part) for part in key.split("."))

    def resolve(self, value: fx.Node) -> fx.Node:
        while value in self.aliases:
            value = self.aliases[value]
        return value

    # ---- the scope tree ----------------------------------------------------------------------
    def _ordered(self) -> list[tuple[float, fx.Node]]:
        """Graph order, except that a learned tensor comes just before its first use: its input (the
        value giving the batch size) may be computed after the parameter is read."""
        index = {n: float(i) for i, n in enumerate(self.traced.graph.nodes)}
        order = dict(index)
        for node in self.traced.graph.nodes:
            if node.op == "get_attr" and node in self.layers and node.users:
                order[node] = min(index[u] for u in node.users) - 0.5
        return sorted(((o, n) for n, o in order.items()), key=lambda item: item[0])

    def build_tree(self) -> None:
        for order, node in self._ordered():
            layer = self.layers.get(node)
            if layer is None:
                continue
            chain = scope_chain(node)
            parent = self.root
            for key, qualname, cls in chain:
                scope = self.scopes.get(key)
                if scope is None:
                    local = self.node_name(qualname[len(parent.qualname) + 1:] if parent.qualname else qualname,
                                           top=parent is self.root)
                    scope = Scope(key, qualname, cls, local)
                    self.scopes[key] = scope
                    parent.items.append(scope)
                parent = scope
            if layer.stem and (node.op in ("call_module", "get_attr") or layer.keep_name):
                layer.stem = self.node_name(layer.stem, top=parent is self.root)
            op = Op(node, layer, [key for key, _, _ in chain], order)
            parent.items.append(op)
            self.ops[node] = op
        self._wire_scopes()

    def _chain_of(self, value: fx.Node) -> list[str]:
        op = self.ops.get(value)
        return op.chain if op is not None else []

    def _wire_scopes(self) -> None:
        def add(items: list[fx.Node], value: fx.Node) -> None:
            if value not in items:
                items.append(value)

        for op in sorted(self.ops.values(), key=lambda o: o.order):
            for raw in op.layer.inputs:
                value = self.resolve(raw)
                made_in = self._chain_of(value)
                for key in op.chain:
                    if key not in made_in:
                        add(self.scopes[key].inputs, value)
                for key in made_in:
                    if key not in op.chain:
                        add(self.scopes[key].outputs, value)
        for value in self.graph_outputs():
            for key in self._chain_of(value):
                add(self.scopes[key].outputs, value)
        position = {n: i for i, n in enumerate(self.traced.graph.nodes)}
        for scope in self.scopes.values():
            scope.outputs.sort(key=position.__getitem__)

    def graph_outputs(self) -> list[fx.Node]:
        output = next(n for n in self.traced.graph.nodes if n.op == "output")
        values = output.args[0]
        values = list(values) if isinstance(values, (tuple, list)) else [values]
        return [self.resolve(v) for v in values]

    # ---- documents -----------------------------------------------------------------------------
    def emit_network(self) -> Assembly:
        doc = self.doc
        refs: dict[fx.Node, Ref] = {}
        reserved = _reserved(self.root)
        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                index = len(refs)
                name = _free(node.name if node.name.isidentifier() else "input", reserved)
                doc.add_node("Input", node_id=name, name=name,
                             params={"shape": self.traced.input_shapes[index]})
                refs[node] = (name, "out")
        self._emit_items(doc, self.root, refs, reserved)
        for i, value in enumerate(self.graph_outputs()):
            name = _free("output" if i == 0 else f"output{i + 1}", reserved)
            doc.add_node("Output", node_id=name, name=name)
            doc.connect(*refs[value], name, "in")
        _lay_out(doc)
        return self.count

    def _emit_items(self, doc: GraphDocument, scope: Scope, refs: dict[fx.Node, Ref], reserved: set[str]) -> None:
        for item in scope.items:
            if isinstance(item, Op):
                self._emit_op(doc, item, refs, reserved)
            else:
                self._emit_instance(doc, item, refs)

    def _emit_op(self, doc: GraphDocument, op: Op, refs: dict[fx.Node, Ref], reserved: set[str]) -> None:
        layer = op.layer
        if _keeps_name(op) and layer.stem not in doc.nodes:
            node_id = layer.stem  # the source's attribute name: the state-dict keys depend on it
        else:
            node_id = _free(layer.stem or "op", reserved | set(doc.nodes))
        reserved.add(node_id)
        doc.add_node(layer.type_id, node_id=node_id, name=node_id, params=layer.params)
        spec = doc.spec(node_id)
        for i, raw in enumerate(layer.inputs):
            port = spec.inputs[0] if spec.inputs[0].multi else spec.inputs[i]
            doc.connect(*refs[self.resolve(raw)], node_id, port.name)
        refs[op.node] = (node_id, spec.outputs[0].name)
        self.count.layers += 1

    def _emit_instance(self, doc: GraphDocument, scope: Scope, refs: dict[fx.Node, Ref]) -> None:
        name, repeat = self.define(scope)
        definition = doc.library.get(name)
        doc.add_node(name, node_id=scope.local, name=scope.local, params={REPEAT: repeat})
        for port, value in zip(definition.input_ids(), scope.inputs):
            doc.connect(*refs[value], scope.local, port)
        for port, value in zip(definition.output_ids(), scope.outputs):
            refs[value] = (scope.local, port)
        self.count.instances += 1

    def define(self, scope: Scope) -> tuple[str, int]:
        """The definition for `scope` (shared with identical ones) and its repeat count."""
        library = self.doc.library
        body = library.new_body(self.doc.registry)
        refs: dict[fx.Node, Ref] = {}
        reserved = _reserved(scope)
        for i, value in enumerate(scope.inputs):
            port = _free("x" if i == 0 else f"x{i + 1}", reserved)
            body.add_node(BLOCK_INPUT, node_id=port, name=port)
            refs[value] = (port, "out")
        self._emit_items(body, scope, refs, reserved)
        for i, value in enumerate(scope.outputs):
            port = _free("y" if i == 0 else f"y{i + 1}", reserved)
            body.add_node(BLOCK_OUTPUT, node_id=port, name=port)
            body.connect(*refs[value], port, "in")
        repeated = _repeated_block(scope, body)
        if repeated is not None:
            return repeated
        _lay_out(body)
        signature = json.dumps(_structure(body), sort_keys=True)
        if signature in self.signatures:
            return self.signatures[signature], 1
        name = self._definition_name(scope)
        library.add(BlockDefinition(name, body, [], "", f"Imported from {scope.type_name}."))
        self.signatures[signature] = name
        return name, 1

    def _definition_name(self, scope: Scope) -> str:
        stem = scope.type_name.rsplit(".", 1)[-1]
        if stem in ("Sequential", "ModuleList") and scope.local.isidentifier():
            stem = scope.local[:1].upper() + scope.local[1:]
        stem = "".join(ch for ch in stem if ch.isalnum() or ch == "_")[:56] or "Block"
        if not stem[0].isalpha():
            stem = f"Block{stem}"
        if stem in self.doc.registry:
            stem = f"{stem}Block"
        name, i = stem, 2
        while name in self.doc.library or name in self.names_used:
            name = f"{stem}{i}"
            i += 1
        self.names_used.add(name)
        return name


def _keeps_name(op: Op) -> bool:
    return (op.layer.keep_name or op.node.op in ("call_module", "get_attr")) and bool(op.layer.stem)


def _reserved(scope: Scope) -> set[str]:
    """Names the source gives in this scope (children, layers, parameters): generated names avoid them."""
    names = set()
    for item in scope.items:
        if isinstance(item, Scope):
            names.add(item.local)
        elif _keeps_name(item):
            names.add(item.layer.stem)
    return names


def _repeated_block(scope: Scope, body: GraphDocument) -> tuple[str, int] | None:
    """A Sequential of N >= 2 chained copies of one single-port block: that block, repeated N times."""
    if scope.type_name != SEQUENTIAL or len(scope.items) < 2:
        return None
    if len(scope.inputs) != 1 or len(scope.outputs) != 1:
        return None
    children = [i for i in scope.items if isinstance(i, Scope)]
    if len(children) != len(scope.items) or [c.local for c in children] != [str(i) for i in range(len(children))]:
        return None
    types = {body.node(c.local).type_id for c in children}
    if len(types) != 1 or any(body.node(c.local).params.get(REPEAT, 1) != 1 for c in children):
        return None
    name = types.pop()
    definition = body.library.get(name)
    if len(definition.input_ids()) != 1 or len(definition.output_ids()) != 1:
        return None
    previous = "x"
    for child in children:  # a straight chain x -> 0 -> 1 -> ... -> y
        sources = [e.source for e in body.edges_into(child.local)]
        if sources != [previous]:
            return None
        previous = child.local
    if [e.source for e in body.edges_into("y")] != [previous]:
        return None
    return name, len(children)


def _structure(body: GraphDocument) -> dict[str, Any]:
    data = body_to_data(body)
    for node in data["nodes"]:
        node.pop("position", None)
    return data


def _free(stem: str, taken: set[str]) -> str:
    stem = stem if stem.isidentifier() else "op"
    name, i = stem, 1
    while name in taken:
        name = f"{stem}_{i}"
        i += 1
    taken.add(name)
    return name


def _lay_out(doc: GraphDocument) -> None:
    """Left to right by longest path from the inputs; nodes of one column stacked."""
    depth: dict[str, int] = {}
    for node_id in doc.nodes:  # document order is a topological order here
        sources = [e.source for e in doc.edges_into(node_id)]
        depth[node_id] = 1 + max((depth.get(s, 0) for s in sources), default=-1)
    rows: dict[int, int] = {}
    positions = {}
    for node_id, column in depth.items():
        row = rows.get(column, 0)
        rows[column] = row + 1
        positions[node_id] = (column * 220.0, row * 140.0)
    doc.move_nodes(positions)
