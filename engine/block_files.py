"""Sharing a block: a `.loomblock` file holds one definition and every block it uses.

The file is JSON (``{"format": "layerloom-block", "version": 2, "block": name,
"definitions": [...]}``), definitions in `serialize.definition_to_data` form,
the ones used inside before the ones that use them, written atomically in a
fixed order. `read_block_file` checks it as strictly as a project (the same
loader resolves it against the layer registry in a scratch network, so a bad
file is a `ProjectFileError` naming what is wrong, and nothing in it runs);
`import_block` adds what the project's library lacks as one reversible step,
refusing a name that is taken by a different definition.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from engine.graph.document import GraphDocument
from engine.graph.errors import DocumentError, ProjectFileError
from engine.graph.hierarchy import Step, copy_definition, record
from engine.graph.serialize import definition_to_data, document_from_data
from engine.project import FORMAT_VERSION

BLOCK_FORMAT = "layerloom-block"
SUFFIX = ".loomblock"
MAX_BYTES = 16 * 1024 * 1024


def block_file_data(doc: GraphDocument, name: str) -> dict[str, Any]:
    """The file's content for block `name` of `doc`'s library, with the blocks it uses."""
    library = doc.library
    ordered: list[str] = []

    def visit(current: str) -> None:
        for node in library.get(current).body.nodes.values():
            if node.type_id in library.definitions and node.type_id not in ordered:
                visit(node.type_id)
        if current not in ordered:
            ordered.append(current)

    visit(name)
    return {"format": BLOCK_FORMAT, "version": FORMAT_VERSION, "block": name,
            "definitions": [definition_to_data(library.get(n)) for n in ordered]}


def save_block_file(doc: GraphDocument, name: str, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix != SUFFIX:
        target = target.with_name(target.name + SUFFIX)
    text = json.dumps(block_file_data(doc, name), indent=2, ensure_ascii=False) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_block_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked content of a block file, or ProjectFileError."""
    source = Path(path)
    if not source.is_file():
        raise ProjectFileError(f"{source}: no such block file")
    if source.stat().st_size > MAX_BYTES:
        raise ProjectFileError(f"{source}: implausibly large for a block file")
    try:
        data = json.loads(source.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectFileError(f"{source}: not a block file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != BLOCK_FORMAT:
        raise ProjectFileError(f"{source}: not a Layerloom block file")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 2:
        raise ProjectFileError(f"{source}: the block file has no valid version number")
    if version > FORMAT_VERSION:
        raise ProjectFileError(f"{source} was written by a newer Layerloom (format {version}; this one reads up "
                               f"to {FORMAT_VERSION}): update Layerloom to open it")
    unknown = sorted(set(data) - {"format", "version", "block", "definitions"})
    if unknown:
        raise ProjectFileError(f"{source}: unknown field(s) {', '.join(unknown)}")
    definitions = data.get("definitions")
    if not isinstance(definitions, list) or not all(isinstance(d, dict) for d in definitions):
        raise ProjectFileError(f"{source}: 'definitions' must be a list of blocks")
    try:  # the project loader checks every definition, and that none contains itself
        scratch = document_from_data({"nodes": [], "edges": [], "blocks": definitions})
    except ProjectFileError as exc:
        raise ProjectFileError(f"{source}: {exc}") from None
    if data.get("block") not in scratch.library:
        raise ProjectFileError(f"{source}: the file does not define its block {data.get('block')!r}")
    return data


def import_block(doc: GraphDocument, data: dict[str, Any]) -> Step:
    """Add a block file's definitions that the library lacks, as one step; result: the block's name."""
    library = doc.library
    for definition in data["definitions"]:
        name = definition["name"]
        if name in library and definition_to_data(library.get(name)) != definition:
            raise DocumentError(f"the project already has a different block named {name!r}: rename one first")

    def edit() -> str:
        for definition in data["definitions"]:
            if definition["name"] not in library:
                copy_definition(doc, definition)
        return str(data["block"])

    return record(doc, f"Import block {data['block']}", edit)
