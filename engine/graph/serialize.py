"""The document's JSON form, in two steps: parse to plain data, then resolve.

`document_to_data` gives plain JSON-able data in a fixed order, so that
save -> load -> save is byte-identical. `document_from_data` first checks the
shape of the data (types, required keys, duplicates, dangling wires), then
resolves layer types against the registry; every problem becomes a
`ProjectFileError` that names the node or wire at fault, never a traceback from
deep inside. It never executes anything from the file.

Schema (project format 2): ``{"nodes": [...], "edges": [...], "blocks": [...]}``.
A layer node is ``{"id", "type", "name", "params", "position"}``; a block
instance has ``"block": <definition name>`` in place of ``"type"``. A frozen node
(project format 3; see `uses_freezing`) also has ``"frozen": true``. ``blocks``
(written only when the library has definitions, so format-1 networks keep their
exact form) lists definitions by name: ``{"name", "title", "help", "params":
[{"name", "targets": [[node id, key], ...], "repeat_value", "help"}], "nodes",
"edges"}``. A definition that contains itself, at any depth, is refused with
the loop named.
"""

from __future__ import annotations

from typing import Any

from engine.graph.blocks import PATH_SEPARATOR, BlockDefinition, BlockParam
from engine.graph.bulk import gc_paused
from engine.graph.document import Edge, GraphDocument
from engine.graph.errors import DocumentError, ProjectFileError
from engine.layers.params import to_json
from engine.layers.registry import LayerRegistry, UnknownLayerError

NODE_KEYS = {"id", "type", "block", "name", "params", "position", "frozen"}
EDGE_KEYS = {"source", "source_port", "target", "target_port"}
NETWORK_KEYS = {"nodes", "edges", "blocks"}
BLOCK_KEYS = {"name", "title", "help", "params", "nodes", "edges"}
BLOCK_PARAM_KEYS = {"name", "targets", "repeat_value", "help"}


def document_to_data(doc: GraphDocument) -> dict[str, Any]:
    data = body_to_data(doc)
    if doc.root and len(doc.library):
        data["blocks"] = [definition_to_data(d) for d in sorted(doc.library, key=lambda d: d.name)]
    return data


def body_to_data(doc: GraphDocument) -> dict[str, Any]:
    """Nodes and wires of one document (a network or a block's body)."""
    library = doc.library.definitions
    nodes = []
    for n in doc.nodes.values():
        record: dict[str, Any] = {"id": n.id}
        record["block" if n.type_id in library else "type"] = n.type_id
        record["name"] = n.name
        record["params"] = {k: to_json(v) for k, v in n.params.items()}
        record["position"] = [round(n.position[0], 2), round(n.position[1], 2)]
        if n.frozen:  # written only when set, so networks without frozen nodes keep their exact form
            record["frozen"] = True
        nodes.append(record)
    edges = [
        {"source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port}
        for e in doc.edges
    ]
    return {"nodes": nodes, "edges": edges}


def definition_to_data(definition: BlockDefinition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "title": definition.title,
        "help": definition.help,
        "params": [
            {"name": p.name, "targets": [[n, k] for n, k in p.targets],
             "repeat_value": to_json(p.repeat_value), "help": p.help}
            for p in definition.params
        ],
        **body_to_data(definition.body),
    }


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
    with gc_paused():
        return _document_from_data(data, registry)


def _document_from_data(data: Any, registry: LayerRegistry | None) -> GraphDocument:
    _check_record(data, NETWORK_KEYS, {"nodes", "edges"}, "the network")
    doc = GraphDocument(registry)
    blocks = data.get("blocks", [])
    _require(isinstance(blocks, list), "the network's blocks must be a list")
    records = _block_records(blocks)
    with doc.library.mute():
        for name in dependency_order(records):
            record = records[name]
            body = doc.library.new_body(doc.registry)
            fill_body(body, record, f"block {name!r}: ")
            definition = BlockDefinition(name, body, [], _text(record, "title", name), _text(record, "help", name))
            try:
                doc.library.add(definition)
            except DocumentError as exc:
                raise ProjectFileError(f"block {name!r}: {exc}") from None
            doc.library.set_params(name, block_params_from_data(record.get("params", []), definition))
    fill_body(doc, data, "")
    return doc


def _text(record: dict[str, Any], key: str, name: str) -> str:
    value = record.get(key, "")
    _require(isinstance(value, str), f"block {name!r}: {key} must be text")
    return value


def _block_records(blocks: list[Any]) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(blocks):
        record = _check_record(raw, BLOCK_KEYS, {"name", "nodes", "edges"}, f"block #{i + 1}")
        name = record["name"]
        _require(isinstance(name, str) and name.isidentifier(), f"block #{i + 1} has a name that is not an "
                                                                "identifier")
        _require(name not in records, f"duplicate block name {name!r}")
        _require(isinstance(record["nodes"], list) and isinstance(record["edges"], list),
                 f"block {name!r}: nodes and edges must be lists")
        records[name] = record
    return records


def _uses(record: dict[str, Any]) -> list[str]:
    return [n["block"] for n in record["nodes"] if isinstance(n, dict) and isinstance(n.get("block"), str)]


def dependency_order(records: dict[str, dict[str, Any]]) -> list[str]:
    """Block names with every block after the ones it uses; a self-containing block is refused."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    for start in records:
        if state.get(start) == 2:
            continue
        stack: list[tuple[str, list[str]]] = [(start, list(_uses(records[start])))]
        state[start] = 1
        while stack:
            name, pending = stack[-1]
            if not pending:
                stack.pop()
                state[name] = 2
                order.append(name)
                continue
            used = pending.pop()
            if used not in records:
                raise ProjectFileError(f"block {name!r} uses block {used!r}, which the file does not define")
            if state.get(used) == 1:
                loop = [n for n, _ in stack]
                loop = [*loop[loop.index(used):], used]
                raise ProjectFileError(f"a block cannot contain itself: {PATH_SEPARATOR.join(loop)}")
            if state.get(used) is None:
                state[used] = 1
                stack.append((used, list(_uses(records[used]))))
    return order


def block_params_from_data(raw: Any, definition: BlockDefinition) -> list[BlockParam]:
    where = f"block {definition.name!r}"
    _require(isinstance(raw, list), f"{where}: params must be a list")
    params: list[BlockParam] = []
    for i, item in enumerate(raw):
        record = _check_record(item, BLOCK_PARAM_KEYS, {"name", "targets"}, f"{where} parameter #{i + 1}")
        name, targets = record["name"], record["targets"]
        _require(isinstance(name, str) and name.isidentifier() and name != "repeat",
                 f"{where} parameter #{i + 1} needs an identifier for a name (not 'repeat')")
        _require(name not in {p.name for p in params}, f"{where}: duplicate parameter {name!r}")
        _require(isinstance(targets, list) and targets and all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in targets),
            f"{where} parameter {name!r}: targets must be a non-empty list of [node id, key] pairs")
        for node_id, key in targets:
            _require(node_id in definition.body.nodes,
                     f"{where} parameter {name!r} drives {node_id!r}, which is not in the block")
            try:
                definition.body.spec(node_id).param(key)
            except KeyError:
                raise ProjectFileError(f"{where} parameter {name!r}: {node_id!r} has no parameter "
                                       f"{key!r}") from None
        help_text = record.get("help", "")
        _require(isinstance(help_text, str), f"{where} parameter {name!r}: help must be text")
        params.append(BlockParam(name, tuple((n, k) for n, k in targets),
                                 _from_json(record.get("repeat_value")), help_text))
    return params


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def uses_freezing(doc: GraphDocument) -> bool:
    """Whether any node of the network or of a block definition is frozen (needs project format 3)."""
    bodies = [doc, *(d.body for d in doc.library)] if doc.root else [doc]
    return any(n.frozen for body in bodies for n in body.nodes.values())


def node_record(raw: Any, i: int, where: str) -> tuple[str, str, dict[str, Any], tuple[float, float], str]:
    """Check one node record: (id, type id or block name, params, position, name)."""
    record = _check_record(raw, NODE_KEYS, {"id"}, f"{where}node #{i + 1}")
    node_id = record["id"]
    _require(isinstance(node_id, str), f"{where}node #{i + 1} has an id that is not text")
    _require(("type" in record) != ("block" in record), f"{where}node {node_id!r} needs exactly one of "
                                                       "'type' and 'block'")
    type_id = record.get("type", record.get("block"))
    _require(isinstance(type_id, str), f"{where}node {node_id!r} has a type that is not text")
    params = record.get("params", {})
    _require(isinstance(params, dict), f"{where}node {node_id!r} has params that are not an object")
    position = record.get("position", [0, 0])
    _require(
        isinstance(position, list) and len(position) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position),
        f"{where}node {node_id!r} has a position that is not two numbers",
    )
    name = record.get("name", node_id)
    _require(isinstance(record.get("frozen", False), bool), f"{where}node {node_id!r}: frozen must be true or false")
    return node_id, type_id, params, (position[0], position[1]), name


def fill_body(doc: GraphDocument, data: dict[str, Any], where: str) -> None:
    """Add the nodes and wires of `data` to an empty document."""
    _require(isinstance(data["nodes"], list), f"{where}the network's nodes must be a list")
    _require(isinstance(data["edges"], list), f"{where}the network's edges must be a list")
    library = doc.library.definitions
    for i, raw in enumerate(data["nodes"]):
        node_id, type_id, params, position, name = node_record(raw, i, where)
        _require(node_id not in doc.nodes, f"{where}duplicate node id {node_id!r}")
        if "block" in raw:
            _require(type_id in library, f"{where}node {node_id!r} is an instance of block {type_id!r}, "
                                         "which the file does not define")
        else:
            _require(type_id not in library, f"{where}node {node_id!r}: {type_id!r} is a block; "
                                              "write it as \"block\", not \"type\"")
        try:
            doc.add_node(type_id, name=name, params=params, position=position, node_id=node_id, strict=False,
                         frozen=raw.get("frozen", False))
        except UnknownLayerError:
            raise ProjectFileError(
                f"{where}node {node_id!r} has unknown layer type {type_id!r} "
                "(is the plug-in that provides it installed?)"
            ) from None
        except DocumentError as exc:
            raise ProjectFileError(f"{where}node {node_id!r}: {exc}") from None
        _check_param_names(doc, node_id, where)
    for i, raw in enumerate(data["edges"]):
        record = _check_record(raw, EDGE_KEYS, EDGE_KEYS, f"{where}wire #{i + 1}")
        _require(all(isinstance(record[k], str) for k in EDGE_KEYS),
                 f"{where}wire #{i + 1} has fields that are not text")
        edge = Edge(record["source"], record["source_port"], record["target"], record["target_port"])
        for end in (edge.source, edge.target):
            _require(end in doc.nodes, f"{where}wire #{i + 1} ({edge.source} -> {edge.target}) refers to "
                                       f"node {end!r}, which does not exist")
        try:
            doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, allow_cycle=True)
        except DocumentError as exc:
            raise ProjectFileError(f"{where}wire #{i + 1} ({edge.source} -> {edge.target}): {exc}") from None


def _check_param_names(doc: GraphDocument, node_id: str, where: str = "") -> None:
    node = doc.nodes[node_id]
    known = {p.name for p in doc.spec_of(node).params}
    unknown = sorted(set(node.params) - known)
    _require(not unknown, f"{where}node {node_id!r} ({node.type_id}) has unknown parameter(s) "
                          f"{', '.join(unknown)}")
