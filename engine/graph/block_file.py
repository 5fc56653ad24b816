"""A block in a file of its own, to share it between projects.

A ``.loomblock`` file is JSON: ``{"format": "layerloom-block", "version": 1,
"name": ..., "blocks": [...]}`` where ``blocks`` holds the saved form
(`serialize.definition_to_data`) of the block and of every block it uses,
each after the ones it uses. Version 2 files may hold frozen nodes
(``"frozen": true``); like projects, a file is written with the lowest
version that holds it, so a block without frozen nodes stays version 1 and
an older Layerloom opens it, while one with them is refused there as newer
rather than read with its frozen weights left to train.
`save_block_file` writes one atomically;
`read_block_file` reads one as hostile input (size cap, JSON only, known
format and version, every definition checked by building it in a scratch
project) and returns the records, or raises `ProjectFileError` with a message
for people; `add_definitions` puts them into a project's library as one
reversible `Step`, keeping blocks it already has with the same content and
refusing a different block under a name the project already uses.
Nothing here imports torch or Qt.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from engine.graph.blocks import BlockLibrary
from engine.graph.document import GraphDocument
from engine.graph.errors import DocumentError, ProjectFileError
from engine.graph.hierarchy import Step, copy_definition, record
from engine.graph.serialize import definition_to_data, dependency_order, uses_freezing

FORMAT = "layerloom-block"
VERSION = 2  # the newest this reads
BASE_VERSION = 1
FROZEN_VERSION = 2  # a block (or one it uses) holds a frozen node
SUFFIX = ".loomblock"
MAX_BYTES = 16 * 1024 * 1024


def block_file_data(library: BlockLibrary, name: str) -> dict[str, Any]:
    """The file contents for block `name`: it and every block it uses, in dependency order."""
    used = _used_by(library, name)
    records = {n: definition_to_data(library.get(n)) for n in used}
    order = dependency_order(records)
    frozen = any(uses_freezing(library.get(n).body) for n in used)
    return {"format": FORMAT, "version": FROZEN_VERSION if frozen else BASE_VERSION, "name": name,
            "blocks": [records[n] for n in order]}


def _used_by(library: BlockLibrary, name: str) -> set[str]:
    found, stack = {name}, [name]
    while stack:
        body = library.get(stack.pop()).body
        for node in body.nodes.values():
            if node.type_id in library.definitions and node.type_id not in found:
                found.add(node.type_id)
                stack.append(node.type_id)
    return found


def save_block_file(library: BlockLibrary, name: str, path: str | Path) -> Path:
    """Write block `name` (with the blocks it uses) to `path`, atomically; returns the path written."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    text = json.dumps(block_file_data(library, name), indent=1, sort_keys=False)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_block_file(path: str | Path) -> list[dict[str, Any]]:
    """The block records of a ``.loomblock`` file, checked; raises `ProjectFileError` when it is unusable."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ProjectFileError(f"{path.name} is {size // 1_000_000} MB; a block file is at most "
                                   f"{MAX_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProjectFileError(f"{path.name} is not a Layerloom block file (it is not JSON text)") from None
    return check_block_data(data, path.name)


def check_block_data(data: Any, where: str = "the block file") -> list[dict[str, Any]]:
    """Check parsed block-file data and return its records in dependency order."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectFileError(f"{where} is not a Layerloom block file")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise ProjectFileError(f"{where} has no valid format version")
    if version > VERSION:
        raise ProjectFileError(f"{where} was written by a newer Layerloom (block file version {version}); "
                               "update Layerloom to open it")
    blocks = data.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise ProjectFileError(f"{where} holds no block")
    records: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(blocks):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProjectFileError(f"{where}: block {i + 1} has no name")
        if item["name"] in records:
            raise ProjectFileError(f"{where} defines block {item['name']!r} twice")
        records[item["name"]] = item
    order = dependency_order(records)
    scratch = GraphDocument()
    for name in order:  # building each definition checks its nodes, wires and parameters
        try:
            copy_definition(scratch, records[name])
        except ProjectFileError as exc:
            raise ProjectFileError(f"{where}: {exc}") from None
        except (DocumentError, ValueError, KeyError, TypeError) as exc:
            raise ProjectFileError(f"{where}: block {name!r} is not valid: {exc}") from None
    return [records[n] for n in order]


def add_definitions(doc: GraphDocument, records: list[dict[str, Any]], text: str = "Load block") -> Step:
    """Add checked block records to `doc`'s library as one reversible step; `step.result` is the last name."""
    library = doc.library
    for item in records:
        name = item["name"]
        if name in library and definition_to_data(library.get(name)) != item:
            raise DocumentError(f"this project already has a different block named {name!r}; rename or "
                                "delete it, then load the file again")

    def add() -> str:
        for item in records:
            if item["name"] not in library:
                copy_definition(doc, item)
        return records[-1]["name"]

    return record(doc, f"{text} {records[-1]['name']}", add)
