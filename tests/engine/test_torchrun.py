"""`layerloom train` under torchrun on two local "nodes" of two processes each (gloo) trains exactly as one
process does at the same global batch: the same shuffled order split across ranks, the same seeded
weights, gradients averaged by DistributedDataParallel, validation over the whole split on every rank."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.train import TrainingJob, TrainingSettings
from engine.train.distributed import DEFAULT_TIMEOUT_S, TIMEOUT_VARIABLE, free_port, group_timeout
from engine.train.session import run_job

ROOT = Path(__file__).resolve().parents[2]
NODES, PER_NODE, PER_PROCESS_BATCH = 2, 2, 8
WORLD = NODES * PER_NODE
NODES_TIMEOUT_S = 240  # both nodes, start to exit; a hang is killed and fails the test, never blocks the suite


def spirals_project(folder: Path, batch_size: int) -> Path:
    # 400 samples, 80 held out: 320 to train on, a whole number of global batches of 32
    settings = TrainingSettings.from_json({"epochs": 3, "batch_size": batch_size, "cpu_threads": 1, "device": "cpu",
                                           "seed": 3, "optimizer": {"kind": "adam", "lr": 0.01},
                                           "telemetry": {"enabled": False}})
    dataset = DatasetConfig("spirals", {"n_samples": 400}, val_fraction=0.2, test_fraction=0.0)
    project = Project(mlp_document(), "torchrun", dataset.to_json(), settings.to_json())
    return save_project(project, folder / "spirals.loom", keep_backup=False)


def torchrun_node(path: Path, node_rank: int, port: int, log: Path) -> subprocess.Popen[bytes]:
    # a collective that waits on a rank that died or hangs fails within the test's own timeout
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", TIMEOUT_VARIABLE: "120"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(NODES),
               "--nproc-per-node", str(PER_NODE), "--node-rank", str(node_rank), "--master-addr", "127.0.0.1",
               "--master-port", str(port), "-m", "engine.cli", "train", str(path),
               "--batch-size", str(PER_PROCESS_BATCH), "--run-id", "multi-node"]
    # Output goes to a file, not a pipe: a pipe left unread while the test waits on the other node could
    # fill and stall that node. A session of its own, so a node that hangs is ended with every worker.
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def run_nodes(path: Path, folder: Path) -> tuple[list[int | None], list[str], str]:
    """Both nodes to the end, or killed (each with its whole session) once NODES_TIMEOUT_S have passed: their
    exit codes (None: killed), their logs, and both logs together for a failure message."""
    port = free_port()
    logs = [folder / f"node{rank}.log" for rank in range(NODES)]
    nodes: list[subprocess.Popen[bytes]] = []
    deadline = time.monotonic() + NODES_TIMEOUT_S
    killed: set[int] = set()
    try:
        nodes += [torchrun_node(path, rank, port, logs[rank]) for rank in range(NODES)]
        for node in nodes:
            node.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if any(node.poll() is None for node in nodes):
            for rank, node in enumerate(nodes):  # every session: a node's workers may outlive its torchrun
                if node.poll() is None:
                    killed.add(rank)
                with suppress(ProcessLookupError):
                    os.killpg(node.pid, signal.SIGKILL)
        for node in nodes:
            node.wait()  # reaps it
    codes = [None if rank in killed else node.returncode for rank, node in enumerate(nodes)]
    texts = [log.read_text(errors="replace") for log in logs]
    ends = [f"killed after {NODES_TIMEOUT_S} s" if code is None else f"exit {code}" for code in codes]
    report = "\n\n".join(f"---- node {rank}: {end} ----\n{text}" for rank, (end, text) in enumerate(zip(ends, texts)))
    return codes, texts, report


@pytest.mark.multinode
def test_two_torchrun_nodes_of_two_processes_match_one_process_at_the_same_global_batch(tmp_path):
    multi = spirals_project(tmp_path, PER_PROCESS_BATCH)
    codes, logs, report = run_nodes(multi, tmp_path)
    assert codes == [0, 0], report
    # every rank ran 320 / (4 * 8) = 10 steps an epoch: the four processes formed one world
    assert "10 steps (batch size 8)" in logs[0] and "saved run multi-node" in logs[0], report

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


@pytest.mark.parametrize(("value", "seconds"), [(None, DEFAULT_TIMEOUT_S), ("45", 45.0), ("0", 1.0),
                                                ("soon", DEFAULT_TIMEOUT_S), ("inf", DEFAULT_TIMEOUT_S)])
def test_a_rank_waits_for_the_others_a_bounded_time(monkeypatch, value, seconds):
    if value is None:
        monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(TIMEOUT_VARIABLE, value)
    assert group_timeout().total_seconds() == seconds
