"""RunController: a scripted run's messages come out coalesced, as typed signals, once per tick."""

from __future__ import annotations

import numpy as np
import pytest
from test_training_support import (
    ScriptedRun,
    confusion,
    epoch,
    feature_maps,
    finished,
    message,
    started,
    stats,
    step,
)

from studio.run_controller import RunController, RunProgress


@pytest.fixture
def controller(qapp):
    c = RunController()
    yield c
    c.shutdown()


def record(controller: RunController) -> dict[str, list]:
    seen: dict[str, list] = {}
    for name in ("state_changed", "run_started", "steps_arrived", "epochs_arrived", "logs_arrived",
                 "feature_maps_arrived", "grad_stats_arrived", "weight_stats_arrived", "confusion_arrived",
                 "error_arrived", "progress_changed", "tick_finished"):
        seen[name] = []
        getattr(controller, name).connect(lambda *args, n=name: seen[n].append(args))
    controller.run_finished.connect(lambda m: seen.setdefault("run_finished", []).append(m))
    return seen


def test_one_tick_coalesces_scalars_into_batches_and_pictures_into_the_latest_per_node(controller):
    rng = np.random.default_rng(0)
    old, new = feature_maps("conv1", 1, rng, 4, 8), feature_maps("conv1", 2, rng, 4, 8)
    run = ScriptedRun([[started(), step(0), step(1), step(2), old, new, feature_maps("relu1", 2, rng, 2, 8),
                        stats("grad_stats", "fc1", 1, rng), stats("grad_stats", "fc1", 2, rng),
                        epoch(0), confusion(0, rng), confusion(1, rng)]])
    seen = record(controller)
    controller.attach(run, "scripted")
    controller.tick()
    assert [len(batch) for (batch,) in seen["steps_arrived"]] == [3]
    (maps,) = seen["feature_maps_arrived"][0]
    assert set(maps) == {"conv1", "relu1"} and maps["conv1"].maps is new["maps"]  # the latest, not copied
    assert seen["grad_stats_arrived"][0][0]["fc1"].step == 2
    assert len(seen["confusion_arrived"]) == 1 and seen["confusion_arrived"][0][0].epoch == 1
    assert len(seen["tick_finished"]) == 1
    assert controller.state == "running"
    assert [s for (s,) in seen["state_changed"]] == ["starting", "running"]


def test_progress_gives_epoch_step_and_time_left(controller):
    run = ScriptedRun([[started(epochs=4, steps=10)], [step(4)], [step(14)]])
    controller.attach(run, "scripted")
    for _ in range(3):
        controller.tick()
    p = controller.progress
    assert (p.epoch, p.epochs, p.epoch_step, p.steps_per_epoch) == (1, 4, 5, 10)
    assert p.fraction == pytest.approx(1.5 / 4)
    assert p.eta_s is not None and p.eta_s >= 0
    assert p.text().startswith("Epoch 2/4 · step 5/10 · ") and p.text().endswith("left")
    assert RunProgress().text() == "starting…"


def test_status_messages_drive_the_state_and_commands_reach_the_client(controller):
    run = ScriptedRun([[started()], [message("status", state="paused")], [message("status", state="running")]])
    controller.attach(run, "scripted")
    controller.tick()
    controller.pause()
    controller.tick()
    assert controller.state == "paused"
    controller.pause()  # not running: ignored
    controller.resume()
    controller.tick()
    assert controller.state == "running"
    controller.set_probes(["relu1"])
    controller.set_probes(["relu1"])  # unchanged: not sent again
    controller.stop()
    assert controller.state == "stopping"
    assert run.commands == [("pause", None), ("resume", None), ("set_probes", ["relu1"]), ("stop", None)]


def test_a_dead_worker_is_an_error_then_a_failed_finish_and_the_client_is_closed(controller):
    died = message("error", message="the training process was killed by signal 9", kind="worker_died", node_id=None)
    run = ScriptedRun([[started()], [died, finished("failed", 0)]])
    seen = record(controller)
    controller.attach(run, "scripted")
    controller.tick()
    controller.tick()
    assert seen["error_arrived"][0][0].kind == "worker_died"
    [message_] = seen["run_finished"]
    assert message_.status == "failed"
    assert controller.state == "idle" and not controller.active
    assert run.closed and controller.handle is None


def test_attach_refuses_a_second_run_and_shutdown_closes_the_first(controller):
    run = ScriptedRun([[started()]])
    controller.attach(run, "one")
    with pytest.raises(RuntimeError):
        controller.attach(ScriptedRun([]), "two")
    controller.shutdown()
    assert run.closed and controller.state == "idle"


def test_the_timer_drains_about_thirty_times_a_second(controller, qtbot):
    run = ScriptedRun([[started()]] + [[step(i)] for i in range(5)])
    controller.attach(run, "scripted")
    qtbot.waitUntil(lambda: len(controller.tick_ms) >= 6, timeout=2000)
    assert controller._timer.interval() == 33
