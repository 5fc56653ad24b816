"""The CUDA path: data resident on the GPU, AMP in bf16 and fp16 (with a GradScaler), pinned streaming."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from engine.data import DatasetConfig
from engine.examples import cnn_document, mlp_document
from engine.train import TrainingJob, TrainingSettings, run_job
from engine.train.batches import ResidentBatches, StreamedBatches

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is available here"),
]


def train(doc, kind: str, params: dict[str, Any], **changes: Any):
    settings = TrainingSettings.from_json({"device": "cuda", "epochs": 4, **changes})
    return run_job(TrainingJob(doc, DatasetConfig(kind, params), settings, "gpu"), lambda m: None)


def test_small_data_lives_on_the_gpu_and_trains():
    result = train(mlp_document(), "spirals", {"n_samples": 600}, optimizer={"lr": 0.01}, epochs=20)
    batches = result.trainer.setup.batches
    assert isinstance(batches, ResidentBatches) and batches.x.device.type == "cuda"
    assert result.trainer.setup.val[0].device.type == "cuda"
    assert result.status == "completed" and result.record.best["val_accuracy"] > 0.9
    assert result.record.device.startswith("cuda")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_a_cnn(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    result = train(cnn_document(), "shapes", {"n_samples": 1200}, precision=precision, epochs=6,
                   optimizer={"lr": 0.003})
    setup = result.trainer.setup
    assert setup.precision.dtype == (torch.bfloat16 if precision == "bf16" else torch.float16)
    assert (setup.precision.scaler is not None) == (precision == "fp16")
    epochs = result.record.epochs
    assert result.status == "completed" and epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"]
    assert result.record.weights["best"]


def test_big_data_streams_from_pinned_memory():
    result = train(mlp_document(), "spirals", {"n_samples": 600}, data={"resident_limit_mb": 0.0},
                   optimizer={"lr": 0.01}, epochs=10)
    batches = result.trainer.setup.batches
    assert isinstance(batches, StreamedBatches) and batches.loader.pin_memory
    assert result.status == "completed" and result.record.best["val_accuracy"] > 0.7


def test_a_gpu_worker_process_trains():
    from engine.runner import RunHandle

    settings = TrainingSettings.from_json({"device": "cuda", "epochs": 2})
    handle = RunHandle.start((mlp_document(), DatasetConfig("spirals", {"n_samples": 300}), settings))
    try:
        messages = handle.wait(120)
        assert messages[0]["device"].startswith("cuda") and messages[-1]["status"] == "completed"
    finally:
        handle.close()
