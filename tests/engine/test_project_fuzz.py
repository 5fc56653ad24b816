"""Fuzzing the project loader: every mutated file loads or raises `ProjectFileError`, in bounded memory.

Two kinds of mutation, 2,900 cases in all (deterministic, so a failure repeats):

- byte level: flipped, overwritten, inserted and deleted bytes and truncations of the bundled
  examples' zips (one with a run attached), which hit headers, the central directory and the
  deflate streams;
- type aware: project.json's layer parameters, Input shapes, node and edge records, dataset and
  training settings and top-level fields replaced by hostile JSON values; and a run's run.json and
  settings.json likewise.

A loaded project must then also analyse without an exception, and its dataset and training settings
must parse or raise their own errors, because the studio does all of that on open.
"""

from __future__ import annotations

import copy
import io
import json
import tracemalloc
import zipfile
from contextlib import suppress
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.config import DatasetConfig
from engine.data.errors import DatasetError
from engine.graph.analysis import analyze
from engine.graph.errors import ProjectFileError
from engine.project import load_project, project_to_bytes, project_to_data
from engine.resources import example_path
from engine.runs import RunError, list_runs
from engine.train.settings import SettingsError, TrainingSettings

MEMORY_LIMIT = 48 * 1024 * 1024  # the examples are a few KB; a mutation may not make the loader use more
def fuzz(cases: int) -> settings:
    return settings(max_examples=cases, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
EXAMPLES = ("mlp_spirals", "lenet5", "transformer_encoder")


@cache
def example_bytes(name: str) -> bytes:
    project = load_project(example_path(name))
    if name == "mlp_spirals":  # a run's members, so the fuzz reaches more than project.json
        head = {"run_id": "run-1", "status": "completed", "weights": ["best"]}
        project.attachments.update({"runs/run-1/run.json": json.dumps(head).encode(),
                                    "runs/run-1/best.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "})
    return project_to_bytes(project)


@cache
def example_data(name: str) -> dict[str, Any]:
    return project_to_data(load_project(example_path(name)))


def check_loads_or_refuses(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.loom"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        try:
            project = load_project(path)
        except ProjectFileError as exc:
            assert str(exc), "the loader's error must say what is wrong"
            return
        analyze(project.network)  # problems are data: a loaded network never raises here
        with suppress(DatasetError):
            DatasetConfig.from_json(project.dataset)
        with suppress(SettingsError):
            TrainingSettings.from_json(project.training)
        with suppress(RunError):  # the Runs panel lists the runs as soon as a project opens
            list_runs(project)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"loading a {len(data):,}-byte file took {peak:,} bytes"


# ---- byte-level mutations of the zip ----------------------------------------------

@st.composite
def mutated_zip(draw: st.DrawFn) -> bytes:
    data = bytearray(example_bytes(draw(st.sampled_from(EXAMPLES))))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(("flip", "set", "insert", "delete", "truncate", "header")))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        else:  # overwrite a header field: sizes, flags, methods and offsets live right after a signature
            signature = data.find(b"PK", at)
            if signature >= 0:
                field = signature + draw(st.integers(4, 45))
                data[field:field + 4] = draw(st.binary(min_size=4, max_size=4))
    return bytes(data)


@fuzz(1600)  # cheap: most mutations fail in the zip layer
@given(data=mutated_zip())
def test_byte_mutations_of_the_zip_load_or_raise_the_loaders_error(tmp_path, data):
    check_loads_or_refuses(tmp_path, data)


# ---- type-aware mutations of project.json -------------------------------------------

JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**31, 2**63]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["", "same", "valid", "float", "token_ids", "1e309", "NaN", "__import__('os')"]),
)
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
SHAPES = st.one_of(st.lists(st.integers(-3, 4096), max_size=6), st.lists(JSON_LEAF, max_size=4), JSON_VALUE)


def _targets(data: Any) -> list[tuple[Any, Any]]:
    """(container, key) pairs to mutate: every field at every level (params, nodes, edges, settings...)."""
    found: list[tuple[Any, Any]] = []
    stack = [data]
    while stack:
        container = stack.pop()
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            found.append((container, key))
            if isinstance(container[key], (dict, list)):
                stack.append(container[key])
    return found


def _input_nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = data.get("network", {}).get("nodes", []) if isinstance(data.get("network"), dict) else []
    return [n for n in nodes if isinstance(n, dict) and n.get("type") == "Input"] if isinstance(nodes, list) \
        else []


@st.composite
def mutated_project(draw: st.DrawFn) -> bytes:
    data = copy.deepcopy(example_data(draw(st.sampled_from(EXAMPLES))))
    for _ in range(draw(st.integers(1, 3))):
        inputs = _input_nodes(data)
        if inputs and isinstance(inputs[0].get("params"), dict) and draw(st.booleans()):
            inputs[0]["params"]["shape"] = draw(SHAPES)  # Input shapes decide everything downstream
            continue
        targets = _targets(data)
        if not targets:
            break
        container, key = draw(st.sampled_from(targets))
        action = draw(st.sampled_from(("replace", "replace", "delete", "add")))
        if action == "replace":
            container[key] = draw(JSON_VALUE)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUE)
        else:
            container.append(draw(JSON_VALUE))
    text = json.dumps(data, allow_nan=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", text)
    return buffer.getvalue()


@fuzz(1000)
@given(data=mutated_project())
def test_type_aware_mutations_of_project_json_load_or_raise_the_loaders_error(tmp_path, data):
    check_loads_or_refuses(tmp_path, data)


@st.composite
def mutated_run(draw: st.DrawFn) -> bytes:
    project = load_project(example_path("mlp_spirals"))
    head: dict[str, Any] = {"run_id": "run-1", "started": "2026-01-01T00:00:00Z", "status": "completed",
                            "epochs": 3, "best": {"val_loss": 0.1}, "test": {"accuracy": 0.9}, "weights": []}
    files: dict[str, Any] = {"run.json": head, "settings.json": {"epochs": 3}}
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_targets(files)))
        container[key] = draw(JSON_VALUE)
    project.attachments.update({f"runs/run-1/{name}": json.dumps(value).encode() for name, value in files.items()})
    project.attachments["runs/run-2/run.json"] = json.dumps({"started": 5}).encode()
    return project_to_bytes(project)


@fuzz(300)
@given(data=mutated_run())
def test_type_aware_mutations_of_run_files_list_or_raise_the_run_error(tmp_path, data):
    check_loads_or_refuses(tmp_path, data)
