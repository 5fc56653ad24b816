"""Project files (`.loom`): a zip holding `project.json` plus run folders.

`project.json` holds the network, the dataset and training settings and the UI
state, as versioned JSON written in a fixed order, so that save -> load -> save
is byte-identical. Other members (``runs/<run id>/...``: metrics, a graph
snapshot, weights as safetensors) are kept as attachments and written back
untouched.

The zip layer lives in `engine.project_zip`: saving is atomic (a temporary
file in the same folder, fsynced, then `os.replace`d over the target; the
previous version kept, also atomically, as ``<name>.loom.bak``), and loading
treats the file as hostile (known members only, size caps, bounded JSON depth).
Loading never executes code from the file: it is JSON and raw bytes only. Every
problem with a file becomes a `ProjectFileError` naming what is wrong.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.graph.bulk import gc_paused
from engine.graph.document import GraphDocument
from engine.graph.errors import ProjectFileError
from engine.graph.serialize import document_from_data, document_to_data, uses_freezing
from engine.layers.registry import LayerRegistry
from engine.project_zip import (
    MAX_PROJECT_JSON,
    PROJECT_MEMBER,
    atomic_write,
    parse_json_member,
    read_project_zip,
    zip_bytes,
)

FORMAT = "layerloom-project"
# 2: block definitions ("blocks") and block instances ("block" nodes). Format-1 files have neither and
# read unchanged; see `_migrate`.
# 3: a node may be frozen (``"frozen": true``). A project is written with the lowest version that holds
# it (`written_version`): without frozen nodes it stays format 2, so older Layerloom still opens it.
FORMAT_VERSION = 3
FROZEN_VERSION = 3
BASE_VERSION = 2
TOP_LEVEL_KEYS = ("format", "version", "name", "network", "dataset", "training", "ui")


@dataclass
class Project:
    """Everything a `.loom` file holds."""

    network: GraphDocument
    name: str = "untitled"
    dataset: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def empty(cls, registry: LayerRegistry | None = None, name: str = "untitled") -> Project:
        return cls(GraphDocument(registry), name=name)


def project_to_data(project: Project) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": written_version(project.network),
        "name": project.name,
        "network": document_to_data(project.network),
        "dataset": project.dataset,
        "training": project.training,
        "ui": project.ui,
    }


def written_version(network: GraphDocument) -> int:
    """The lowest project format that holds `network` (see FORMAT_VERSION)."""
    return FROZEN_VERSION if uses_freezing(network) else BASE_VERSION


def project_json_bytes(project: Project) -> bytes:
    text = json.dumps(project_to_data(project), indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def project_to_bytes(project: Project) -> bytes:
    """The whole `.loom` file as bytes."""
    members = [(PROJECT_MEMBER, project_json_bytes(project))]
    members += [(name, project.attachments[name]) for name in sorted(project.attachments)]
    return zip_bytes(members)


def save_project(project: Project, path: str | os.PathLike[str], *, keep_backup: bool = True) -> Path:
    """Write `project` to `path` atomically; the old file is kept as `<path>.bak`."""
    target = Path(path)
    if target.suffix != ".loom":
        target = target.with_suffix(".loom")
    return atomic_write(target, project_to_bytes(project), keep_backup=keep_backup)


def load_project(path: str | os.PathLike[str], registry: LayerRegistry | None = None) -> Project:
    """Read a `.loom` file (or a bare `project.json`), or raise ProjectFileError."""
    source = Path(path)
    if not source.exists():
        raise ProjectFileError(f"{source}: no such file")
    if source.is_dir():
        raise ProjectFileError(f"{source} is a folder, not a project file")
    if source.suffix == ".json":
        if source.stat().st_size > MAX_PROJECT_JSON:
            raise ProjectFileError(f"{source} is larger than {MAX_PROJECT_JSON:,} bytes; not a project")
        return project_from_json(source.read_bytes(), registry, where=str(source))
    contents = read_project_zip(source)
    project = project_from_json(contents.project_json, registry, where=str(source))
    project.attachments = contents.attachments
    return project


def project_from_json(raw: bytes, registry: LayerRegistry | None = None, where: str = "project") -> Project:
    with gc_paused():  # parsing allocates one dict per node: see engine.graph.bulk
        data = parse_json_member(raw, where)
    return project_from_data(data, registry, where)


def _migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring an older project's data to the current format, step by step (never in place)."""
    if version == 1:
        # Format 1 is format 2 without blocks: its networks are valid format-2 networks as they are.
        network = data.get("network")
        if isinstance(network, dict) and "blocks" in network:
            raise ProjectFileError("a format-1 project cannot hold blocks")
    if version < FROZEN_VERSION and _has_frozen_records(data.get("network")):
        # Format 3 only added the flag: an older file that has it was not written by Layerloom.
        raise ProjectFileError(f"a format-{version} project cannot hold frozen nodes")
    return data


def _has_frozen_records(network: Any) -> bool:
    if not isinstance(network, dict):
        return False
    blocks = network.get("blocks")
    bodies = [network, *(b for b in (blocks if isinstance(blocks, list) else []) if isinstance(b, dict))]
    return any(isinstance(n, dict) and "frozen" in n for body in bodies
               for n in (body.get("nodes") if isinstance(body.get("nodes"), list) else []))


def project_from_data(data: Any, registry: LayerRegistry | None = None, where: str = "project") -> Project:
    if not isinstance(data, dict):
        raise ProjectFileError(f"{where}: the project must be a JSON object")
    if data.get("format") != FORMAT:
        raise ProjectFileError(f"{where}: not a Layerloom project (format is {data.get('format')!r})")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProjectFileError(f"{where}: the project has no valid version number")
    if version > FORMAT_VERSION:
        raise ProjectFileError(
            f"{where} was written by a newer Layerloom (project format {version}; this one reads up to "
            f"{FORMAT_VERSION}): update Layerloom to open it"
        )
    if version < 1:
        raise ProjectFileError(f"{where}: unsupported project format {version}")
    data = _migrate(data, version)
    unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ProjectFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in ("dataset", "training", "ui"):
        if not isinstance(data.get(key, {}), dict):
            raise ProjectFileError(f"{where}: '{key}' must be an object")
    name = data.get("name", "untitled")
    if not isinstance(name, str):
        raise ProjectFileError(f"{where}: 'name' must be text")
    if "network" not in data:
        raise ProjectFileError(f"{where}: the project has no network")
    try:
        network = document_from_data(data["network"], registry)
    except ProjectFileError as exc:
        raise ProjectFileError(f"{where}: {exc}") from None
    return Project(network, name, data.get("dataset", {}), data.get("training", {}), data.get("ui", {}))
