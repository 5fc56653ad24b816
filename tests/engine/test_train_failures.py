"""Failures become messages that name the node at fault, never hangs or tracebacks out of the engine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from engine.data import DatasetConfig
from engine.examples import chain_document, mlp_document
from engine.layers.catalog import builtin_specs
from engine.layers.registry import LayerRegistry
from engine.layers.spec import LayerSpec, Port, TensorSpec
from engine.train import TrainingJob, TrainingSettings, run_job


class Blowup(nn.Module):
    """Multiplies by 1e60: any input of size above 1e-22 overflows float32 to infinity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1e30 * 1e30


class EvalBlowup(nn.Module):
    """Fine while training; overflows to infinity in eval mode (as a broken running statistic would)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.training else x * 1e30 * 1e30


class OutOfMemory(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def _same(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return inputs[0]


def _claims_three(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return TensorSpec((3,))


def _test_spec(type_id: str, build: Any, infer: Any = _same) -> LayerSpec:
    return LayerSpec(type_id, type_id, "Test", "a layer for tests", (), (Port("in"),), (Port("out"),), infer,
                     build)


REGISTRY = LayerRegistry([
    *builtin_specs(),
    _test_spec("Blowup", lambda p, i: Blowup()),
    _test_spec("OutOfMemory", lambda p, i: OutOfMemory()),
    _test_spec("EvalBlowup", lambda p, i: EvalBlowup()),
    # a plug-in whose shape rule lies: it says 3 features but makes 5
    _test_spec("Liar", lambda p, i: nn.Linear(i[0].shape[-1], 5), _claims_three),
])


def train(doc, dataset: DatasetConfig | None = None, **changes: Any) -> tuple[Any, list[dict[str, Any]]]:
    s = TrainingSettings.from_json({"epochs": 3, "cpu_threads": 1, **changes})
    messages: list[dict[str, Any]] = []
    job = TrainingJob(doc, dataset or DatasetConfig("spirals", {"n_samples": 200}), s, run_id="fail")
    return run_job(job, messages.append), messages


def the_error(messages: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [m for m in messages if m["type"] == "error"]
    assert len(errors) == 1, errors
    assert messages[-1]["type"] == "finished" and messages[-1]["status"] == "failed"
    return errors[0]


def test_a_node_that_overflows_is_named_as_the_first_non_finite_output():
    doc = chain_document((2,), [("Linear", {"out_features": 8}), ("Blowup", {"name": "blow"}),
                                ("Linear", {"out_features": 2})], registry=REGISTRY)
    result, messages = train(doc)
    error = the_error(messages)
    assert error["kind"] == "non_finite" and error["node_id"] == "blow"
    assert "'blow'" in error["message"] and "first node whose output was not finite" in error["message"]
    assert result.status == "failed" and result.record.error["node_id"] == "blow"
    assert result.record.weights["last"]  # what there is, is still saved


def test_a_huge_learning_rate_stops_the_run_and_names_a_node():
    sgd = {"kind": "sgd", "lr": 1e12, "momentum": 0.0}
    result, messages = train(mlp_document(), epochs=50, optimizer=sgd)
    error = the_error(messages)
    assert error["kind"] == "non_finite" and error["node_id"] in {"fc1", "relu1", "fc2", "relu2", "fc3"}
    assert "learning rate" in error["message"] and error["traceback"]
    assert len(result.record.epochs) < 50


def _eval_blowup_network() -> Any:
    return chain_document((2,), [("Linear", {"out_features": 8}), ("EvalBlowup", {"name": "blow"}),
                                 ("Linear", {"out_features": 2})], registry=REGISTRY)


def test_a_validation_loss_that_is_not_finite_fails_the_run_naming_the_split_and_node():
    result, messages = train(_eval_blowup_network())
    error = the_error(messages)
    assert error["kind"] == "non_finite" and error["node_id"] == "blow"
    assert error["message"].startswith("the validation loss became NaN or infinite: 'blow'"), error["message"]
    assert result.status == "failed" and not result.record.epochs  # no epoch is recorded with a NaN loss


def test_a_test_loss_that_is_not_finite_fails_the_run_naming_the_split_and_node():
    dataset = DatasetConfig("spirals", {"n_samples": 200}, val_fraction=0.0, test_fraction=0.2)
    result, messages = train(_eval_blowup_network(), dataset)
    error = the_error(messages)
    assert error["kind"] == "non_finite" and error["node_id"] == "blow"
    assert error["message"].startswith("the test loss became NaN or infinite: 'blow'"), error["message"]
    assert result.status == "failed" and len(result.record.epochs) == 3 and not result.record.test


def test_non_finite_validation_data_is_named_as_the_data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    x[::7] = np.nan  # spread over every split
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    dataset = DatasetConfig("npz", {"path": str(tmp_path / "data.npz")}, val_fraction=0.3, test_fraction=0.0)
    # SGD with lr 0 keeps the training going past the NaN batches, so validation sees the data first
    _, messages = train(mlp_document(), dataset, optimizer={"kind": "sgd", "lr": 1e-9})
    error = the_error(messages)
    assert error["kind"] == "non_finite" and error["node_id"] == "input"
    assert "holds values that are not finite" in error["message"] and "check the dataset" in error["message"]


def test_a_nan_in_one_training_batch_is_traced_to_that_batch(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 3600.0)  # found only at the epoch's end
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2)).astype(np.float32)
    x[5] = np.nan  # one sample: one batch of the epoch fails, later batches are fine
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    dataset = DatasetConfig("npz", {"path": str(tmp_path / "data.npz")}, val_fraction=0.0, test_fraction=0.0)
    result, messages = train(mlp_document(), dataset, batch_size=16)
    error = the_error(messages)
    # the NaN spoilt the weights, so the failing batch was replayed with the recent (finite) weights
    assert error["kind"] == "non_finite" and error["node_id"] == "input", error["message"]
    assert "an input batch for 'input' holds values that are not finite" in error["message"]
    assert result.record.epochs == []


def test_a_runtime_shape_error_names_the_node_that_failed():
    doc = chain_document((2,), [("Liar", {"name": "liar"}), ("Linear", {"out_features": 2, "name": "head"})],
                         registry=REGISTRY)
    _, messages = train(doc)
    error = the_error(messages)
    assert error["node_id"] == "head" and error["kind"] == "shape"
    assert "'head' failed" in error["message"] and "mat1 and mat2" in error["message"]


def test_running_out_of_memory_suggests_a_smaller_batch():
    doc = chain_document((2,), [("OutOfMemory", {}), ("Linear", {"out_features": 2})], registry=REGISTRY)
    _, messages = train(doc, batch_size=128)
    error = the_error(messages)
    assert error["kind"] == "out_of_memory"
    assert "batch size 128" in error["message"] and "smaller batch (e.g. 64)" in error["message"]


@pytest.mark.parametrize("changes, words", [
    ({"loss": {"kind": "mse"}}, "needs numeric targets but the dataset is a classification task"),
    ({"probes": ["nowhere"]}, "probe node(s) nowhere are not in the network"),
])
def test_bad_settings_are_refused_before_training_with_every_reason(changes, words):
    result, messages = train(mlp_document(), **changes)
    error = the_error(messages)
    assert error["kind"] == "settings" and words in error["message"]
    assert result.status == "failed" and not result.record.epochs


@pytest.mark.parametrize("lr, words", [(-1.0, "must be above 0, got -1"), (0.0, "must be above 0, got 0"),
                                       (math.inf, "must be a finite number"), (math.nan, "must be a finite number")])
def test_impossible_learning_rates_set_in_code_are_refused_before_training(lr, words):
    s = TrainingSettings.from_json({"epochs": 3, "cpu_threads": 1})
    s.optimizer.lr = lr  # past from_json: the run's own pre-flight must still refuse it
    messages: list[dict[str, Any]] = []
    job = TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 200}), s, run_id="fail")
    result = run_job(job, messages.append)
    error = the_error(messages)
    assert error["kind"] == "settings" and f"Learning rate (optimizer.lr) {words}" in error["message"]
    assert error["problems"][0]["section"] == "training"
    assert result.status == "failed" and not result.record.epochs


def test_an_output_that_does_not_fit_the_classes_is_refused():
    _, messages = train(mlp_document(classes=5))
    assert "the output has shape N×5 but the dataset has 2 classes" in the_error(messages)["message"]


def test_an_input_that_does_not_fit_the_data_is_refused():
    doc = chain_document((3,), [("Linear", {"out_features": 2})])
    _, messages = train(doc)
    message = the_error(messages)["message"]
    assert "the dataset gives samples of 2 but the Input node 'input' expects 3" in message


def test_a_dataset_that_cannot_load_is_a_message():
    s = TrainingSettings(cpu_threads=1)
    messages: list[dict[str, Any]] = []
    job = TrainingJob(mlp_document(), DatasetConfig("csv", {"path": "/nonexistent/data.csv"}), s, run_id="x")
    run_job(job, messages.append)
    assert "dataset:" in the_error(messages)["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU exists")
def test_asking_for_a_missing_gpu_is_a_message():
    _, messages = train(mlp_document(), device="cuda")
    error = the_error(messages)
    assert error["kind"] == "device" and "no CUDA GPU is available" in error["message"]


def test_mixed_precision_on_cpu_falls_back_with_a_warning():
    result, messages = train(mlp_document(), precision="bf16", epochs=1)
    assert result.status == "completed"
    warnings = [m["text"] for m in messages if m["type"] == "log" and m["level"] == "warning"]
    assert any("needs a CUDA GPU; training in float32" in w for w in warnings)
