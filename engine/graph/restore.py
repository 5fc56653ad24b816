"""Make a live document equal to saved data, in place, with the fewest mutator calls.

`apply_data(doc, data)` takes `document_to_data` output (of this document at
another moment) and edits `doc` — its nodes, wires and, for a network, its
block library and every body — until `document_to_data(doc) == data`. Objects
that stay keep their identity (a canvas showing a block's body keeps showing
it), and each change goes through the document's mutators, so every listener
hears one ordinary event per change. This is what makes the block operations
reversible exactly: an operation records the data before and after, and undo
and redo apply one or the other (`engine.graph.hierarchy.Step`).
"""

from __future__ import annotations

from typing import Any

from engine.graph.blocks import BlockDefinition
from engine.graph.document import Edge, GraphDocument, lenient_value
from engine.graph.serialize import (
    block_params_from_data,
    definition_to_data,
    dependency_order,
    fill_body,
    node_record,
)
from engine.layers.params import to_json


def apply_data(doc: GraphDocument, data: dict[str, Any]) -> None:
    """Edit `doc` (a network, with its library) until it serialises to `data`."""
    library = doc.library
    records = {r["name"]: r for r in data.get("blocks", [])}
    for name in dependency_order(records):
        record = records[name]
        if name in library:
            definition = library.get(name)
            if definition_to_data(definition) != record:
                apply_body(definition.body, record)
                library.set_text(name, record.get("title", ""), record.get("help", ""))
                library.set_params(name, block_params_from_data(record.get("params", []), definition))
        else:
            body = library.new_body(doc.registry)
            fill_body(body, record, f"block {name!r}: ")
            definition = BlockDefinition(name, body, [], record.get("title", ""), record.get("help", ""))
            library.add(definition)
            library.set_params(name, block_params_from_data(record.get("params", []), definition))
    apply_body(doc, data)
    stale = [name for name in library.definitions if name not in records]
    while stale:  # remove unused ones first: a definition in use cannot go
        used = {n.type_id for d in library for n in d.body.nodes.values()}
        free = [name for name in stale if name not in used] or stale
        library.remove(free[0])
        stale.remove(free[0])


def apply_body(doc: GraphDocument, data: dict[str, Any]) -> None:
    """Edit one document's nodes and wires until they equal `data`'s."""
    wanted_edges = [Edge(e["source"], e["source_port"], e["target"], e["target_port"]) for e in data["edges"]]
    wanted_set = set(wanted_edges)
    for edge in reversed(list(doc.edges)):
        if edge not in wanted_set:
            doc.disconnect(edge)
    records = [node_record(raw, i, "") for i, raw in enumerate(data["nodes"])]
    wanted = {r[0]: r for r in records}
    for node_id in list(doc.nodes):
        if node_id not in wanted or doc.nodes[node_id].type_id != wanted[node_id][1]:
            for edge in doc.edges_of(node_id):
                wanted_set.discard(edge)  # re-made below, with the node
            doc.remove_node(node_id)
    _free_names(doc, records)
    for index, (node_id, type_id, params, position, name) in enumerate(records):
        if node_id in doc.nodes:
            _update_node(doc, node_id, params, position, name)
        else:
            doc.add_node(type_id, name=name, params=params, position=position, node_id=node_id, strict=False,
                         index=index)
        doc.set_frozen(node_id, bool(data["nodes"][index].get("frozen", False)))
    if list(doc.nodes) != [r[0] for r in records]:
        reordered = {r[0]: doc.nodes[r[0]] for r in records}
        doc.nodes.clear()
        doc.nodes.update(reordered)  # order only: no event (it matters for Input order, not drawing)
    present = set(doc.edges)
    for index, edge in enumerate(wanted_edges):
        if edge not in present:
            doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, index=index)
    if doc.edges != wanted_edges:
        doc.reorder_edges(wanted_edges)


def _free_names(doc: GraphDocument, records: list[tuple[str, str, dict[str, Any], Any, str]]) -> None:
    """Rename nodes whose wanted name another node holds now, so names can swap."""
    wanted_names = {r[0]: r[4] for r in records}
    holders = {node.name: node_id for node_id, node in doc.nodes.items()}
    for node_id, name in wanted_names.items():
        holder = holders.get(name)
        if holder is not None and holder != node_id and holder in doc.nodes:
            doc.rename(holder, doc.unique_name(f"{holder}_renaming"))


def _update_node(doc: GraphDocument, node_id: str, params: dict[str, Any], position: Any, name: str) -> None:
    node = doc.nodes[node_id]
    if node.name != name:
        doc.rename(node_id, name)
    current = {k: to_json(v) for k, v in node.params.items()}
    if current != params or list(current) != list(params):
        spec = doc.spec_of(node)
        doc.replace_params(node_id, {k: lenient_value(spec, k, v) for k, v in params.items()})
    if (round(node.position[0], 2), round(node.position[1], 2)) != (round(position[0], 2), round(position[1], 2)):
        doc.move_nodes({node_id: position})
