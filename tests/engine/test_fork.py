"""Forking a run: epoch weights kept (bounded), a fork of an edited network carries every matching weight
bit for bit, reports what it could not carry and is linked to its parent; hostile run folders stay safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load as load_safetensors

from engine.examples import EXAMPLE_BUILDERS
from engine.project import Project, load_project, save_project
from engine.runs import RunRecord, add_run, get_run, list_runs, read_run_files
from engine.train.callbacks import Callback
from engine.train.fork import ForkError, available_epochs, fork_job
from engine.train.job import TrainingJob
from engine.train.session import run_job


def spirals(epochs: int = 3, keep: int = 5) -> Project:
    project = EXAMPLE_BUILDERS["mlp_spirals"]()
    project.dataset["params"]["n_samples"] = 300
    project.training.update(epochs=epochs, cpu_threads=1, keep_epoch_weights=keep, telemetry={"enabled": False})
    return project


class StartingWeights(Callback):
    """The network's weights as the run starts (after any carrying, before the first step)."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}

    def on_run_start(self, trainer) -> None:
        self.state = {k: v.detach().clone() for k, v in trainer.module.state_dict().items()}


def train_into(project: Project, run_id: str, job: TrainingJob | None = None,
               callbacks: list[Callback] = ()) -> tuple[RunRecord, list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    result = run_job(job or TrainingJob.from_project(project, run_id), messages.append, callbacks=callbacks)
    assert result.status == "completed", result.failure
    add_run(project, result.record)
    return result.record, messages


def node_id(project: Project, name: str) -> str:
    return next(n.id for n in project.network.nodes.values() if n.name == name)


def test_a_run_keeps_its_epoch_weights_and_a_fork_with_a_widened_layer_carries_the_rest_bit_for_bit(tmp_path):
    project = spirals()
    parent, _ = train_into(project, "run-1")
    assert sorted(parent.epoch_weights) == [1, 2, 3]
    assert available_epochs(project, "run-1") == ["1", "2", "3", "best", "last"]
    epoch2 = load_safetensors(parent.epoch_weights[2])
    assert not torch.equal(epoch2["hidden2.weight"], load_safetensors(parent.weights["last"])["hidden2.weight"])

    hidden1 = node_id(project, "hidden1")
    project.network.set_param(hidden1, "out_features", 96)  # widened: hidden1 and what reads it change shape
    start = StartingWeights()
    job = fork_job(project, "run-1", "2", "run-2", tmp_path)
    assert job.document.nodes[hidden1].params["out_features"] == 96  # the CURRENT (edited) network
    child, messages = train_into(project, "run-2", job, [start])

    changed = {"hidden1.weight", "hidden1.bias", "hidden2.weight"}
    assert set(start.state) - changed == set(epoch2) - changed
    for key in set(epoch2) - changed:
        assert torch.equal(start.state[key], epoch2[key]), key  # carried bit for bit
    assert start.state["hidden1.weight"].shape == (96, 2)
    (carried,) = [m for m in messages if m["type"] == "weights_carried"]
    assert {r["key"] for r in carried["reshaped"]} == changed and carried["new"] == [] and carried["dropped"] == []
    assert {"key": "hidden1.weight", "parent_shape": [64, 2], "shape": [96, 2]} in carried["reshaped"]
    assert (carried["parent"], carried["epoch"]) == ("run-1", "2")
    log = [m["text"] for m in messages if m["type"] == "log"]
    assert "forked from run-1 at epoch 2: 3 of 6 weight tensors carried" in log
    assert "not carried, shape changed: hidden1.weight 64×2 -> 96×2 (freshly initialised)" in log

    # the link to the parent is in the record, survives a save and shows in the run list
    assert child.parent["run_id"] == "run-1" and child.parent["epoch"] == "2" and child.parent["carried"] == 3
    path = save_project(project, tmp_path / "forked.loom")
    reopened = load_project(path)
    assert get_run(reopened, "run-2").parent == child.parent
    assert [s.parent["run_id"] if s.parent else None for s in list_runs(reopened)] == [None, "run-1"]
    assert available_epochs(reopened, "run-2") == ["1", "2", "3", "best", "last"]


def test_a_fork_reports_new_and_removed_nodes_and_refuses_what_it_cannot_find(tmp_path):
    project = spirals(epochs=1)
    train_into(project, "run-1")
    doc = project.network
    logits, relu2 = node_id(project, "logits"), node_id(project, "relu2")
    # a new Linear between relu2 and logits; the old logits (its input width unchanged) carries
    (edge,) = [e for e in doc.edges if e.source == relu2 and e.target == logits]
    doc.disconnect(edge)
    extra = doc.add_node("Linear", name="extra", params={"out_features": 64}).id
    doc.connect(relu2, "out", extra, "in")
    doc.connect(extra, "out", logits, "in")
    job = fork_job(project, "run-1", "best", "run-2", tmp_path)
    _, messages = train_into(project, "run-2", job)
    (carried,) = [m for m in messages if m["type"] == "weights_carried"]
    assert carried["new"] == [f"{extra}.weight", f"{extra}.bias"] and carried["reshaped"] == []
    assert "not carried, new in this network: extra (freshly initialised)" in \
        [m["text"] for m in messages if m["type"] == "log"]
    with pytest.raises(ForkError, match="keeps no epoch 7 weights"):
        fork_job(project, "run-1", "7", "run-3", tmp_path)
    with pytest.raises(ForkError, match="no run 'run-9'"):
        fork_job(project, "run-9", "last", "run-3", tmp_path)
    with pytest.raises(ForkError, match="an epoch is"):
        fork_job(project, "run-1", "../x", "run-3", tmp_path)


def test_epoch_weights_are_bounded_and_spread_over_a_long_run():
    project = spirals(epochs=8, keep=3)
    record, _ = train_into(project, "run-1")
    # 1, 2, 3 kept; the 4th halves them to 2, 4; then 6; the 8th halves again to 4, 8
    assert sorted(record.epoch_weights) == [4, 8]
    project = spirals(epochs=2, keep=0)
    record, _ = train_into(project, "run-1")
    assert record.epoch_weights == {} and set(record.weights) == {"best", "last"}


def test_a_run_folder_reads_only_well_named_epoch_files(tmp_path: Path):
    RunRecord("r", status="completed", epoch_weights={1: b"one", 12: b"twelve"}).write_dir(tmp_path)
    (tmp_path / "epoch-../../x.safetensors".replace("/", "_")).write_bytes(b"no")
    (tmp_path / "epoch-0.safetensors").write_bytes(b"no")
    (tmp_path / "epoch-1x.safetensors").write_bytes(b"no")
    files = read_run_files(tmp_path)
    assert sorted(n for n in files if n.startswith("epoch")) == ["epoch-1.safetensors", "epoch-12.safetensors"]
    assert RunRecord.from_files(files).epoch_weights == {1: b"one", 12: b"twelve"}


def test_the_command_line_forks_a_saved_run_into_the_edited_network(tmp_path, capsys):
    from engine.cli import main

    project = spirals(epochs=2)
    path = save_project(project, tmp_path / "spirals.loom")
    assert main(["train", str(path)]) == 0
    edited = load_project(path)
    edited.network.set_param(node_id(edited, "hidden2"), "out_features", 32)
    save_project(edited, path)
    capsys.readouterr()
    assert main(["train", str(path), "--fork", "run-1@1", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "forked from run-1 at epoch 1: 3 of 6 weight tensors carried" in err
    assert "not carried, shape changed: hidden2.weight 64×64 -> 32×64 (freshly initialised)" in err
    assert "logits.weight 2×64 -> 2×32" in err
    assert get_run(load_project(path), "run-2").parent["run_id"] == "run-1"
    assert main(["train", str(path), "--fork", "run-1@9"]) == 2
    assert "keeps no epoch 9 weights" in capsys.readouterr().err
