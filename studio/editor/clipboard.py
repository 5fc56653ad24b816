"""Copy and paste of node selections as JSON, through `QMimeData`.

`copy_data` turns a set of nodes and the wires among them into plain JSON data
(the same fields a `.loom` file uses); `to_mime` wraps it in `QMimeData` under
`MIME_TYPE` (and as text), so it travels through the system clipboard between
windows and processes. A palette drag carries one layer type id under
`LAYER_MIME_TYPE` (`layer_mime`). `plan_paste` reads it back against a document and gives
every pasted node a fresh unique name and id, and positions shifted by an
offset; the controller turns the plan into undo commands. Nothing here writes
the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QMimeData

from engine.graph.document import Edge, GraphDocument
from engine.layers.params import to_json

MIME_TYPE = "application/x-layerloom-nodes"
LAYER_MIME_TYPE = "application/x-layerloom-layer"
FORMAT = "layerloom-nodes"


@dataclass(frozen=True)
class PastedNode:
    """One node a paste will add."""

    node_id: str
    type_id: str
    name: str
    params: dict[str, Any]
    position: tuple[float, float]
    frozen: bool = False  # a frozen layer stays frozen in its copy (its weights are meant to be kept)


def copy_data(doc: GraphDocument, node_ids: Iterable[str]) -> dict[str, Any]:
    """The nodes `node_ids` and the wires among them as plain JSON data."""
    nodes, edges = doc.subgraph_ids(node_ids)
    return {
        "format": FORMAT,
        "nodes": [
            {"id": n.id, "type": n.type_id, "name": n.name,
             "params": {k: to_json(v) for k, v in n.params.items()},
             "position": [n.position[0], n.position[1]], **({"frozen": True} if n.frozen else {})}
            for n in nodes
        ],
        "edges": [
            {"source": e.source, "source_port": e.source_port,
             "target": e.target, "target_port": e.target_port}
            for e in edges
        ],
    }


def to_mime(data: dict[str, Any]) -> QMimeData:
    text = json.dumps(data)
    mime = QMimeData()
    mime.setData(MIME_TYPE, text.encode("utf-8"))
    mime.setText(text)
    return mime


def from_mime(mime: QMimeData | None) -> dict[str, Any] | None:
    """The copied data in `mime`, or None when it holds no Layerloom nodes."""
    if mime is None:
        return None
    if mime.hasFormat(MIME_TYPE):
        raw = bytes(mime.data(MIME_TYPE).data()).decode("utf-8", errors="replace")
    elif mime.hasText():
        raw = mime.text()
    else:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("nodes"), list):
        return None
    return data


def layer_mime(type_id: str) -> QMimeData:
    """What the palette drags: one layer type id."""
    mime = QMimeData()
    mime.setData(LAYER_MIME_TYPE, type_id.encode("utf-8"))
    return mime


def layer_type_from_mime(mime: QMimeData | None) -> str | None:
    """The layer type id a palette drag carries, or None."""
    if mime is None or not mime.hasFormat(LAYER_MIME_TYPE):
        return None
    return bytes(mime.data(LAYER_MIME_TYPE).data()).decode("utf-8") or None


def _stem(name: str) -> str:
    """`conv12` -> `conv`: the prefix fresh names are numbered from."""
    return re.sub(r"[_ ]?\d+$", "", name) or "node"


def plan_paste(doc: GraphDocument, data: dict[str, Any],
               offset: tuple[float, float]) -> tuple[list[PastedNode], list[Edge]]:
    """Fresh nodes and wires for pasting `data` into `doc`; unknown layer types are skipped."""
    taken_names = {n.name for n in doc.nodes.values()}
    taken_ids = set(doc.nodes)
    id_map: dict[str, str] = {}
    nodes: list[PastedNode] = []
    for record in data.get("nodes", []):
        type_id = record.get("type")
        if type_id not in doc.registry:
            continue
        name = str(record.get("name") or type_id.lower())
        if name in taken_names:
            stem, i = _stem(name), 1
            while f"{stem}{i}" in taken_names or f"{stem}{i}" in taken_ids:
                i += 1
            name = f"{stem}{i}"
        node_id = doc.id_for_name(name, taken_ids)
        taken_names.add(name)
        taken_ids.add(node_id)
        id_map[str(record.get("id"))] = node_id
        x, y = record.get("position", (0.0, 0.0))
        nodes.append(PastedNode(node_id, type_id, name, dict(record.get("params", {})),
                                (float(x) + offset[0], float(y) + offset[1]), record.get("frozen") is True))
    edges = [
        Edge(id_map[e["source"]], e["source_port"], id_map[e["target"]], e["target_port"])
        for e in data.get("edges", [])
        if e.get("source") in id_map and e.get("target") in id_map
    ]
    return nodes, edges


BLOCK_MIME_TYPE = "application/x-layerloom-block"
BLOCK_SOURCES = ("project", "bundled")


def block_mime(source: str, name: str) -> QMimeData:
    """What the palette drags for a block: where it comes from (the project or the bundle) and its name."""
    mime = QMimeData()
    mime.setData(BLOCK_MIME_TYPE, f"{source}:{name}".encode())
    return mime


def block_from_mime(mime: QMimeData | None) -> tuple[str, str] | None:
    """(source, block name) of a palette block drag, or None."""
    if mime is None or not mime.hasFormat(BLOCK_MIME_TYPE):
        return None
    source, _, name = bytes(mime.data(BLOCK_MIME_TYPE).data()).decode("utf-8", errors="replace").partition(":")
    return (source, name) if source in BLOCK_SOURCES and name else None
