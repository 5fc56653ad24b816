"""The training loop, trained for real on small generated data sets (seconds each)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from engine.data import AugmentConfig, DatasetConfig
from engine.examples import chain_document, cnn_document, mlp_document
from engine.graph.document import GraphDocument
from engine.train import Callback, EpochRecord, TrainingJob, TrainingSettings, run_job
from engine.train.batches import ResidentBatches, StreamedBatches
from engine.train.trainer import Trainer


def settings(**changes: Any) -> TrainingSettings:
    """Fast settings: one CPU thread (quickest for small networks on a busy machine), given overrides."""
    data = TrainingSettings(cpu_threads=1).to_json()
    for key, value in changes.items():
        group, _, leaf = key.partition("__")
        if leaf:
            data[group][leaf] = value
        else:
            data[group] = value
    return TrainingSettings.from_json(data)


def train(doc: GraphDocument, kind: str, params: dict[str, Any] | None = None, callbacks: list[Callback] = (),
          **changes: Any):
    messages: list[dict[str, Any]] = []
    job = TrainingJob(doc, DatasetConfig(kind, params or {}), settings(**changes), run_id="test")
    result = run_job(job, messages.append, callbacks=callbacks)
    return result, messages


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_run_start(self, trainer): self.calls.append("run_start")
    def on_epoch_start(self, trainer, epoch): self.calls.append(f"epoch_start {epoch}")
    def on_step_end(self, trainer): self.calls.append("step")
    def on_validation_end(self, trainer, metrics): self.calls.append("validation")
    def on_epoch_end(self, trainer, record): self.calls.append(f"epoch_end {record.epoch}")
    def on_test_end(self, trainer, metrics): self.calls.append("test")
    def on_run_end(self, trainer, status): self.calls.append(f"run_end {status}")


def test_hooks_run_in_order_and_the_run_ends_with_finished():
    recorder = Recorder()
    result, messages = train(mlp_document(), "spirals", {"n_samples": 200}, [recorder], epochs=2,
                             batch_size=50)
    steps = result.trainer.setup.batches.steps_per_epoch
    epoch = ["step"] * steps + ["validation"]
    assert recorder.calls == ["run_start", "epoch_start 0", *epoch, "epoch_end 0", "epoch_start 1", *epoch,
                              "epoch_end 1", "test", "run_end completed"]
    assert messages[0]["type"] == "run_started" and messages[-1]["type"] == "finished"
    finished = messages[-1]
    assert finished["status"] == "completed" and finished["epochs"] == 2 and "loss" in finished["test"]
    started = messages[0]
    assert started["parameter_count"] == sum(p.numel() for p in result.trainer.module.parameters())
    assert started["dataset"]["num_classes"] == 2 and started["steps_per_epoch"] == steps
    assert isinstance(result.trainer.setup.batches, ResidentBatches)


class StopAfter(Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step >= self.steps:
            trainer.should_stop = True


def test_should_stop_ends_the_run_after_the_step_in_flight():
    result, messages = train(mlp_document(), "spirals", {"n_samples": 400}, [StopAfter(5)], epochs=50)
    assert result.status == "stopped" and result.trainer.step == 5
    assert len(result.record.epochs) == 1  # the partial epoch is validated and recorded
    assert result.record.weights["last"] and messages[-1]["status"] == "stopped"


def test_mlp_example_reaches_95_percent_on_spirals():
    from engine.project import load_project
    from engine.resources import example_path

    project = load_project(example_path("mlp_spirals"))
    job = TrainingJob.from_project(project, "example")
    job.settings.cpu_threads = 1
    result = run_job(job, lambda m: None)
    assert result.status == "completed"
    assert result.record.best["val_accuracy"] >= 0.95, result.record.best
    assert result.record.test["accuracy"] >= 0.93


def test_cnn_example_reaches_95_percent_on_shapes():
    from engine.project import load_project
    from engine.resources import example_path

    project = load_project(example_path("lenet5"))
    job = TrainingJob.from_project(project, "example")
    s = job.settings  # the example's own hyper-parameters: the bundled file must learn as shipped
    assert (s.epochs, s.optimizer.lr, s.schedule.kind) == (12, 0.005, "cosine")
    s.cpu_threads = 1
    s.telemetry.enabled = False
    result = run_job(job, lambda m: None)
    assert result.status == "completed"
    assert result.record.epochs[-1]["val"]["accuracy"] >= 0.95, [e["val"] for e in result.record.epochs]


def test_lstm_example_clearly_beats_chance():
    from engine.project import load_project
    from engine.resources import example_path

    project = load_project(example_path("lstm_sequence"))
    job = TrainingJob.from_project(project, "example")
    s = job.settings  # the example's own hyper-parameters
    s.cpu_threads = 1
    s.telemetry.enabled = False
    result = run_job(job, lambda m: None)
    chance = 1 / result.record.dataset_summary["num_classes"]
    assert result.record.best["val_accuracy"] >= 2 * chance, result.record.best


def test_regression_with_mse_and_mae():
    hidden = [("Linear", {"out_features": 32}), ("Tanh", {})]
    doc = chain_document((1,), [*hidden, *hidden, ("Linear", {"out_features": 1})])
    result, _ = train(doc, "curve", {"n_samples": 600}, epochs=40, batch_size=32, loss={"kind": "mse"},
                      metrics=["mae"], optimizer={"lr": 0.01})
    epochs = result.record.epochs
    assert result.status == "completed"
    assert epochs[-1]["val"]["mae"] < 0.5 * epochs[0]["val"]["mae"] and epochs[-1]["val"]["mae"] < 0.2


@pytest.mark.parametrize("loss, kind, tail, classes", [
    ({"kind": "cross_entropy", "label_smoothing": 0.1}, "moons", [], 2),
    ({"kind": "nll"}, "moons", [("LogSoftmax", {"dim": -1})], 2),
    ({"kind": "bce_with_logits"}, "moons", [], 1),
    ({"kind": "bce_with_logits"}, "spirals", [], 3),
    ({"kind": "l1"}, "curve", [], 1),
    ({"kind": "smooth_l1"}, "curve", [], 1),
])
def test_every_loss_trains(loss, kind, tail, classes):
    width = 1 if kind == "curve" else 2
    doc = chain_document((width,), [("Linear", {"out_features": 16}), ("ReLU", {}),
                                    ("Linear", {"out_features": classes}), *tail])
    params = {"n_samples": 300, **({"arms": 3} if kind == "spirals" else {})}
    metrics = ["mae"] if kind == "curve" else ["accuracy"]
    result, _ = train(doc, kind, params, epochs=6, loss=loss, metrics=metrics, optimizer={"lr": 0.02})
    epochs = result.record.epochs
    assert result.status == "completed", result.failure
    assert epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"]


def test_top_k_accuracy_and_sgd_with_nesterov_and_warmup():
    doc = mlp_document(classes=4)
    result, _ = train(doc, "spirals", {"n_samples": 400, "arms": 4}, epochs=4, metrics=["accuracy", "top_k"],
                      top_k=2, optimizer={"kind": "sgd", "lr": 0.1, "nesterov": True},
                      schedule={"kind": "step", "warmup_epochs": 1, "step_size": 2})
    val = result.record.epochs[-1]["val"]
    assert result.status == "completed" and val["top_k"] >= val["accuracy"]


def test_early_stopping_stops_when_nothing_improves():
    # a learning rate so small that the weights never change: the validation loss never improves
    result, messages = train(mlp_document(), "spirals", {"n_samples": 200}, epochs=30,
                             optimizer={"kind": "sgd", "lr": 1e-30, "momentum": 0.0},
                             early_stopping={"enabled": True, "patience": 2})
    assert result.status == "completed" and len(result.record.epochs) == 3
    assert any("early stopping" in m["text"] for m in of_type(messages, "log"))


class Sabotage(Callback):
    """Flips and blows up the last layer after epoch 2, so every later epoch is worse than the best."""

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        if record.epoch == 2:
            with torch.no_grad():
                trainer.module.get_submodule("fc3").weight.mul_(-50.0)


def test_early_stopping_restores_the_best_weights():
    result, _ = train(mlp_document(), "spirals", {"n_samples": 300}, [Sabotage()], epochs=20,
                      optimizer={"kind": "sgd", "lr": 1e-4, "momentum": 0.0},
                      early_stopping={"enabled": True, "patience": 2, "restore_best": True})
    trainer = result.trainer
    assert trainer.best.epoch <= 2 and len(trainer.history) == 5
    for key, value in trainer.module.state_dict().items():
        assert torch.equal(value, trainer.best_state[key]), key


def test_big_data_streams_through_a_data_loader():
    result, _ = train(mlp_document(), "spirals", {"n_samples": 600}, epochs=15, optimizer={"lr": 0.01},
                      data={"resident_limit_mb": 0.0, "num_workers": 0})
    assert isinstance(result.trainer.setup.batches, StreamedBatches)
    assert result.status == "completed" and result.record.best["val_accuracy"] > 0.7


def test_augmentation_runs_on_image_batches():
    result, _ = train(cnn_document(), "shapes", {"n_samples": 240}, epochs=2,
                      augment=AugmentConfig(hflip=True, crop_padding=2, rotation=10.0).to_json())
    assert result.status == "completed"
    assert result.trainer.setup.augment is not None


def test_the_same_seed_gives_the_same_run():
    runs = [train(mlp_document(), "spirals", {"n_samples": 200}, epochs=3, seed=7, deterministic=True)[0]
            for _ in range(2)]
    losses = [[e["train"]["loss"] for e in run.record.epochs] for run in runs]
    assert losses[0] == losses[1]
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the run


def test_telemetry_sends_feature_maps_statistics_and_pictures(monkeypatch):
    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 0.001)  # report often in this short run
    result, messages = train(cnn_document(), "shapes", {"n_samples": 240}, epochs=2, batch_size=16,
                             probes=["input", "conv1", "fc1"],
                             telemetry={"enabled": True, "feature_map_interval": 0.001,
                                        "stats_interval": 0.001})
    assert result.status == "completed"
    maps = {m["node_id"]: m["maps"] for m in of_type(messages, "feature_maps")}
    assert set(maps) == {"input", "conv1", "fc1"}
    assert maps["conv1"].dtype == np.float16 and maps["conv1"].shape == (8, 28, 28)
    assert maps["input"].shape == (1, 28, 28) and maps["fc1"].shape == (1, 1, 64)
    weights = {m["node_id"]: m for m in of_type(messages, "weight_stats")}
    assert {"conv1", "conv2", "fc1", "fc2"} <= set(weights)
    conv = weights["conv1"]["params"]["weight"]
    assert conv["hist"].shape == (32,) and conv["hist"].sum() == 8 * 1 * 5 * 5 and conv["norm"] > 0
    assert of_type(messages, "grad_stats")[0]["params"]
    dead = [m["dead_fraction"] for m in of_type(messages, "activation_stats")]
    assert dead and all(0.0 <= d <= 1.0 for d in dead)
    steps = of_type(messages, "step")
    assert steps and all(math.isfinite(m["loss"]) and m["samples_per_s"] > 0 for m in steps)
    confusion = next(m for m in of_type(messages, "confusion_matrix") if m["split"] == "test")
    assert confusion["matrix"].shape == (6, 6) and confusion["matrix"].sum() == result.record.dataset_summary[
        "sizes"]["test"]
    pictures = of_type(messages, "sample_predictions")[0]
    assert pictures["inputs"].dtype == np.uint8 and pictures["inputs"].shape == (16, 28, 28, 1)
    assert len(pictures["true"]) == len(pictures["predicted"]) == 16


def test_feature_maps_are_limited_to_32_channels_of_64_by_64():
    from engine.train.probe import feature_map_array

    assert feature_map_array(torch.randn(2, 100, 200, 90)).shape == (32, 64, 64)
    assert feature_map_array(torch.randn(2, 5000)).shape == (1, 64, 64)
    assert feature_map_array(torch.randn(2, 300)).shape == (1, 5, 64)
    assert feature_map_array(torch.randn(2, 80, 8)).shape == (1, 64, 8)
    assert feature_map_array(torch.full((1, 3), 1e6)).max() == np.float16(65504)


def test_probe_forward_leaves_no_hooks_behind():
    from engine.build import build_module
    from engine.train.probe import Probe

    module = build_module(cnn_document())
    probe = Probe(module, (torch.rand(4, 1, 28, 28),), ["input"])
    out = probe.capture(["conv1", "relu3"])
    assert out["conv1"].shape == (4, 8, 28, 28) and out["relu3"].shape == (4, 64)
    assert all(not m._forward_hooks for m in module.modules()) and module.training


