"""The warm worker: spawned ahead of time, torch imported before the job arrives, the job runs in it.

No wall-clock bounds here (the machine is shared): the figures are in `layerloom bench --only
train_start`. These tests check that the warm path is the one taken.
"""

from __future__ import annotations

import json

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project
from engine.runner import Worker
from engine.runs import RUN_FILES, RunRecord, attach_run_files, get_run, list_runs
from engine.train import TrainingSettings


def _job() -> tuple:
    return mlp_document(), DatasetConfig("spirals", {"n_samples": 200}), TrainingSettings(epochs=2, cpu_threads=1)


def test_a_warm_worker_has_torch_loaded_before_its_job_and_runs_it_in_the_same_process():
    worker = Worker.spawn()
    try:
        assert worker.wait_ready(180), "the worker never said it was ready"
        ready = worker.ready_message
        assert ready["torch_loaded"] is True and ready["pid"] == worker.pid
        handle = worker.start(_job(), run_id="warm-1")
        assert handle.pid == worker.pid and handle.worker_ready is ready  # no new process for the job
        messages = handle.wait(180)
        assert messages[0]["type"] == "run_started" and handle.finished["status"] == "completed"
        assert all(m["type"] != "worker_ready" for m in messages)
        files = handle.run_files()
        kept_epochs = {name for name in files if name.startswith("epoch-")}  # weights to fork from
        assert kept_epochs == {"epoch-1.safetensors", "epoch-2.safetensors"}
        assert set(files) - kept_epochs == set(RUN_FILES)
        assert json.loads(files["run.json"])["status"] == "completed"
        project = Project(mlp_document())
        attach_run_files(project, "warm-1", files)  # the bytes as written: nothing re-encoded
        assert project.attachments["runs/warm-1/best.safetensors"] == files["best.safetensors"]
        assert [r.run_id for r in list_runs(project)] == ["warm-1"]
        assert get_run(project, "warm-1").to_files()["best.safetensors"] == files["best.safetensors"]
        handle.close()
        assert not handle.alive
    finally:
        worker.close()


def test_an_unused_warm_worker_ends_cleanly_when_closed():
    worker = Worker.spawn()
    worker.wait_ready(180)
    worker.close(timeout=30)
    assert not worker.alive and worker.process.exitcode == 0  # it left on its own, not killed


def test_a_job_sent_before_the_worker_is_warm_still_runs_there():
    worker = Worker.spawn()
    handle = worker.start(_job(), run_id="cold-1")  # at once: the job waits in the pipe until torch is in
    try:
        handle.wait(180)
        assert handle.finished["status"] == "completed" and handle.pid == worker.pid
        assert handle.worker_ready is not None and handle.worker_ready["torch_loaded"]
        assert isinstance(handle.record(), RunRecord)
    finally:
        handle.close()
