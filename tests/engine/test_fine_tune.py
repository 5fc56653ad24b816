"""Fine-tuning an imported network: initial weights, a replaced head, a frozen feature extractor.

A small CNN is defined here, trained briefly in plain PyTorch (so its features mean something) and
imported with its weights as a project. The user's edits follow: the classifier `fc` is deleted, a
new Linear head is wired in its place and the feature extractor is frozen; the project is saved and
reopened (the flag and the weights travel in the file) and trained by the worker code through the
job's JSON form. The frozen weights, BatchNorm running statistics included, come out bit for bit
as they went in; the head, which started from fresh weights, ends clearly better than it started.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from engine.build import build_module
from engine.data.config import DatasetConfig
from engine.data.loader import load_dataset
from engine.graph.document import GraphDocument
from engine.graph.errors import DocumentError
from engine.importing.importer import import_module
from engine.importing.sources import project_from_import
from engine.importing.weights import INITIAL_WEIGHTS
from engine.project import Project, load_project, project_json_bytes, save_project
from engine.runner import LocalRun
from engine.runs import RunRecord
from engine.train.fine_tune import freeze, load_initial_weights, read_initial_weights, trainable_parameters
from engine.train.job import TrainingJob
from engine.train.session import run_job
from engine.train.settings import TrainingSettings

SHAPE = (1, 16, 16)
CLASSES = 6
DATASET = {"kind": "shapes", "params": {"n_samples": 1200, "image_size": 16}, "val_fraction": 0.2,
           "test_fraction": 0.0, "seed": 0}


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(32, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(x), 1))


def _pretrained() -> SmallCNN:
    """The source model, trained a little on the same kind of images (features worth keeping)."""
    torch.manual_seed(0)
    x, y = load_dataset(DatasetConfig.from_json(DATASET)).train
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(6):
        for i in range(0, len(x), 64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64]).backward()
            opt.step()
    return model.eval()


def _replace_head(doc: GraphDocument) -> str:
    """Delete fc, add a new Linear in its place; returns the new node's id."""
    before = doc.edges_into("fc")[0].source
    after = doc.edges_from("fc")[0]
    doc.remove_node("fc")
    head = doc.add_node("Linear", name="head", params={"out_features": CLASSES})
    doc.connect(before, "out", head.id, "in")
    doc.connect(head.id, "out", after.target, after.target_port)
    return head.id


def _accuracy(module: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    module.eval()
    with torch.no_grad():
        return float((module(data[0]).argmax(1) == data[1]).float().mean())


def test_fine_tuning_an_imported_cnn_keeps_the_frozen_features_and_improves_the_head(tmp_path: Path) -> None:
    imported = import_module(_pretrained(), [SHAPE], source="SmallCNN")
    project = project_from_import(imported, "small_cnn")
    doc = project.network
    head = _replace_head(doc)
    doc.set_frozen("features", True)
    project.dataset = dict(DATASET)
    project.training = {"epochs": 4, "batch_size": 32, "seed": 3, "cpu_threads": 1,
                        "optimizer": {"kind": "adam", "lr": 0.01, "weight_decay": 0.01},
                        "telemetry": {"enabled": False}}
    path = save_project(project, tmp_path / "small_cnn.loom")
    reopened = load_project(path)
    assert reopened.network.node("features").frozen and not reopened.network.node(head).frozen
    assert b'"version": 3' in project_json_bytes(reopened)  # the format that holds frozen nodes

    # the head as training starts: fresh, seeded like the run, on the run's validation split
    job = TrainingJob.from_project(reopened, "tune", tmp_path)
    initial = read_initial_weights(reopened.attachments[INITIAL_WEIGHTS])
    torch.manual_seed(job.settings.seed)
    start = build_module(reopened.network)
    report = load_initial_weights(start, initial)
    assert report.mismatched == {} and sorted(report.missing) == [f"{head}.bias", f"{head}.weight"]
    assert sorted(report.unused) == ["fc.bias", "fc.weight"]
    val = load_dataset(job.dataset, tmp_path).val
    before = _accuracy(start, val)

    run = LocalRun.start(reopened, "tune", out_dir=tmp_path / "run", base_dir=tmp_path)
    messages = run.wait(timeout=300)
    assert run.finished is not None and run.finished["status"] == "completed", messages[-3:]
    logs = [m["text"] for m in messages if m.get("type") == "log"]
    levels = {m["text"]: m["level"] for m in messages if m.get("type") == "log"}
    assert any("loaded in full: features" in line for line in logs), logs
    # weights that no longer fit the network are a warning (the head was replaced); freezing is information
    assert {level for text, level in levels.items() if "initial weights" in text or "loaded" in text} == {"warning"}
    assert {level for text, level in levels.items() if "frozen (not trained)" in text} == {"info"}
    assert any("not loaded, freshly initialised: " + head in line for line in logs), logs
    assert any("frozen (not trained): features" in line for line in logs), logs

    record = RunRecord.read_dir(tmp_path / "run")
    trained = read_initial_weights(record.weights["last"])
    frozen_keys = [k for k in initial if k.startswith("features.")]
    assert any(k.endswith("running_mean") for k in frozen_keys) and any(
        k.endswith("num_batches_tracked") for k in frozen_keys)
    for key in frozen_keys:  # bit for bit, BatchNorm's running statistics and counters included
        assert torch.equal(trained[key], initial[key]), key
    assert not torch.equal(trained[f"{head}.weight"], start.state_dict()[f"{head}.weight"])
    finished = build_module(reopened.network)
    finished.load_state_dict(trained)
    after = _accuracy(finished, val)
    assert after > before + 0.25 and after > 0.5, (before, after)
    run.close()


def test_freezing_leaves_frozen_parameters_out_of_the_optimiser_and_keeps_norms_in_eval() -> None:
    imported = import_module(SmallCNN(), [SHAPE], check=False)
    doc = imported.doc
    features = doc.library.get(doc.node("features").type_id).body
    features.set_frozen("1", True)  # one BatchNorm inside the block definition
    module = build_module(doc)
    frozen = freeze(doc, module)
    assert frozen.paths == ["features.1"] and frozen.norms_kept_in_eval == 1 and frozen.parameters == 32
    norm = module.features._modules["1"]
    module.train()
    assert not norm.training and module.features._modules["4"].training
    trainable = {id(p) for p in trainable_parameters(module)}
    assert id(norm.weight) not in trainable and id(module.fc.weight) in trainable
    assert len(trainable) == len(list(module.parameters())) - 2


def test_a_frozen_repeated_block_freezes_every_copy() -> None:
    from engine.block_catalog import resnet18_network

    doc = resnet18_network().doc
    doc.set_frozen("layer1", True)
    module = build_module(doc)
    frozen = freeze(doc, module)
    assert frozen.paths == ["layer1"]
    assert all(not p.requires_grad for p in module.layer1.parameters())
    assert all(p.requires_grad for p in module.layer2.parameters())
    module.train()
    assert not any(m.training for m in module.layer1.modules() if isinstance(m, nn.BatchNorm2d))


def test_a_network_frozen_entirely_is_refused_before_training() -> None:
    imported = import_module(SmallCNN(), [SHAPE], check=False)
    project = project_from_import(imported, "all_frozen")
    for node_id in ("features", "fc"):
        project.network.set_frozen(node_id, True)
    project.dataset = dict(DATASET, params={"n_samples": 60, "image_size": 16})
    job = TrainingJob.from_project(project)
    job.settings = TrainingSettings(epochs=1)
    messages: list[dict] = []
    result = run_job(job, messages.append)
    assert result.status == "failed"
    assert "every weight of the network is frozen" in result.failure.message


def test_the_frozen_flag_round_trips_and_older_formats_cannot_hold_it(tmp_path: Path) -> None:
    import json
    import zipfile

    from engine.graph.errors import ProjectFileError

    imported = import_module(SmallCNN(), [SHAPE], check=False)
    project = Project(imported.doc, "cnn")
    assert b'"version": 2' in project_json_bytes(project)  # nothing frozen: still format 2
    project.network.set_frozen("features", True)
    with pytest.raises(DocumentError):
        project.network.set_frozen("x", True)  # the Input node has no weights
    path = save_project(project, tmp_path / "cnn.loom")
    again = load_project(path)
    assert [n.id for n in again.network.nodes.values() if n.frozen] == ["features"]
    data = json.loads(project_json_bytes(again))
    data["version"] = 2
    with zipfile.ZipFile(tmp_path / "old.loom", "w") as archive:
        archive.writestr("project.json", json.dumps(data))
    with pytest.raises(ProjectFileError, match="format-2 project cannot hold frozen nodes"):
        load_project(tmp_path / "old.loom")


def test_grouping_ungrouping_and_undoing_them_keep_the_frozen_flags() -> None:
    from engine.graph.hierarchy import group_into_block, ungroup_block
    from engine.graph.restore import apply_body
    from engine.graph.serialize import body_to_data

    doc = import_module(SmallCNN(), [SHAPE], check=False).doc
    doc.set_frozen("fc", True)
    before = body_to_data(doc)
    group_into_block(doc, ["fc"], name="Head", instance_name="head_block")
    assert doc.library.get("Head").body.node("fc").frozen  # inside the new block, still frozen
    apply_body(doc, before)  # what undo does
    assert doc.node("fc").frozen
    doc.set_frozen("features", True)
    ungroup_block(doc, "features")  # the frozen block's layers stay frozen in its place
    assert [n.id for n in doc.nodes.values() if n.frozen] == [f"features_{i}" for i in range(8)] + ["fc"]


def test_a_job_carries_its_initial_weights_in_both_json_forms(tmp_path: Path) -> None:
    imported = import_module(SmallCNN(), [SHAPE], check=False)
    project = project_from_import(imported, "cnn")
    project.dataset = dict(DATASET)
    job = TrainingJob.from_project(project)
    assert job.initial_weights == project.attachments[INITIAL_WEIGHTS]
    in_folder = job.to_json(tmp_path)
    assert Path(in_folder["initial_weights"]).parent == tmp_path and "initial_weights_base64" not in in_folder
    inline = job.to_json()
    assert "initial_weights" not in inline
    for data in (in_folder, inline):
        assert TrainingJob.from_json(data).initial_weights == job.initial_weights
