"""The learning-rate finder: its suggestion trains two bundled examples as well as their tuned rates, it
leaves the network, optimiser and random state exactly as they were, a diverging sweep still suggests a
sane rate, and the valley rule itself on made-up curves."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import torch

from engine.examples import EXAMPLE_BUILDERS
from engine.runner import LocalRun
from engine.train.job import TrainingJob
from engine.train.lr_find_config import LRFindConfig, LRFindError, rounded_rate
from engine.train.lr_find_job import lr_find_task, run_lr_find
from engine.train.lr_finder import find_lr, longest_valley, smooth, suggest
from engine.train.session import run_job
from engine.train.setup import build_setup, check_job


def example_job(name: str, samples: int, epochs: int | None = None, **training: Any) -> TrainingJob:
    """A bundled example as shipped (network, optimiser, tuned rate, schedule), on fewer samples."""
    project = EXAMPLE_BUILDERS[name]()
    project.dataset["params"]["n_samples"] = samples
    project.training.update(cpu_threads=1, telemetry={"enabled": False}, **training)
    if epochs is not None:
        project.training["epochs"] = epochs
    return TrainingJob.from_project(project, run_id=name)


def test_accuracy_at_the_suggestion_is_within_5_percent_of_the_tuned_rate_on_two_examples():
    # the spirals MLP as shipped (60 epochs of Adam at 0.01) and LeNet-5 on shapes (Adam at 0.005, cosine),
    # on 1,500 images and 8 epochs so the test takes seconds: same seed and epochs for both rates
    for name, samples, epochs in (("mlp_spirals", 2000, None), ("lenet5", 1500, 8)):
        job = example_job(name, samples, epochs)
        tuned = job.settings.optimizer.lr
        job.task = lr_find_task(LRFindConfig(steps=150))
        messages: list[dict[str, Any]] = []
        found = run_lr_find(job, messages.append)
        assert found is not None and found.suggestion is not None and found.method == "valley", name
        suggestion = found.suggestion
        assert [m["type"] for m in messages][-2:] == ["log", "finished"]
        accuracy = {}
        for lr in (tuned, suggestion):
            run = example_job(name, samples, epochs, optimizer={"kind": "adam", "lr": lr})
            result = run_job(run, lambda m: None)
            assert result.status == "completed", name
            accuracy[lr] = result.record.test["accuracy"]
        assert accuracy[suggestion] >= 0.95 * accuracy[tuned], (name, suggestion, accuracy)


def test_the_sweep_restores_weights_optimizer_state_and_random_generators_bit_for_bit():
    job = example_job("lenet5", 300, 1, augment={"hflip": True, "crop_padding": 2, "rotation": 0.0,
                                                 "color_jitter": 0.0})
    checked, problems = check_job(job)
    assert not problems
    torch.manual_seed(5)
    setup = build_setup(checked, torch.device("cpu"))
    xb, yb = next(iter(setup.batches.epoch(0)))  # one real step first, so Adam has moments to restore
    setup.loss_fn(setup.model(setup.augment(xb)), yb).backward()
    setup.optimizer.step()
    setup.module.eval()
    weights = {k: v.clone() for k, v in setup.module.state_dict().items()}
    moments = {i: {k: v.clone() for k, v in state.items()} for i, state in enumerate(setup.optimizer.state.values())}
    lrs = [g["lr"] for g in setup.optimizer.param_groups]
    rng, order_state = torch.get_rng_state(), setup.batches._generator.get_state()
    augment_state = {d: g.get_state() for d, g in setup.augment._generators.items()}
    result = find_lr(setup, LRFindConfig(steps=30))
    assert len(result.lrs) >= 11  # the sweep really trained
    state = setup.module.state_dict()
    assert all(torch.equal(state[k], v) for k, v in weights.items())
    assert not setup.module.training  # eval mode, as it was
    after = list(setup.optimizer.state.values())
    assert len(after) == len(moments)
    for i, saved in moments.items():
        assert all(torch.equal(after[i][k], v) for k, v in saved.items())
    assert [g["lr"] for g in setup.optimizer.param_groups] == lrs
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.equal(setup.batches._generator.get_state(), order_state)
    assert {d: torch.equal(g.get_state(), augment_state[d]) for d, g in setup.augment._generators.items()} == \
        {d: True for d in augment_state}


def test_a_diverging_sweep_stops_early_and_still_suggests_a_sane_rate():
    # SGD with momentum swept from 3 upwards: the loss only rises and blows up within a few dozen steps
    job = example_job("mlp_spirals", 600, optimizer={"kind": "sgd", "lr": 0.1, "momentum": 0.9})
    job.task = lr_find_task(LRFindConfig(start_lr=3.0, end_lr=1e6, steps=200))
    found = run_lr_find(job, lambda m: None)
    assert found is not None and found.stop_reason == "diverged" and len(found.lrs) < 100
    assert found.method == "minimum/10"  # no valley in a curve that never falls
    lowest = min(range(len(found.smoothed)), key=found.smoothed.__getitem__)
    assert found.suggestion == pytest.approx(found.lrs[lowest] / 10)
    assert found.suggestion <= found.lrs[-1] / 10 and math.isfinite(found.suggestion)
    # training at it for a few epochs stays finite
    run = example_job("mlp_spirals", 600, 3, optimizer={"kind": "sgd", "lr": found.suggestion, "momentum": 0.9})
    assert run_job(run, lambda m: None).status == "completed"
    # swept from far too high, the loss explodes at once: the sweep stops at the second step, the
    # suggestion is still a number below every rate that was tried
    job.task = lr_find_task(LRFindConfig(start_lr=30.0, end_lr=1e6, steps=200))
    found = run_lr_find(job, lambda m: None)
    assert found is not None and found.stop_reason == "diverged" and len(found.lrs) <= 3
    assert found.suggestion == pytest.approx(3.0) and found.method == "minimum/10"


def test_the_sweep_runs_in_the_worker_code_streams_points_and_stops_on_command():
    job = example_job("mlp_spirals", 400)
    job.task = lr_find_task(LRFindConfig(steps=100_000))  # far more than it will get to run
    run = LocalRun.start(job, run_id="find")
    try:
        points: list[dict[str, Any]] = []
        while len(points) < 2:
            points += [m for m in run.poll() if m["type"] == "lr_find_points"]
        run.stop()
        messages = run.wait(60)
        assert run.finished is not None and run.finished["status"] == "stopped"
        points += [m for m in messages if m["type"] == "lr_find_points"]
        (end,) = [m for m in messages if m["type"] == "lr_find_suggestion"]
        lrs = [lr for m in points for lr in m["lrs"]]
        assert end["stop_reason"] == "stopped" and end["points"] == len(lrs) < 100_000
        assert lrs == sorted(lrs) and len(points[0]["smoothed"]) == len(points[0]["lrs"])
        assert run.record() is None  # a sweep is not a run: nothing is saved
    finally:
        run.close()


def test_bad_finder_settings_are_refused_with_a_message():
    job = example_job("mlp_spirals", 200)
    job.task = {"kind": "lr_find", "start_lr": 1.0, "end_lr": 0.1}
    messages: list[dict[str, Any]] = []
    assert run_lr_find(job, messages.append) is None
    assert [m["type"] for m in messages] == ["error", "finished"]
    assert "start_lr < end_lr" in messages[0]["message"] and messages[1]["status"] == "failed"
    with pytest.raises(LRFindError):
        LRFindConfig(steps=3).validate()


def test_the_valley_rule_on_made_up_curves():
    rates = [1e-6 * 10 ** (i / 20) for i in range(121)]  # 1e-6 .. 1
    # flat, then a long fall from 1e-4 to 1e-2, then a blow-up: the suggestion is inside the fall
    curve = [2.0 if r < 1e-4 else 2.0 - 1.5 * math.log10(r / 1e-4) / 2 if r <= 1e-2 else 0.5 + (r - 1e-2) * 50
             for r in rates]
    lr, method, valley = suggest(rates, curve)
    assert method == "valley" and 1e-4 < lr < 1e-2 and valley is not None
    # a slow creep down across the flat start (an adaptive optimiser at tiny rates) does not stretch it
    creep = [c - 1e-5 * i for i, c in enumerate(curve)]
    assert suggest(rates, creep)[0] == pytest.approx(lr, rel=0.5)
    # a curve that only rises has no valley: the minimum divided by ten
    rising = [1.0 + i * 0.1 for i in range(len(rates))]
    assert suggest(rates, rising) == (pytest.approx(rates[0] / 10), "minimum/10", None)
    assert longest_valley([3.0, 2.0, 2.5, 1.0, 0.5]) == (1, 4)
    # the smoothing is bias-corrected: a constant loss smooths to itself from the first point
    assert smooth([2.0] * 5, 0.98) == pytest.approx([2.0] * 5)
    assert suggest(rates[:3], [math.nan] * 3) == (None, "none", None)


def test_the_command_line_prints_the_suggestion_and_applies_it_without_the_overrides(tmp_path, capsys):
    from engine.cli import main
    from engine.project import load_project, save_project

    path = save_project(EXAMPLE_BUILDERS["mlp_spirals"](), tmp_path / "spirals.loom")
    assert main(["lr-find", str(path), "--steps", "60", "--set", "dataset.params.n_samples=400", "--set",
                 "cpu_threads=1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["method"] in ("valley", "minimum/10") and len(printed["lrs"]) <= 60
    assert load_project(path).training["optimizer"]["lr"] == 0.01  # without --apply nothing is saved
    assert main(["lr-find", str(path), "--steps", "60", "--set", "dataset.params.n_samples=400", "--set",
                 "cpu_threads=1", "--apply"]) == 0
    out = capsys.readouterr().out
    suggested = float(re.search(r"suggested learning rate ([0-9.e-]+)", out).group(1))
    saved = load_project(path)
    assert saved.training["optimizer"]["lr"] == rounded_rate(suggested) and f"set optimizer.lr to {suggested:g}" in out
    assert saved.dataset["params"]["n_samples"] == 2000 and "cpu_threads" not in saved.training
    assert main(["lr-find", str(path), "--start-lr", "1", "--end-lr", "0.5"]) == 2
    assert "start_lr < end_lr" in capsys.readouterr().err


def test_recipes_sweep_their_own_loss_and_a_gan_is_refused_with_a_reason():
    for name in ("conv_autoencoder", "vae_shapes"):
        job = example_job(name, 300, 1)
        job.task = lr_find_task(LRFindConfig(steps=40))
        found = run_lr_find(job, lambda m: None)
        assert found is not None and found.suggestion is not None and math.isfinite(found.suggestion), name
    job = example_job("dcgan_shapes", 300, 1)
    job.task = lr_find_task(LRFindConfig(steps=40))
    messages: list[dict[str, Any]] = []
    assert run_lr_find(job, messages.append) is None
    assert [m["type"] for m in messages] == ["error", "finished"]  # refused before anything is built
    assert "a GAN trains two" in messages[0]["message"] and messages[0]["kind"] == "settings"
