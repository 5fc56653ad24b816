"""The studio keeps one worker warm: Train hands the job to a process that already has torch loaded.

No wall-clock bounds (the machine is shared): `layerloom bench --only train_start` reports the
press-to-first-step latency warm and cold. Here: the warm process is the one that trains, the
files of the finished run reach the controller as bytes, a fresh spare is prepared, and closing
ends every worker.
"""

from __future__ import annotations

from engine.data import DatasetConfig
from engine.train import TrainingJob, TrainingSettings
from engine.train.networks import mlp_document
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
        # Let it finish importing torch: a worker still importing notices the closed pipe only afterwards,
        # which on a loaded machine can outlast close()'s grace period and end in a (correct) forced kill.
        qtbot.waitUntil(fresh.poll_ready, timeout=180_000)
    finally:
        controller.shutdown()
    assert controller.spare is None and not spare.alive
    assert not fresh.alive  # closing the studio ends the spare too (at once if it was still loading torch)
