"""`layerloom train` under torchrun on two local "nodes" of two processes each (gloo) trains exactly as one
process does at the same global batch: the same shuffled order split across ranks, the same seeded
weights, gradients averaged by DistributedDataParallel, validation over the whole split on every rank."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.train import TrainingJob, TrainingSettings
from engine.train.distributed import free_port
from engine.train.session import run_job

ROOT = Path(__file__).resolve().parents[2]
NODES, PER_NODE, PER_PROCESS_BATCH = 2, 2, 8
WORLD = NODES * PER_NODE


def spirals_project(folder: Path, batch_size: int) -> Path:
    # 400 samples, 80 held out: 320 to train on, a whole number of global batches of 32
    settings = TrainingSettings.from_json({"epochs": 3, "batch_size": batch_size, "cpu_threads": 1, "device": "cpu",
                                           "seed": 3, "optimizer": {"kind": "adam", "lr": 0.01},
                                           "telemetry": {"enabled": False}})
    dataset = DatasetConfig("spirals", {"n_samples": 400}, val_fraction=0.2, test_fraction=0.0)
    project = Project(mlp_document(), "torchrun", dataset.to_json(), settings.to_json())
    return save_project(project, folder / "spirals.loom", keep_backup=False)


def torchrun_node(path: Path, node_rank: int, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(NODES),
               "--nproc-per-node", str(PER_NODE), "--node-rank", str(node_rank), "--master-addr", "127.0.0.1",
               "--master-port", str(port), "-m", "engine.cli", "train", str(path),
               "--batch-size", str(PER_PROCESS_BATCH), "--run-id", "multi-node"]
    # a session of its own, so a node that hangs is ended with every worker it started
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


@pytest.mark.multinode
def test_two_torchrun_nodes_of_two_processes_match_one_process_at_the_same_global_batch(tmp_path):
    multi = spirals_project(tmp_path, PER_PROCESS_BATCH)
    port = free_port()
    nodes = [torchrun_node(multi, rank, port) for rank in range(NODES)]
    try:
        logs = [node.communicate(timeout=240)[0] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
            node.communicate()  # reaps it and closes its pipe
    assert [node.returncode for node in nodes] == [0, 0], "\n\n".join(logs)
    # every rank ran 320 / (4 * 8) = 10 steps an epoch: the four processes formed one world
    assert "10 steps (batch size 8)" in logs[0] and "saved run multi-node" in logs[0]

    (tmp_path / "single").mkdir()
    single = load_project(spirals_project(tmp_path / "single", PER_PROCESS_BATCH * WORLD))
    result = run_job(TrainingJob.from_project(single, "single"), lambda message: None)
    assert result.status == "completed"

    epochs = json.loads(load_project(multi).attachments["runs/multi-node/metrics.json"])["epochs"]
    assert len(epochs) == len(result.record.epochs) == 3
    for distributed, alone in zip(epochs, result.record.epochs):
        for split in ("train", "val"):
            assert distributed[split]["loss"] == pytest.approx(alone[split]["loss"], abs=1e-5), (split, epochs)
            assert distributed[split]["accuracy"] == pytest.approx(alone[split]["accuracy"], abs=1e-9)
    assert epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"]  # it trained, alike
