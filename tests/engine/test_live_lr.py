"""Setting the learning rate while a run trains: through the control channel, from the next step on, with
the schedule carrying on from it, recorded in the run, and through a real spawned worker."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
import torch

from engine.examples import EXAMPLE_BUILDERS
from engine.runner import RunHandle
from engine.train.callbacks import Callback
from engine.train.control import QueueCommands
from engine.train.job import TrainingJob
from engine.train.optim import LRSchedule
from engine.train.session import run_job
from engine.train.settings import ScheduleSettings


def spirals_job(epochs: int, samples: int = 400, **training: Any) -> TrainingJob:
    project = EXAMPLE_BUILDERS["mlp_spirals"]()
    project.dataset["params"]["n_samples"] = samples
    project.training.update(epochs=epochs, cpu_threads=1, **training)
    return TrainingJob.from_project(project, run_id="live")


class RatesUsed(Callback):
    """The optimiser's rate of every step (read right after the step), and a set_lr sent after step 20."""

    def __init__(self, commands: QueueCommands, lr: float) -> None:
        self.commands, self.lr, self.used = commands, lr, {}

    def on_step_end(self, trainer) -> None:
        self.used[trainer.step] = trainer.setup.optimizer.param_groups[0]["lr"]
        if trainer.step == 20:
            self.commands.put({"cmd": "set_lr", "lr": self.lr})


def test_a_rate_set_while_training_holds_from_the_next_step_and_is_recorded():
    commands = QueueCommands()
    spy = RatesUsed(commands, 0.05)
    messages: list[dict[str, Any]] = []
    result = run_job(spirals_job(40), messages.append, commands, callbacks=[spy])
    assert result.status == "completed"
    (change,) = result.record.lr_changes
    at = change["step"]
    assert at >= 20 and change["lr"] == 0.05 and change["previous"] == 0.01
    assert all(lr == 0.01 for step, lr in spy.used.items() if step <= at)
    assert all(lr == 0.05 for step, lr in spy.used.items() if step > at) and max(spy.used) > at
    (message,) = [m for m in messages if m["type"] == "lr_changed"]
    assert message["applied"] == [0.05] and message["step"] == at
    assert 0.0 <= message["epoch_fraction"] <= 1.0
    points = result.record.steps
    assert all(p["lr"] == (0.05 if p["step"] > at else 0.01) for p in points)
    assert result.record.epochs[-1]["lr"] == 0.05
    assert any("learning rate set to 0.05 (was 0.01)" in m.get("text", "") for m in messages)


def test_a_rate_that_is_not_a_positive_number_is_refused_and_training_goes_on():
    commands = QueueCommands()
    for bad in (-1.0, 0, "fast", math.inf, True):
        commands.put({"cmd": "set_lr", "lr": bad})
    messages: list[dict[str, Any]] = []
    result = run_job(spirals_job(2), messages.append, commands)
    assert result.status == "completed" and result.record.lr_changes == []
    assert len([m for m in messages if m["type"] == "log" and "refused" in m["text"]]) == 5


@pytest.mark.parametrize("kind", ["cosine", "step", "one_cycle", "reduce_on_plateau"])
def test_the_schedule_carries_on_from_a_rate_set_by_hand(kind):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = ScheduleSettings(kind=kind, step_size=2, gamma=0.5, warmup_epochs=1 if kind != "one_cycle" else 0)
    schedule = LRSchedule(optimizer, 0.1, sched, epochs=10, steps_per_epoch=10)
    plain = [schedule.rate(i) for i in range(100)]
    schedule.set_rate(0.3, 40)
    assert optimizer.param_groups[0]["lr"] == 0.3 and schedule.lr == 0.3
    factor = 0.3 / plain[40]
    for step in range(40, 100):  # the same shape from there on, scaled
        assert schedule.rate(step) == pytest.approx(plain[step] * factor)
    schedule.before_step(41)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(plain[41] * factor)


def test_a_live_rate_change_through_a_real_worker_process(tmp_path):
    handle = RunHandle.start(spirals_job(400, samples=1000, telemetry={"enabled": True}), run_id="live",
                             out_dir=tmp_path / "run")
    try:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        while not any(m["type"] == "step" for m in messages) and time.monotonic() < deadline:
            messages += handle.poll()
            time.sleep(0.02)
        handle.set_lr(0.002)
        def stepped_after_change() -> bool:
            changes = [m["step"] for m in messages if m["type"] == "lr_changed"]
            return bool(changes) and any(m["type"] == "step" and m["step"] > changes[0] for m in messages)

        while not stepped_after_change() and time.monotonic() < deadline:
            messages += handle.poll()
            time.sleep(0.02)
        handle.stop()
        messages += handle.wait(60)
        assert handle.finished is not None and handle.finished["status"] == "stopped"
        (change,) = [m for m in messages if m["type"] == "lr_changed"]
        assert change["applied"] == [0.002] and change["previous"] == 0.01
        after = [m["lr"] for m in messages if m["type"] == "step" and m["step"] > change["step"]]
        before = [m["lr"] for m in messages if m["type"] == "step" and m["step"] <= change["step"]]
        assert before and set(before) == {0.01} and after and set(after) == {0.002}
        record = handle.record()
        assert record is not None and record.lr_changes == [{k: change[k] for k in
                                                             ("step", "epoch", "epoch_fraction", "lr", "previous")}]
    finally:
        handle.close()
