"""Training settings: JSON round trip, malformed data, and the problems validate() names before training."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from engine.data import AugmentConfig
from engine.data.config import DatasetSummary
from engine.layers.spec import TensorSpec
from engine.train.device import DeviceError, Precision, resolve_device
from engine.train.optim import LRSchedule, make_optimizer
from engine.train.settings import OPTIMIZERS, SettingsError, TrainingSettings


def summary(task: str = "classification", classes: int | None = 3,
            target: tuple[int, ...] = ()) -> DatasetSummary:
    names = [f"c{i}" for i in range(classes or 0)]
    sizes = {"train": 10, "val": 2, "test": 2}
    return DatasetSummary("toy", task, (2,), "float32", target, classes, names, sizes, {})


def test_json_round_trip_keeps_every_setting():
    s = TrainingSettings(epochs=7, batch_size=32, precision="bf16", device="cpu", seed=3, deterministic=True,
                         metrics=["accuracy", "top_k"], top_k=3, probes=["fc1"], grad_clip=1.5)
    s.loss.label_smoothing = 0.1
    s.optimizer.kind, s.optimizer.lr, s.optimizer.nesterov = "sgd", 0.05, True
    s.schedule.kind, s.schedule.warmup_epochs = "cosine", 2
    s.early_stopping.enabled, s.early_stopping.metric = True, "val_accuracy"
    s.augment = AugmentConfig(hflip=True, crop_padding=2)
    data = s.to_json()
    assert data["version"] == 1 and data["optimizer"]["kind"] == "sgd" and data["augment"]["hflip"] is True
    again = TrainingSettings.from_json(data)
    assert again == s
    assert again.to_json() == data


def test_missing_keys_take_defaults_and_partial_groups_merge():
    s = TrainingSettings.from_json({"epochs": 3, "optimizer": {"lr": 0.01}})
    assert s.epochs == 3 and s.optimizer.lr == 0.01 and s.optimizer.kind == "adam" and s.batch_size == 64


@pytest.mark.parametrize("data, words", [
    ([], "JSON object"),
    ({"epochs": "ten"}, r"Epochs \(epochs\) must be a whole number"),
    ({"optimizer": {"lr": "fast"}}, r"Learning rate \(optimizer.lr\) must be a finite number"),
    ({"optimizer": {"lr": math.inf}}, "finite number"),
    ({"colour": "blue"}, "unknown training setting"),
    ({"loss": {"kind": "mse", "weight": 2}}, "unknown training setting 'loss.weight'; known here: kind, "
                                             "label_smoothing"),
    ({"optimizer": {"lr": 0.0}}, r"Learning rate \(optimizer.lr\) must be above 0, got 0"),
    ({"optimizer": {"lr": -1}}, "must be above 0, got -1"),
    ({"early_stopping": {"patience": 0}}, "must be at least 1, got 0"),
    ({"metrics": "accuracy"}, "list of names"),
    ({"augment": {"hflip": 3}}, r"augment.hflip\) must be true or false"),
    ({"version": 99}, "newer"),
])
def test_malformed_settings_raise_a_settings_error(data, words):
    with pytest.raises(SettingsError, match=words):
        TrainingSettings.from_json(data)


def problems_of(**changes) -> list[str]:
    s = TrainingSettings()
    for path, value in changes.items():
        target = s
        *parents, leaf = path.split("__")
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, leaf, value)
    return s.validate()


def test_default_settings_are_valid():
    assert TrainingSettings().validate() == []


@pytest.mark.parametrize("changes, words", [
    ({"optimizer__lr": 0.0}, "Learning rate (optimizer.lr) must be above 0, got 0"),
    ({"optimizer__lr": -1.0}, "Learning rate (optimizer.lr) must be above 0, got -1"),
    ({"optimizer__lr": math.inf}, "Learning rate (optimizer.lr) must be a finite number"),
    ({"optimizer__lr": math.nan}, "Learning rate (optimizer.lr) must be a finite number"),
    ({"epochs": 0}, "Epochs (epochs) must be at least 1"),
    ({"batch_size": 0}, "Batch size (batch_size) must be at least 1"),
    ({"loss__kind": "hinge"}, "Loss (loss.kind) must be one of cross_entropy"),
    ({"optimizer__kind": "lion"}, "Optimizer (optimizer.kind) must be one of sgd"),
    ({"optimizer__nesterov": True}, "Nesterov momentum needs the sgd optimizer"),
    ({"optimizer__momentum": 1.0}, "Momentum (optimizer.momentum) must be below 1"),
    ({"optimizer__weight_decay": -0.1}, "Weight decay (optimizer.weight_decay) must be at least 0"),
    ({"loss__kind": "mse", "loss__label_smoothing": 0.1}, "label smoothing only applies"),
    ({"schedule__kind": "warp"}, "Schedule (schedule.kind) must be one of none"),
    ({"schedule__warmup_epochs": 10}, "warm-up (10 epochs) must be shorter"),
    ({"schedule__kind": "one_cycle", "schedule__warmup_epochs": 1}, "warms up by itself"),
    ({"schedule__kind": "step", "schedule__gamma": 0.0}, "gamma"),
    ({"schedule__kind": "reduce_on_plateau", "schedule__factor": 1.5}, "Plateau factor (schedule.factor) must be "
                                                                       "below 1"),
    ({"grad_clip": 0.0}, "Gradient clipping (grad_clip) must be above 0"),
    ({"early_stopping__metric": "val_mae"}, "early stopping watches 'val_mae'"),
    ({"early_stopping__enabled": True, "early_stopping__patience": 0}, "patience"),
    ({"precision": "fp8"}, "Mixed precision (precision) must be one of none"),
    ({"device": "tpu"}, "Device (device) must be auto, cpu, cuda, cuda:N or mps; got 'tpu'"),
    ({"metrics": ["f1"]}, "Metrics (metrics): unknown 'f1'"),
    ({"metrics": ["top_k"], "top_k": 1}, "Top-k (top_k) must be at least 2"),
    ({"telemetry__feature_map_interval": 0.0}, "Feature-map interval (s) "
                                               "(telemetry.feature_map_interval) must be at least 0.001"),
    ({"cpu_threads": -1}, "CPU threads (cpu_threads) must be at least 0"),
])
def test_validate_names_each_bad_setting(changes, words):
    problems = problems_of(**changes)
    assert any(words in p for p in problems), problems


def test_validate_against_the_dataset_and_the_output():
    regression = summary("regression", None, (1,))
    s = TrainingSettings()
    assert "loss 'cross_entropy' needs class labels but the dataset is a regression task" in \
        " ".join(s.validate(regression))
    assert any("metric 'accuracy' needs class labels" in p for p in s.validate(regression))
    assert any("the output has shape N×5 but the dataset has 3 classes" in p
               for p in s.validate(summary(), TensorSpec((5,))))
    assert s.validate(summary(), TensorSpec((3,))) == []
    mse = TrainingSettings.from_json({"loss": {"kind": "mse"}, "metrics": ["mae"]})
    assert any("needs numeric targets" in p for p in mse.validate(summary()))
    assert mse.validate(regression, TensorSpec((1,))) == []
    assert any("targets have shape N×1" in p for p in mse.validate(regression, TensorSpec((4,))))
    bce = TrainingSettings.from_json({"loss": {"kind": "bce_with_logits"}})
    assert bce.validate(summary(classes=2), TensorSpec((1,))) == []
    top = TrainingSettings.from_json({"metrics": ["top_k"], "top_k": 3})
    assert any("top-3 accuracy needs more than 3 classes" in p for p in top.validate(summary()))
    probes = TrainingSettings(probes=["conv9"])
    assert probes.validate(node_ids=["input", "fc1"]) == ["probe node(s) conv9 are not in the network"]
    augmented = TrainingSettings(augment=AugmentConfig(hflip=True))
    assert any("images only" in p for p in augmented.validate(summary()))


def test_device_resolution_and_mixed_precision_fallback_on_cpu():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU is available"):
            resolve_device("cuda")
        precision = Precision.create("bf16", torch.device("cpu"))
        assert precision.dtype is None and "needs a CUDA GPU" in precision.note


def schedule_rates(kind: str, epochs: int = 4, steps: int = 10, **extra) -> list[float]:
    from engine.train.settings import ScheduleSettings

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    schedule = LRSchedule(opt, 0.1, ScheduleSettings(kind=kind, **extra), epochs, steps)
    return [schedule.rate(i) for i in range(epochs * steps)]


def test_learning_rate_schedules():
    assert set(schedule_rates("none")) == {0.1}
    warm = schedule_rates("none", warmup_epochs=1)
    assert warm[0] == pytest.approx(0.01) and warm[9] == pytest.approx(0.1) and warm[-1] == 0.1
    step = schedule_rates("step", step_size=2, gamma=0.5)
    assert step[0] == step[19] == 0.1 and step[20] == pytest.approx(0.05)
    cosine = schedule_rates("cosine", min_lr=0.01)
    assert cosine[0] == pytest.approx(0.1) and cosine[-1] == pytest.approx(0.01, abs=1e-3)
    assert all(a >= b for a, b in itertools.pairwise(cosine))
    cycle = schedule_rates("one_cycle")
    peak = cycle.index(max(cycle))
    assert cycle[0] == pytest.approx(0.004) and max(cycle) == pytest.approx(0.1, rel=1e-3)
    assert 0 < peak < len(cycle) - 1 and cycle[-1] < 1e-5
    warm_cosine = schedule_rates("cosine", warmup_epochs=1)
    assert warm_cosine[0] < warm_cosine[9] and warm_cosine[-1] < 0.01


def test_reduce_on_plateau_lowers_the_rate_after_patience():
    from engine.train.settings import ScheduleSettings

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    schedule = LRSchedule(opt, 0.1, ScheduleSettings(kind="reduce_on_plateau", patience=1, factor=0.5), 10, 5)
    for loss in (1.0, 0.9, 0.95, 0.95):
        schedule.after_epoch(loss, 0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_every_optimizer_builds_and_steps(kind):
    from engine.train.settings import OptimizerSettings

    param = torch.nn.Parameter(torch.ones(3))
    settings = OptimizerSettings(kind=kind, lr=0.1, weight_decay=0.01)
    opt = make_optimizer([param], settings, torch.device("cpu"))
    (param ** 2).sum().backward()
    opt.step()
    assert (param < 1).all()
