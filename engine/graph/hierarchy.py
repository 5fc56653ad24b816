"""Editing a network's hierarchy: reversible block operations, without Qt.

API for the studio (each returns a `Step`; wrap it in one QUndoCommand whose
``redo()`` calls ``step.redo()`` after the first push and whose ``undo()`` calls
``step.undo()``; the operation has already been applied when it returns):

    step = group_into_block(doc, ["conv1", "bn1", "relu1"], name="ConvBnRelu")  # step.result: instance id
    step = ungroup_block(doc, "block1")                # inlines every copy; step.result: new node ids
    step = make_unique(doc, "layer2")                  # detach into a copy of the definition; result: its name
    step = set_repeat(doc, "layer2", 4)
    step = set_block_param(doc, "layer2", "channels", 128)
    step = place_block(doc, "BasicBlock", position=(x, y))          # an instance; result: its id
    step = edit_inside(doc, "BasicBlock", lambda body: body.set_param("conv1", "kernel_size", 5))
    step = expose_param(doc, "BasicBlock", BlockParam("channels", (("conv1", "out_channels"),)))
    step = set_exposed_params(doc, "BasicBlock", [...])  # un-expose, retarget, later-copies values
    step = add_definition(doc, definition_data)         # a bundled or shared block; result: its name
    step = apply_fix(doc, problem)                      # a fix for a problem at any depth
    step.undo(); step.redo()

`doc` is the network or any block body inside it (a body is
``doc.library.get(name).body``; open it on the canvas like a network: the
ordinary mutators and commands work on it and every instance follows). A
problem inside a block names its path (``Problem.path``: instance ids from the
network down); `document_at(network, path)` is the document it lives in.

Notes for the canvas and the inspector:
- Read a node's declaration with ``doc.spec(node_id)`` (not ``doc.registry.get(type_id)``): for an
  instance it is the block's synthesised `LayerSpec` (ports = its Block Inputs/Outputs by id,
  params = ``repeat`` and the exposed parameters), so the inspector form and ports come for free.
  ``doc.is_block(node_id)``, ``doc.definition_of(node_id)``; Block Input/Output are type ids
  ``"BlockInput"``/``"BlockOutput"`` (`engine.graph.blocks`), not in the layer registry/palette.
- ``doc.library.events.definition_changed(names)`` fires after any edit inside a definition
  (names: it and every block containing it): redraw instances of those names (their ports and
  titles may have changed). ``definition_added``/``definition_removed`` for the palette.
- Edits made inside a body with the ordinary mutators are fine for the live document, but for an
  exact undo wrap them in `edit_inside` (or `record`): removing a Block Input also removes the
  instances' wires on that port, which a per-mutator undo would not put back.
- Shapes inside an opened block: ``block_inference.body_analysis(network, path)`` (the instance's
  real inputs), or keep ``NetworkAnalyzer(body, inputs, bindings)`` incrementally. The network's
  own `NetworkAnalyzer` re-infers instances when their definition changes by itself.
- Problems inside a block are on the instance (``analysis.problems_of(instance_id)`` is the badge
  count); ``problem.path`` leads to the node at fault; ``apply_fix(network, problem.path,
  problem.fix)`` repairs it there. Bundled blocks: `engine.block_catalog`.

Every `Step` keeps the network's saved form before and after and restores it
with `engine.graph.restore.apply_data`, so undo gives back exactly the bytes
the network had, whatever the operation did, and objects that stay keep their
identity. A failing operation leaves the network as it was and raises
`DocumentError` with a message for people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.graph.blocks import BLOCK_INPUT, BLOCK_OUTPUT, PORT_SPECS, REPEAT, BlockDefinition, BlockParam
from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.errors import DocumentError
from engine.graph.reserved_names import is_reserved
from engine.graph.restore import apply_data
from engine.graph.serialize import block_params_from_data, document_to_data, fill_body
from engine.layers.params import coerce_param
from engine.layers.spec import Fix

T = TypeVar("T")


@dataclass
class Step:
    """One reversible edit of a network: its saved form before and after."""

    network: GraphDocument
    text: str
    before: dict[str, Any]
    after: dict[str, Any]
    result: Any = None

    def undo(self) -> None:
        apply_data(self.network, self.before)

    def redo(self) -> None:
        apply_data(self.network, self.after)

    @property
    def changed(self) -> bool:
        return self.before != self.after


def network_of(doc: GraphDocument) -> GraphDocument:
    """The network a document belongs to (itself, or the network whose library holds this body)."""
    network = doc.library.network
    if network is None:
        raise DocumentError("this block body belongs to no network")
    return network


def record(doc: GraphDocument, text: str, edit: Callable[[], T]) -> Step:
    """Run `edit` (any mutations of the network or its blocks) as one reversible step."""
    network = network_of(doc)
    before = document_to_data(network)
    try:
        result = edit()
    except Exception:
        apply_data(network, before)
        raise
    return Step(network, text, before, document_to_data(network), result)


def document_at(network: GraphDocument, path: Sequence[str]) -> GraphDocument:
    """The document in which the last id of `path` lives (path: instance ids from the network down)."""
    doc = network
    for instance_id in path[:-1]:
        doc = doc.definition_of(instance_id).body
    return doc


# ---- group and ungroup -------------------------------------------------------------------------
def group_into_block(doc: GraphDocument, node_ids: Iterable[str], name: str | None = None,
                     instance_name: str | None = None) -> Step:
    """Move the given nodes into a new block definition and put one instance of it in their place."""
    chosen = [n for n in doc.nodes.values() if n.id in set(node_ids)]
    missing = set(node_ids) - {n.id for n in chosen}
    if missing:
        raise DocumentError(f"cannot group: there is no node {sorted(missing)[0]!r}")
    if not chosen:
        raise DocumentError("select the nodes to group into a block")
    for node in chosen:
        spec = doc.spec_of(node)
        if spec.is_input or spec.is_output:
            raise DocumentError(f"'{node.name}' is a {spec.title} of the "
                                f"{'block' if node.type_id in PORT_SPECS else 'network'} and stays outside")
    _refuse_cycles(doc, {n.id for n in chosen})
    library = doc.library
    block_name = name or library.free_name("Block")
    if name is not None and name in library:
        raise DocumentError(f"a block named {name!r} already exists")
    return record(doc, f"Group {len(chosen)} nodes into {block_name}",
                  lambda: _group(doc, chosen, block_name, instance_name))


def _refuse_cycles(doc: GraphDocument, ids: set[str]) -> None:
    """A selection with an outside node between two of its nodes would become a cycle through the block."""
    stack = [e.target for i in ids for e in doc.edges_from(i) if e.target not in ids]
    seen = set(stack)
    while stack:
        current = stack.pop()
        for edge in doc.edges_from(current):
            if edge.target in ids:
                raise DocumentError(f"cannot group these nodes: '{doc.nodes[current].name}' lies between them "
                                    "but outside the selection (select it too)")
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)


def _group(doc: GraphDocument, chosen: list[Node], block_name: str, instance_name: str | None) -> str:
    library = doc.library
    ids = {n.id for n in chosen}
    original = list(doc.edges)
    body = library.new_body(doc.registry)
    taken = set(ids) | {n.name for n in chosen}  # a port's id is also its name
    inputs: dict[tuple[str, str], str] = {}  # outside (source, port) -> block input id
    outputs: dict[tuple[str, str], str] = {}  # inside (source, port) -> block output id
    for e in original:
        if e.target in ids and e.source not in ids:
            inputs.setdefault((e.source, e.source_port), "")
        elif e.source in ids and e.target not in ids:
            outputs.setdefault((e.source, e.source_port), "")
    _name_ports(inputs, "x", taken)
    _name_ports(outputs, "y", taken)
    xs = [n.position[0] for n in chosen]
    ys = [n.position[1] for n in chosen]
    left, right, middle = min(xs) - 200.0, max(xs) + 200.0, (min(ys) + max(ys)) / 2
    for i, port_id in enumerate(inputs.values()):
        body.add_node(BLOCK_INPUT, name=port_id, node_id=port_id, position=(left, middle + 80.0 * i))
    for node in chosen:
        body.add_node(node.type_id, name=node.name, params=dict(node.params), position=node.position,
                      node_id=node.id, strict=False, frozen=node.frozen)
    for i, port_id in enumerate(outputs.values()):
        body.add_node(BLOCK_OUTPUT, name=port_id, node_id=port_id, position=(right, middle + 80.0 * i))
    for e in original:
        if e.source in ids and e.target in ids:
            body.connect(e.source, e.source_port, e.target, e.target_port)
        elif e.target in ids:
            body.connect(inputs[(e.source, e.source_port)], "out", e.target, e.target_port)
    for (source, port), port_id in outputs.items():
        body.connect(source, port, port_id, "in")
    library.add(BlockDefinition(block_name, body))
    index = list(doc.nodes).index(chosen[0].id)
    centre = (sum(xs) / len(xs), sum(ys) / len(ys))
    for node in chosen:
        doc.remove_node(node.id)
    instance = doc.add_node(block_name, name=instance_name, position=centre, index=index)
    position, made_inputs = 0, set()
    for e in original:
        inside_source, inside_target = e.source in ids, e.target in ids
        if not inside_source and not inside_target:
            position += 1
        elif inside_target and not inside_source:
            port = inputs[(e.source, e.source_port)]
            if port not in made_inputs:
                made_inputs.add(port)
                doc.connect(e.source, e.source_port, instance.id, port, index=position)
                position += 1
        elif inside_source and not inside_target:
            doc.connect(instance.id, outputs[(e.source, e.source_port)], e.target, e.target_port, index=position)
            position += 1
    return instance.id


def _name_ports(ports: dict[tuple[str, str], str], stem: str, taken: set[str]) -> None:
    single = len(ports) == 1
    i = 1
    for key in ports:
        candidate = stem if single else f"{stem}{i}"
        while candidate in taken:
            i += 1
            candidate = f"{stem}{i}"
        ports[key] = candidate
        taken.add(candidate)
        i += 1


def ungroup_block(doc: GraphDocument, instance_id: str) -> Step:
    """Replace an instance by the contents of its definition (every copy, parameters applied)."""
    definition = doc.definition_of(instance_id)
    node = doc.node(instance_id)
    return record(doc, f"Ungroup {node.name}", lambda: _ungroup(doc, node, definition))


def _ungroup(doc: GraphDocument, node: Node, definition: BlockDefinition) -> list[str]:
    body = definition.body
    repeat = int(node.params.get(REPEAT, 1))
    in_ids, out_ids = definition.input_ids(), definition.output_ids()
    if repeat != 1 and len(in_ids) != len(out_ids):
        raise DocumentError(f"'{node.name}' repeats a block with {len(in_ids)} inputs and {len(out_ids)} "
                            "outputs; set repeat to 1 to ungroup it")
    if repeat == 0:
        return _ungroup_pass_through(doc, node, in_ids, out_ids)
    outer_in = {e.target_port: (e.source, e.source_port) for e in doc.edges_into(node.id)}
    inner = [n for n in body.nodes.values() if n.type_id not in PORT_SPECS]
    feeds = {e.target: (e.source, e.source_port) for e in body.edges if e.target in out_ids}
    mapping: list[dict[str, str]] = []
    taken = set(doc.nodes) - {node.id}
    names = {n.name for n in doc.nodes.values() if n.id != node.id}
    new_nodes: list[tuple[str, str, dict[str, Any], tuple[float, float], str, bool]] = []
    centre = _centre(inner)
    for copy in range(repeat):
        ids: dict[str, str] = {}
        bound = definition.bindings(node.params, copy)
        for n in inner:
            stem = n.id if repeat == 1 else f"{node.id}_{copy}_{n.id}"
            usable = stem.isidentifier() and not is_reserved(stem) and stem not in taken
            new_id = stem if usable else _free(f"{node.id}_{stem}", taken)
            taken.add(new_id)
            name = n.name if repeat == 1 else f"{node.name}.{copy}.{n.name}"
            name = name if name not in names else _free_name(f"{node.name}.{n.name}"[:60], names)
            names.add(name)
            ids[n.id] = new_id
            params = {**n.params, **bound.get(n.id, {})}
            dx, dy = n.position[0] - centre[0] + 300.0 * copy, n.position[1] - centre[1]
            new_nodes.append((new_id, n.type_id, params, (node.position[0] + dx, node.position[1] + dy), name,
                              n.frozen or node.frozen))  # a frozen block's layers stay frozen once ungrouped
        mapping.append(ids)

    def source_of(copy: int, input_id: str) -> tuple[str, str] | None:
        if copy == 0:
            return outer_in.get(input_id)
        return result_of(copy - 1, out_ids[in_ids.index(input_id)])

    def result_of(copy: int, output_id: str) -> tuple[str, str] | None:
        if copy < 0:
            return outer_in.get(in_ids[out_ids.index(output_id)])
        fed = feeds.get(output_id)
        if fed is None:
            return None
        if fed[0] in in_ids:
            return source_of(copy, fed[0])
        return (mapping[copy][fed[0]], fed[1])

    wanted: list[Edge] = []
    for e in doc.edges:
        if e.target == node.id:
            continue
        if e.source == node.id:
            resolved = result_of(repeat - 1, e.source_port)
            if resolved is not None:
                wanted.append(Edge(resolved[0], resolved[1], e.target, e.target_port))
            continue
        wanted.append(e)
    for copy in range(repeat):
        for e in body.edges:
            if e.target in out_ids:
                continue
            source = source_of(copy, e.source) if e.source in in_ids else (mapping[copy][e.source], e.source_port)
            if source is not None:
                wanted.append(Edge(source[0], source[1], mapping[copy][e.target], e.target_port))
    index = list(doc.nodes).index(node.id)
    doc.remove_node(node.id)
    for offset, (new_id, type_id, params, position, name, frozen) in enumerate(new_nodes):
        doc.add_node(type_id, name=name, params=params, position=position, node_id=new_id, strict=False,
                     index=index + offset, frozen=frozen)
    present = set(doc.edges)
    for i, edge in enumerate(dict.fromkeys(wanted)):
        if edge not in present:
            doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, index=i)
    return [n[0] for n in new_nodes]


def _ungroup_pass_through(doc: GraphDocument, node: Node, in_ids: list[str], out_ids: list[str]) -> list[str]:
    """Ungroup a block repeated zero times: each input passes to its output through an Identity node.

    A bare wire would not do: `Add(x, block(x))` must stay an Add of two wires, and a document holds
    no two identical wires. Wires keep their places in the document's order (Concat reads it)."""
    taken = set(doc.nodes) - {node.id}
    names = {n.name for n in doc.nodes.values() if n.id != node.id}
    through: dict[str, str] = {}  # block port (input or output id) -> the Identity node in its place
    created: list[tuple[str, str]] = []
    for in_id, out_id in zip(in_ids, out_ids):
        single = len(out_ids) == 1
        new_id = node.id if single else _free(f"{node.id}_{out_id}", taken)
        name = node.name if single else _free_name(f"{node.name}.{out_id}"[:60], names)
        taken.add(new_id)
        names.add(name)
        through[in_id] = through[out_id] = new_id
        created.append((new_id, name))
    wanted: list[Edge] = []
    for e in doc.edges:
        if e.target == node.id:
            wanted.append(Edge(e.source, e.source_port, through[e.target_port], "in"))
        elif e.source == node.id:
            wanted.append(Edge(through[e.source_port], "out", e.target, e.target_port))
        else:
            wanted.append(e)
    index = list(doc.nodes).index(node.id)
    doc.remove_node(node.id)
    for offset, (new_id, name) in enumerate(created):
        doc.add_node("Identity", name=name, params={}, position=node.position, node_id=new_id, strict=False,
                     index=index + offset)
    present = set(doc.edges)
    for i, edge in enumerate(dict.fromkeys(wanted)):
        if edge not in present:
            doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, index=i)
    return [new_id for new_id, _ in created]


def _centre(nodes: list[Node]) -> tuple[float, float]:
    if not nodes:
        return (0.0, 0.0)
    return (sum(n.position[0] for n in nodes) / len(nodes), sum(n.position[1] for n in nodes) / len(nodes))


def _free(stem: str, taken: set[str]) -> str:
    stem = stem if stem.isidentifier() else "n_" + "".join(c if c.isalnum() else "_" for c in stem)
    candidate, i = stem, 2
    while candidate in taken:
        candidate = f"{stem}_{i}"
        i += 1
    return candidate


def _free_name(stem: str, names: set[str]) -> str:
    candidate, i = stem, 2
    while candidate in names:
        candidate = f"{stem} {i}"
        i += 1
    return candidate


# ---- definitions and instances ---------------------------------------------------------------
def make_unique(doc: GraphDocument, instance_id: str, name: str | None = None) -> Step:
    """Detach one instance into its own copy of the definition (nested blocks stay shared)."""
    definition = doc.definition_of(instance_id)
    new_name = name or doc.library.free_name(definition.name)
    if new_name in doc.library:
        raise DocumentError(f"a block named {new_name!r} already exists")
    return record(doc, f"Make {doc.node(instance_id).name} unique",
                  lambda: _make_unique(doc, instance_id, definition, new_name))


def _make_unique(doc: GraphDocument, instance_id: str, definition: BlockDefinition, new_name: str) -> str:
    from engine.graph.restore import apply_body
    from engine.graph.serialize import body_to_data, definition_to_data

    copy_definition(doc, {**definition_to_data(definition), "name": new_name})
    data = body_to_data(doc)
    for record_ in data["nodes"]:
        if record_["id"] == instance_id:
            record_["block"] = new_name
    apply_body(doc, data)
    return new_name


def copy_definition(doc: GraphDocument, data: dict[str, Any]) -> str:
    """Add a definition from its saved form (`definition_to_data`); the blocks it uses must exist."""
    library = doc.library
    name = data["name"]
    body = library.new_body(doc.registry)
    fill_body(body, data, f"block {name!r}: ")
    definition = library.add(BlockDefinition(name, body, [], data.get("title", ""), data.get("help", "")))
    library.set_params(name, block_params_from_data(data.get("params", []), definition))
    return name


def add_definition(doc: GraphDocument, data: dict[str, Any]) -> Step:
    """Add a block definition (bundled, or loaded from a shared file) to the project's library."""
    return record(doc, f"Add block {data['name']}", lambda: copy_definition(doc, data))


def place_block(doc: GraphDocument, block: str, *, name: str | None = None,
                position: tuple[float, float] = (0.0, 0.0), params: dict[str, Any] | None = None) -> Step:
    """Put an instance of `block` into `doc` (refused where the block would contain itself)."""
    doc.library.check_placement(block, doc)
    return record(doc, f"Add {block}",
                  lambda: doc.add_node(block, name=name, position=position, params=params or {}).id)


def set_repeat(doc: GraphDocument, instance_id: str, count: int) -> Step:
    return set_block_param(doc, instance_id, REPEAT, count)


def set_block_param(doc: GraphDocument, instance_id: str, key: str, value: Any) -> Step:
    """Set one instance's value of a block parameter (or its repeat)."""
    doc.definition_of(instance_id)
    node = doc.node(instance_id)
    return record(doc, f"Set {node.name}.{key}", lambda: doc.set_param(instance_id, key, value))


def edit_inside(doc: GraphDocument, block: str, edit: Callable[[GraphDocument], T]) -> Step:
    """Edit a definition's body through its mutators; every instance follows."""
    body = doc.library.get(block).body
    return record(doc, f"Edit {block}", lambda: edit(body))


def expose_param(doc: GraphDocument, block: str, param: BlockParam) -> Step:
    """Expose inner parameters as one block parameter; instances keep the body's value until set."""
    library = doc.library
    definition = library.get(block)

    def edit() -> None:
        library.set_params(block, [*definition.params, param])
        default = library.exposed_param(definition, param).default
        for owner in [network_of(doc), *(d.body for d in library)]:
            for node in owner.nodes.values():
                if node.type_id == block and param.name not in node.params:
                    owner.replace_params(node.id, {**node.params, param.name: default})

    return record(doc, f"Expose {param.name} on {block}", edit)


def set_exposed_params(doc: GraphDocument, block: str, params: Sequence[BlockParam]) -> Step:
    """Replace what a block exposes (un-expose, retarget, change a later-copies value) as one step."""
    doc.library.get(block)
    return record(doc, f"Change the parameters of {block}", lambda: doc.library.set_params(block, list(params)))


def apply_fix(network: GraphDocument, path: Sequence[str], fix: Fix) -> Step:
    """Insert the adapter a problem suggests, in the document its `path` names (inside a block or not)."""
    doc = document_at(network, path) if path else network
    edge = next((e for e in doc.edges_into(fix.target, fix.target_port) if e.source == fix.source), None)
    if edge is None:
        raise DocumentError("this fix no longer applies: the wire it repairs has changed")
    spec = doc.type_spec(fix.insert_type)
    params = {k: coerce_param(spec.param(k), v) for k, v in fix.params.items()}

    def edit() -> str:
        index = doc.disconnect(edge)
        (sx, sy), (tx, ty) = doc.nodes[fix.source].position, doc.nodes[fix.target].position
        node = doc.add_node(fix.insert_type, params=params, position=((sx + tx) / 2, (sy + ty) / 2))
        doc.connect(edge.source, edge.source_port, node.id, spec.inputs[0].name)
        doc.connect(node.id, spec.outputs[0].name, edge.target, edge.target_port, index=index)
        return node.id

    return record(network, fix.description, edit)
