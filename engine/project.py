"""Project files (`.loom`): a zip holding `project.json` plus run folders.

`project.json` holds the network, the dataset and training settings and the UI
state, as versioned JSON written in a fixed order, so that save -> load -> save
is byte-identical. Other members (``runs/<run id>/...``: metrics, a graph
snapshot, weights as safetensors) are kept as attachments and written back
untouched.

Saving is atomic: the zip is written to a temporary file in the same folder,
flushed and fsynced, and then `os.replace`d over the target; the previous
version is kept beside it as ``<name>.loom.bak``. Loading never executes code
from the file: it is JSON and raw bytes only. Every problem with a file becomes
a `ProjectFileError` naming what is wrong.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.graph.document import GraphDocument
from engine.graph.errors import ProjectFileError
from engine.graph.serialize import document_from_data, document_to_data
from engine.layers.registry import LayerRegistry

FORMAT = "layerloom-project"
# 2: block definitions ("blocks") and block instances ("block" nodes). Format-1 files have neither and
# read unchanged; see `_migrate`.
FORMAT_VERSION = 2
PROJECT_MEMBER = "project.json"
TOP_LEVEL_KEYS = ("format", "version", "name", "network", "dataset", "training", "ui")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps keep saves byte-identical
MAX_PROJECT_JSON = 64 * 1024 * 1024


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
        "version": FORMAT_VERSION,
        "name": project.name,
        "network": document_to_data(project.network),
        "dataset": project.dataset,
        "training": project.training,
        "ui": project.ui,
    }


def project_json_bytes(project: Project) -> bytes:
    text = json.dumps(project_to_data(project), indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def project_to_bytes(project: Project) -> bytes:
    """The whole `.loom` file as bytes."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_member(archive, PROJECT_MEMBER, project_json_bytes(project))
        for name in sorted(project.attachments):
            _write_member(archive, name, project.attachments[name])
    return buffer.getvalue()


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def save_project(project: Project, path: str | os.PathLike[str], *, keep_backup: bool = True) -> Path:
    """Write `project` to `path` atomically; the old file is kept as `<path>.bak`."""
    target = Path(path)
    if target.suffix != ".loom":
        target = target.with_suffix(".loom")
    data = project_to_bytes(project)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private (0600); give it the old file's mode, or the umask's default
        os.chmod(tmp_name, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        if keep_backup and target.exists():
            shutil.copy2(target, target.with_name(target.name + ".bak"))
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_project(path: str | os.PathLike[str], registry: LayerRegistry | None = None) -> Project:
    """Read a `.loom` file (or a bare `project.json`), or raise ProjectFileError."""
    source = Path(path)
    if not source.exists():
        raise ProjectFileError(f"{source}: no such file")
    if source.is_dir():
        raise ProjectFileError(f"{source} is a folder, not a project file")
    if source.suffix == ".json":
        return project_from_json(source.read_bytes(), registry, where=str(source))
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if PROJECT_MEMBER not in names:
                raise ProjectFileError(f"{source} is a zip but holds no {PROJECT_MEMBER}")
            if archive.getinfo(PROJECT_MEMBER).file_size > MAX_PROJECT_JSON:
                raise ProjectFileError(f"{source}: {PROJECT_MEMBER} is implausibly large")
            raw = archive.read(PROJECT_MEMBER)
            attachments = {n: archive.read(n) for n in names if n != PROJECT_MEMBER and not n.endswith("/")}
    except zipfile.BadZipFile:
        raise ProjectFileError(f"{source} is not a Layerloom project (not a zip file)") from None
    project = project_from_json(raw, registry, where=str(source))
    project.attachments = attachments
    return project


def project_from_json(raw: bytes, registry: LayerRegistry | None = None, where: str = "project") -> Project:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectFileError(f"{where}: {PROJECT_MEMBER} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ProjectFileError(f"{where}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") \
            from None
    return project_from_data(data, registry, where)


def _migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring an older project's data to the current format, step by step (never in place)."""
    if version == 1:
        # Format 1 is format 2 without blocks: its networks are valid format-2 networks as they are.
        network = data.get("network")
        if isinstance(network, dict) and "blocks" in network:
            raise ProjectFileError("a format-1 project cannot hold blocks")
    return data


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
