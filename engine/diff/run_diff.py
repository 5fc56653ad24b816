"""The diff of two runs of a project: what the Runs panel shows when two runs are selected.

`diff_runs(project, a, b)` reads both runs' snapshots (the network as it was trained, the
settings, the dataset, the per-epoch metrics) and their weights' shapes, and returns a `RunDiff`:
the older run is ``a`` (before), the newer ``b`` (after). The architecture diff
(`engine.diff.network_diff`) uses the tensor shapes from each run's safetensors header (read here
as JSON: no tensor is loaded, no torch), so a layer whose inferred sizes changed (a Linear after a
resized image) shows it even when none of its own values did. The settings rows are every
declared training setting plus the dataset section, flattened (``optimizer.lr``,
``dataset.params.noise``). A run whose network cannot be read gives ``network_error`` and no
network diff; nothing here raises for a damaged run beyond `RunError` for a missing one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.diff.network_diff import NetworkDiff, NetworkTooLarge, diff_networks
from engine.diff.settings_diff import SettingRow, all_rows
from engine.graph.document import GraphDocument
from engine.graph.errors import ProjectFileError
from engine.graph.serialize import document_from_data
from engine.project import Project
from engine.runs import WEIGHT_KINDS, RunError, RunRecord, get_run

MAX_HEADER_BYTES = 64 * 2**20  # a safetensors header larger than this is not a run's


@dataclass
class RunDiff:
    """Two runs side by side: networks, the architecture diff, settings rows and per-epoch metrics."""

    a: RunRecord
    b: RunRecord
    network_a: GraphDocument | None
    network_b: GraphDocument | None
    network: NetworkDiff | None
    settings: list[SettingRow] = field(default_factory=list)  # every row; `.changed` marks the differences
    network_error: str = ""

    @property
    def changed_settings(self) -> list[SettingRow]:
        return [row for row in self.settings if row.changed]


def safetensors_shapes(data: bytes) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors file's header (8-byte length, then JSON); nothing else read."""
    if len(data) < 8:
        raise RunError("the weights are not a safetensors file (too short)")
    size = int.from_bytes(data[:8], "little")
    if size > MAX_HEADER_BYTES or 8 + size > len(data):
        raise RunError("the weights are not a safetensors file (its header size is wrong)")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise RunError("the weights' safetensors header is not readable JSON") from None
    if not isinstance(header, dict):
        raise RunError("the weights' safetensors header is not a JSON object")
    shapes = {}
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        shape = info.get("shape")
        if isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
            shapes[name] = tuple(shape)
    return shapes


def run_shapes(record: RunRecord) -> dict[str, tuple[int, ...]] | None:
    """The shapes of a run's weights (its last, else best), or None when it kept none readable."""
    for kind in reversed(WEIGHT_KINDS):  # last, then best: both have the same shapes
        data = record.weights.get(kind)
        if data is not None:
            try:
                return safetensors_shapes(data)
            except RunError:
                continue
    return None


def settings_rows(a: RunRecord, b: RunRecord) -> list[SettingRow]:
    """Every training setting of both runs, then the dataset section under ``dataset.``."""
    rows = all_rows(_mapping(a.settings), _mapping(b.settings))
    data_a, data_b = _leaves(_mapping(a.dataset), "dataset."), _leaves(_mapping(b.dataset), "dataset.")
    for path in dict.fromkeys([*data_a, *data_b]):
        rows.append(SettingRow(path, path, "Dataset", data_a.get(path, "—"), data_b.get(path, "—")))
    return rows


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _leaves(tree: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def diff_records(a: RunRecord, b: RunRecord) -> RunDiff:
    """The diff of two run records, `a` before `b`."""
    diff = RunDiff(a, b, None, None, None, settings_rows(a, b))
    try:
        diff.network_a = document_from_data(a.network)
        diff.network_b = document_from_data(b.network)
    except ProjectFileError as exc:
        diff.network_error = f"a run's network cannot be read: {exc}"
        return diff
    shapes_a, shapes_b = run_shapes(a), run_shapes(b)
    if shapes_a is None or shapes_b is None:
        shapes_a = shapes_b = None  # compare types and values only
    try:
        diff.network = diff_networks(diff.network_a, diff.network_b, shapes_a, shapes_b)
    except NetworkTooLarge as exc:
        diff.network_error = str(exc)
    return diff


def diff_runs(project: Project, run_a: str, run_b: str) -> RunDiff:
    """The diff of two runs of `project`, the older one first; raises `RunError` for a missing run."""
    a, b = get_run(project, run_a), get_run(project, run_b)
    if (b.started, b.run_id) < (a.started, a.run_id):
        a, b = b, a
    return diff_records(a, b)
