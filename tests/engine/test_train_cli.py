"""`layerloom train FILE` in a subprocess: progress, final metrics, the run saved, exit codes, --nproc 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.runs import list_runs, load_run_weights
from engine.train import TrainingSettings

ROOT = Path(__file__).resolve().parents[2]


def project_file(folder: Path, **changes) -> Path:
    data = {"epochs": 6, "cpu_threads": 1, "optimizer": {"lr": 0.01}, **changes}
    settings = TrainingSettings.from_json(data)
    project = Project(mlp_document(), "cli", DatasetConfig("spirals", {"n_samples": 400}).to_json(),
                      settings.to_json())
    return save_project(project, folder / "spirals.loom")


def layerloom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def test_train_prints_progress_and_metrics_and_saves_the_run(tmp_path):
    path = project_file(tmp_path)
    proc = layerloom("train", str(path), "--epochs", "4", "--batch-size", "32", "--lr", "0.02",
                     "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 4 and "samples/s" in lines[0] and "left" in lines[0]  # one line per epoch off a TTY
    assert "\r" not in proc.stderr
    out = proc.stdout
    assert "run run-1: completed after 4 epoch(s)" in out
    for label in ("train ", "validation ", "test "):
        assert label in out and "accuracy" in out
    assert f"saved run run-1 into {path}" in out
    project = load_project(path)
    [run] = list_runs(project)
    assert run.run_id == "run-1" and run.epochs == 4 and run.status == "completed"
    assert run.settings["batch_size"] == 32 and run.settings["optimizer"]["lr"] == 0.02
    assert "fc1.weight" in load_run_weights(project, "run-1")
    assert path.with_name("spirals.loom.bak").exists()  # the atomic save kept the previous file


def test_settings_problems_exit_2_and_divergence_exits_1(tmp_path):
    bad = layerloom("train", str(project_file(tmp_path)), "--lr", "-1")
    assert bad.returncode == 2 and "Learning rate (optimizer.lr) must be above 0, got -1" in bad.stderr
    assert not list_runs(load_project(tmp_path / "spirals.loom"))
    diverging = project_file(tmp_path, optimizer={"kind": "sgd", "lr": 1e12, "momentum": 0.0})
    proc = layerloom("train", str(diverging))
    assert proc.returncode == 1 and "NaN or infinite" in proc.stderr
    missing = layerloom("train", str(tmp_path / "nowhere.loom"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_two_processes_train_data_parallel_and_the_loss_falls(tmp_path):
    path = project_file(tmp_path, epochs=5)
    proc = layerloom("train", str(path), "--nproc", "2", timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "saved run run-1" in proc.stdout
    record_epochs = load_project(path).attachments["runs/run-1/metrics.json"]
    import json

    epochs = json.loads(record_epochs)["epochs"]
    assert len(epochs) == 5 and epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"]
    assert epochs[-1]["val"]["loss"] < epochs[0]["val"]["loss"]
    assert "training 4,482 parameters on cpu" in proc.stderr


def test_on_a_terminal_the_progress_line_is_redrawn(monkeypatch):
    import io

    from engine.train import TrainingJob, run_job
    from engine.train.progress import ProgressPrinter

    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 0.0)
    stream = io.StringIO()
    settings = TrainingSettings.from_json({"epochs": 2, "cpu_threads": 1})
    job = TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 300}), settings)
    run_job(job, lambda m: None, callbacks=[ProgressPrinter(stream, live=True)])
    text = stream.getvalue()
    assert "\repoch 1/2 [" in text and "#" in text and "samples/s" in text and " left" in text
    assert text.count("\n") == 3  # the header and one kept line per epoch
