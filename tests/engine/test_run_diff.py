"""The run diff: architecture (paths through blocks, types, parameter shapes) and settings, on real networks
and real runs; linear in the network's size (CPU time, never wall clock)."""

from __future__ import annotations

import time

import pytest
import torch

from engine.block_catalog import basic_resnet, resnet18_network, resnet34_network
from engine.build import build_module
from engine.data import DatasetConfig
from engine.diff.network_diff import ADDED, CHANGED, INSIDE, REMOVED, diff_networks, flatten
from engine.diff.run_diff import diff_records, diff_runs, safetensors_shapes
from engine.diff.settings_diff import settings_diff
from engine.examples import canvas_network, edited_copy, mlp_document
from engine.graph.serialize import document_to_data
from engine.project import Project
from engine.runs import RunError, RunRecord, add_run
from engine.train import TrainingJob, TrainingSettings
from engine.train.session import run_job

RESNET34_EXTRA_BLOCKS = {("layer1", "2"), ("layer2", "2"), ("layer2", "3"), ("layer3", "2"), ("layer3", "3"),
                         ("layer3", "4"), ("layer3", "5"), ("layer4", "2")}


def meta_shapes(doc) -> dict[str, tuple[int, ...]]:
    """The network's state-dict shapes, built on the meta device (no memory for the weights)."""
    with torch.device("meta"):
        module = build_module(doc)
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def test_resnet18_against_resnet34_lists_exactly_the_added_blocks():
    a, b = resnet18_network().doc, resnet34_network().doc
    for diff in (diff_networks(a, b), diff_networks(a, b, meta_shapes(a), meta_shapes(b))):
        assert {c.key for c in diff.added} == RESNET34_EXTRA_BLOCKS
        assert not diff.removed and not diff.changed
        assert {c.label for c in diff.added} >= {"layer3 ▸ 5", "layer1 ▸ 2"}
        assert all(c.entry.kind == "copy" and c.entry.type_id == "BasicBlock" for c in diff.added)
        marks = diff.marks()
        assert set(marks) == {"layer1", "layer2", "layer3", "layer4"}
        assert {n: m.status for n, m in marks.items()} == dict.fromkeys(marks, INSIDE)
        assert len(marks["layer3"].changes) == 4
    # the other way round the same blocks are removed
    assert {c.key for c in diff_networks(b, a).removed} == RESNET34_EXTRA_BLOCKS


def test_changed_parameters_are_listed_with_their_shapes_inside_blocks_too():
    a = resnet18_network(num_classes=1000, input_shape=(3, 64, 64)).doc
    b = resnet18_network(num_classes=10, input_shape=(3, 64, 64)).doc
    b.set_param(b.node_by_name("layer4").id, "channels", 256)
    diff = diff_networks(a, b, meta_shapes(a), meta_shapes(b))
    changed = {c.label: c for c in diff.changed}
    assert changed["fc"].details == ("out_features: 1000 → 10", "weight: 1000×512 → 10×256", "bias: 1000 → 10")
    assert changed["layer4"].details == ("channels: 512 → 256",)  # the block's own value
    conv = changed["layer4 ▸ 0 ▸ conv1"]  # bound onto the convolution inside the first copy
    assert conv.details == ("out_channels: 512 → 256", "weight: 512×256×3×3 → 256×256×3×3")
    assert "layer4 ▸ 1 ▸ bn2" in changed and "layer3 ▸ 0 ▸ conv1" not in changed
    assert not diff.added and not diff.removed
    marks = diff.marks()
    assert marks["fc"].status == CHANGED and marks["layer4"].status == CHANGED
    inside = diff.marks(("layer4", "0"))  # the body of layer4's first copy
    assert inside["conv1"].status == CHANGED and "relu" not in inside
    body = diff.body_marks(["layer4"])  # the body every copy of layer4 shares: both copies' changes merged
    assert {n: m.status for n, m in body.items()} == {"conv1": CHANGED, "conv2": CHANGED, "bn1": CHANGED,
                                                      "bn2": CHANGED, "downsample": CHANGED}
    assert {c.label for c in body["conv1"].changes} == {"layer4 ▸ 0 ▸ conv1", "layer4 ▸ 1 ▸ conv1"}


def test_added_removed_and_retyped_layers_in_a_flat_network():
    a, b = mlp_document(2, (64, 64), 2), mlp_document(2, (64, 64), 2)
    ids = {n.name: n.id for n in b.nodes.values()}
    b.remove_node(ids["relu2"])
    extra = b.add_node("Dropout", name="drop").id
    a_ids = {n.name: n.id for n in a.nodes.values()}
    diff = diff_networks(a, b)
    assert [c.key for c in diff.removed] == [(a_ids["relu2"],)]
    assert [c.key for c in diff.added] == [(extra,)]
    assert diff.marks()[extra].status == ADDED and diff.marks()[a_ids["relu2"]].status == REMOVED
    b.set_param(ids["fc1"], "out_features", 32)
    assert [c.text() for c in diff_networks(a, b).changed] == ["changed fc1: out_features: 64 → 32"]


def test_settings_diff_reads_every_declared_setting_with_defaults_for_the_missing():
    a = {"epochs": 5, "optimizer": {"lr": 0.01}}
    b = {"epochs": 5.0, "optimizer": {"lr": 0.02, "kind": "sgd"}, "batch_size": 64}
    rows = settings_diff(a, b)
    assert [(r.path, r.a, r.b) for r in rows] == [("optimizer.kind", "adam", "sgd"), ("optimizer.lr", 0.01, 0.02)]
    assert rows[0].label == "Optimizer" and rows[0].section == "Optimizer"


def train(hidden: tuple[int, ...], lr: float, run_id: str) -> RunRecord:
    settings = TrainingSettings.from_json({"epochs": 2, "batch_size": 64, "cpu_threads": 1, "device": "cpu",
                                           "optimizer": {"lr": lr}, "telemetry": {"enabled": False}})
    job = TrainingJob(mlp_document(2, hidden, 2), DatasetConfig("spirals", {"n_samples": 200}), settings, run_id)
    result = run_job(job, lambda message: None)
    assert result.status == "completed"
    return result.record


def test_two_real_runs_diff_by_their_weights_shapes_and_settings():
    project = Project(mlp_document(), "runs", DatasetConfig("spirals", {}).to_json(), {})
    add_run(project, train((64, 64), 0.01, "run-1"))
    add_run(project, train((64, 32), 0.02, "run-2"))
    diff = diff_runs(project, "run-2", "run-1")  # the older run is always the one before
    assert (diff.a.run_id, diff.b.run_id) == ("run-1", "run-2")
    changed = {c.label: c.details for c in diff.network.changed}
    # fc3's in_features is inferred: only the weights' shapes say that it changed
    assert changed == {"fc2": ("out_features: 64 → 32", "weight: 64×64 → 32×64", "bias: 64 → 32"),
                       "fc3": ("weight: 2×64 → 2×32",)}
    assert [(r.path, r.a, r.b) for r in diff.changed_settings] == [("optimizer.lr", 0.01, 0.02)]
    assert any(r.path == "dataset.params.n_samples" and not r.changed for r in diff.settings)
    assert len(diff.a.epochs) == len(diff.b.epochs) == 2


def test_damaged_runs_give_clear_errors_not_tracebacks():
    with pytest.raises(RunError, match="safetensors"):
        safetensors_shapes(b"\xff" * 8 + b"{}")
    with pytest.raises(RunError, match="JSON"):
        safetensors_shapes((4).to_bytes(8, "little") + b"{{{{")
    good = RunRecord("run-1", network=document_to_data(mlp_document()))
    broken = RunRecord("run-2", network={"nodes": [{"id": "x", "type": "NoSuchLayer"}], "edges": []})
    diff = diff_records(good, broken)
    assert diff.network is None and "cannot be read" in diff.network_error
    assert diff.settings  # the settings still compare
    # blocks repeated 1,000 times inside blocks repeated 1,000 times: refused as it is walked, not built
    nested = resnet18_network().doc
    library = nested.library
    library.set_params("BasicBlock", [p for p in library.get("BasicBlock").params if p.name != "downsample"])
    library.get("BasicBlock").body.set_param("downsample", "repeat", 1000)  # 1,000 shortcuts in each copy
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        nested.set_param(nested.node_by_name(stage).id, "repeat", 1000)
    start = time.process_time()
    huge = diff_records(good, RunRecord("run-3", network=document_to_data(nested)))
    assert huge.network is None and "too many to compare" in huge.network_error
    assert time.process_time() - start < 30


def cpu_seconds(a, b) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        diff_networks(a, b)
        best = min(best, time.process_time() - start)
    return best


def test_the_diff_is_linear_and_two_2000_node_networks_take_well_under_200_ms_of_cpu():
    small, large = canvas_network(500), canvas_network(2000)
    small_b, large_b = edited_copy(small, 10), edited_copy(large, 10)
    diff = diff_networks(large, large_b)
    assert len(flatten(large)) == 2000 and diff.entries_compared == 2000 + len(large_b.nodes)
    assert len(diff.changed) > 50 and len(diff.removed) > 50
    small_s, large_s = cpu_seconds(small, small_b), cpu_seconds(large, large_b)
    assert large_s < 0.2
    assert large_s < 8 * max(small_s, 1e-4)  # four times the nodes: linear is ×4, quadratic ×16

    blocks_a, blocks_b = basic_resnet("a", (55, 55, 55, 55)).doc, basic_resnet("b", (55, 56, 55, 54)).doc
    assert len(flatten(blocks_a)) >= 2000
    assert cpu_seconds(blocks_a, blocks_b) < 0.2
    assert {c.key for c in diff_networks(blocks_a, blocks_b).added} == {("layer2", "55")}
