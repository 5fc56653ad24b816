"""Runs saved inside a project: add, list, reopen, load weights (safetensors only), delete."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch

from engine.build import build_module
from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.runs import (
    RunError,
    RunRecord,
    add_run,
    delete_run,
    get_run,
    list_runs,
    load_run_weights,
    new_run_id,
)
from engine.train import TrainingJob, TrainingSettings, run_job


@pytest.fixture(scope="module")
def trained():
    doc = mlp_document()
    settings = TrainingSettings(epochs=4, cpu_threads=1)
    settings.optimizer.lr = 0.01
    job = TrainingJob(doc, DatasetConfig("spirals", {"n_samples": 300}), settings, "run-1")
    result = run_job(job, lambda m: None)
    assert result.status == "completed"
    return doc, settings, result


def make_project(doc, settings) -> Project:
    return Project(doc, "spirals", DatasetConfig("spirals", {"n_samples": 300}).to_json(), settings.to_json())


def test_a_run_is_saved_and_listed_after_reopening(trained, tmp_path):
    doc, settings, result = trained
    project = make_project(doc, settings)
    assert new_run_id(project) == "run-1"
    add_run(project, result.record)
    assert new_run_id(project) == "run-2"
    assert {n for n in project.attachments if n.startswith("runs/run-1/")} == {
        f"runs/run-1/{f}" for f in ("run.json", "settings.json", "network.json", "metrics.json",
                                    "best.safetensors", "last.safetensors",
                                    *(f"epoch-{n}.safetensors" for n in range(1, 5)))}  # keep_epoch_weights 5
    path = save_project(project, tmp_path / "p.loom")
    reopened = load_project(path)
    [summary] = list_runs(reopened)
    assert summary.run_id == "run-1" and summary.status == "completed" and summary.epochs == 4
    assert summary.settings == settings.to_json()
    assert summary.best["val_accuracy"] == result.record.best["val_accuracy"] and summary.test
    record = get_run(reopened, "run-1")
    assert [e["train"]["loss"] for e in record.epochs] == [e["train"]["loss"] for e in result.record.epochs]
    assert record.network == result.record.network and record.network["nodes"][0]["id"] == "input"
    assert record.steps and set(record.steps[0]) >= {"step", "epoch", "loss", "lr", "samples_per_s"}
    assert record.dataset_summary["name"] == "Spirals" and record.parameter_count > 0
    assert record.confusion and sum(map(sum, record.confusion)) == record.dataset_summary["sizes"]["test"]


def test_weights_are_safetensors_keyed_by_node_id_and_reproduce_the_network(trained, monkeypatch):
    doc, settings, result = trained
    project = make_project(doc, settings)
    add_run(project, result.record)

    def forbidden(*args, **kwargs):
        raise AssertionError("weights must never be unpickled")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    best = load_run_weights(project, "run-1", "best")
    last = load_run_weights(project, "run-1", "last")
    assert set(best) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"}
    raw = project.attachments["runs/run-1/last.safetensors"]
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])  # the safetensors layout: JSON header
    assert header["fc1.weight"]["shape"] == [64, 2]
    module = build_module(doc)
    module.load_state_dict(last)
    x = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.allclose(module.eval()(x), result.trainer.module.eval()(x))


def test_delete_and_errors(trained):
    doc, settings, result = trained
    project = make_project(doc, settings)
    add_run(project, result.record)
    second = RunRecord.from_files(result.record.to_files(), "run-2")
    add_run(project, second)
    assert [r.run_id for r in list_runs(project)] == ["run-1", "run-2"]
    delete_run(project, "run-1")
    assert [r.run_id for r in list_runs(project)] == ["run-2"]
    assert not any(n.startswith("runs/run-1/") for n in project.attachments)
    with pytest.raises(RunError, match="no run 'run-1'"):
        delete_run(project, "run-1")
    with pytest.raises(RunError, match="no run"):
        load_run_weights(project, "run-1")
    with pytest.raises(RunError, match="'best' or 'last'"):
        load_run_weights(project, "run-2", "middle")
    with pytest.raises(RunError, match="run id"):
        add_run(project, RunRecord("../escape"))


def test_a_record_written_to_a_folder_reads_back(trained, tmp_path):
    record = trained[2].record
    record.write_dir(tmp_path / "out")
    again = RunRecord.read_dir(tmp_path / "out")
    assert again.to_files() == record.to_files()


def test_listing_runs_does_not_load_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom engine.runs import list_runs\nfrom engine.project import load_project\n"
            "from engine.resources import example_path\nlist_runs(load_project(example_path('lenet5')))\n"
            "assert 'torch' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
