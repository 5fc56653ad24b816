"""The studio keeps one worker warm: Train hands the job to a process that already has torch loaded.

No wall-clock bounds (the machine is shared): `layerloom bench --only train_start` reports the
press-to-first-step latency warm and cold. Here: the warm process is the one that trains, the
files of the finished run reach the controller as bytes, a fresh spare is prepared, and closing
ends every worker.
"""

from __future__ import annotations

from test_training_support import small_example

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.train import TrainingJob, TrainingSettings
from studio.run_controller import RunController


def test_train_uses_the_warm_worker_then_prepares_a_fresh_one_and_shutdown_ends_both(qapp, qtbot):
    controller = RunController()
    controller.warm_workers = True
    try:
        controller.prepare_worker()
        spare = controller.spare
        assert spare is not None
        qtbot.waitUntil(spare.poll_ready, timeout=180_000)
        assert spare.ready_message["torch_loaded"]
        files: list[tuple[str, dict[str, bytes]]] = []
        steps: list[object] = []
        controller.run_files_read.connect(lambda run_id, f: files.append((run_id, f)))
        controller.steps_arrived.connect(steps.append)
        job = TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 200}),
                          TrainingSettings(epochs=2, cpu_threads=1))
        controller.start(job, "run-1")
        assert controller.handle.pid == spare.pid and spare.used  # the warm process took the job
        assert controller.spare is None
        qtbot.waitUntil(lambda: bool(files), timeout=180_000)
        assert steps, "no step metric arrived"
        run_id, run_files = files[0]
        assert run_id == "run-1" and {"run.json", "best.safetensors", "metrics.json"} <= set(run_files)
        fresh = controller.spare
        assert fresh is not None and fresh is not spare and fresh.pid != spare.pid  # the next run is warm too
        qtbot.waitUntil(lambda: controller.handle is None, timeout=30_000)
    finally:
        controller.shutdown()
    assert controller.spare is None and not spare.alive
    assert not fresh.alive  # closing the studio ends the spare too (at once if it was still loading torch)


def test_pressing_train_in_the_window_hands_the_job_to_the_warm_worker(window, qtbot):
    """What `studio.app` does after start-up, then Train on a bundled example, as a person presses it."""
    training = window.training
    window.open_project(small_example("mlp_spirals", samples=300, epochs=50))
    try:
        training.keep_worker_warm()
        spare = training.runs.spare
        qtbot.waitUntil(spare.poll_ready, timeout=180_000)
        steps: list[object] = []
        training.runs.steps_arrived.connect(steps.append)
        training.actions.all["train"].trigger()
        assert training.runs.active and training.runs.handle.pid == spare.pid  # no process spawned on the press
        qtbot.waitUntil(lambda: bool(steps), timeout=60_000)
        assert "Epoch" in training.runs.progress.text()
        training.runs.stop()
        qtbot.waitUntil(lambda: not training.runs.active, timeout=60_000)
        fresh = training.runs.spare
        assert fresh is not None and fresh.pid != spare.pid
    finally:
        training.shutdown()
    assert training.runs.spare is None and not fresh.alive
