"""The document's JSON form, in two steps: parse to plain data, then resolve.

`document_to_data` gives plain JSON-able data in a fixed order, so that
save -> load -> save is byte-identical. `document_from_data` first checks the
shape of the data (types, required keys, duplicates, dangling wires), then
resolves layer types against the registry; every problem becomes a
`ProjectFileError` that names the node or wire at fault, never a traceback from
deep inside. It never executes anything from the file.
"""

from __future__ import annotations

from typing import Any

from engine.graph.document import Edge, GraphDocument
from engine.graph.errors import DocumentError, ProjectFileError
from engine.layers.params import to_json
from engine.layers.registry import LayerRegistry, UnknownLayerError

NODE_KEYS = {"id", "type", "name", "params", "position"}
EDGE_KEYS = {"source", "source_port", "target", "target_port"}


def document_to_data(doc: GraphDocument) -> dict[str, Any]:
    nodes = [
        {
            "id": n.id,
            "type": n.type_id,
            "name": n.name,
            "params": {k: to_json(v) for k, v in n.params.items()},
            "position": [round(n.position[0], 2), round(n.position[1], 2)],
        }
        for n in doc.nodes.values()
    ]
    edges = [
        {"source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port}
        for e in doc.edges
    ]
    return {"nodes": nodes, "edges": edges}


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ProjectFileError(message)


def _check_record(record: Any, keys: set[str], required: set[str], what: str) -> dict[str, Any]:
    _require(isinstance(record, dict), f"{what} must be an object, got {type(record).__name__}")
    unknown = sorted(set(record) - keys)
    _require(not unknown, f"{what} has unknown field(s) {', '.join(unknown)}")
    missing = sorted(required - set(record))
    _require(not missing, f"{what} lacks field(s) {', '.join(missing)}")
    return record


def document_from_data(data: Any, registry: LayerRegistry | None = None) -> GraphDocument:
    """Rebuild a document from `document_to_data` output, or raise ProjectFileError."""
    _check_record(data, {"nodes", "edges"}, {"nodes", "edges"}, "the network")
    _require(isinstance(data["nodes"], list), "the network's nodes must be a list")
    _require(isinstance(data["edges"], list), "the network's edges must be a list")
    doc = GraphDocument(registry)
    for i, raw in enumerate(data["nodes"]):
        record = _check_record(raw, NODE_KEYS, {"id", "type"}, f"node #{i + 1}")
        node_id, type_id = record["id"], record["type"]
        _require(isinstance(node_id, str), f"node #{i + 1} has an id that is not text")
        _require(node_id not in doc.nodes, f"duplicate node id {node_id!r}")
        _require(isinstance(type_id, str), f"node {node_id!r} has a type that is not text")
        params = record.get("params", {})
        _require(isinstance(params, dict), f"node {node_id!r} has params that are not an object")
        position = record.get("position", [0, 0])
        _require(
            isinstance(position, list) and len(position) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position),
            f"node {node_id!r} has a position that is not two numbers",
        )
        try:
            doc.add_node(
                type_id,
                name=record.get("name", node_id),
                params=params,
                position=(position[0], position[1]),
                node_id=node_id,
                strict=False,
            )
        except UnknownLayerError:
            raise ProjectFileError(
                f"node {node_id!r} has unknown layer type {type_id!r} "
                "(is the plug-in that provides it installed?)"
            ) from None
        except DocumentError as exc:
            raise ProjectFileError(f"node {node_id!r}: {exc}") from None
        _check_param_names(doc, node_id)
    for i, raw in enumerate(data["edges"]):
        record = _check_record(raw, EDGE_KEYS, EDGE_KEYS, f"wire #{i + 1}")
        _require(all(isinstance(record[k], str) for k in EDGE_KEYS), f"wire #{i + 1} has fields that are not text")
        edge = Edge(record["source"], record["source_port"], record["target"], record["target_port"])
        for end in (edge.source, edge.target):
            _require(end in doc.nodes, f"wire #{i + 1} ({edge.source} -> {edge.target}) refers to "
                                       f"node {end!r}, which does not exist")
        try:
            doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, allow_cycle=True)
        except DocumentError as exc:
            raise ProjectFileError(f"wire #{i + 1} ({edge.source} -> {edge.target}): {exc}") from None
    return doc


def _check_param_names(doc: GraphDocument, node_id: str) -> None:
    node = doc.nodes[node_id]
    known = {p.name for p in doc.registry.get(node.type_id).params}
    unknown = sorted(set(node.params) - known)
    _require(not unknown, f"node {node_id!r} ({node.type_id}) has unknown parameter(s) {', '.join(unknown)}")
