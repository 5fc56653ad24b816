"""The training loop at the limit: no host sync per step, best weights copied only when kept, a lean forward.

The sync test counts, with torch's profiler, the operators that read a value back to the host
(``aten::item``, ``aten::_local_scalar_dense``, ``aten::is_nonzero``) over a window of steady-state
steps in the middle of an epoch; the control run, with a progress report due every step, shows the
count is real. Reads inside ``Optimizer.step`` are left out: torch keeps a non-capturable
optimiser's step counter on the host by design (the CPU fused kernel reads it there; on CUDA it
is read on the device), so they are never a device sync. The CUDA twin runs the same window
under ``torch.cuda.set_sync_debug_mode("error")``, where any sync at all fails the run.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from engine.build import build_module
from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.train import Callback, TrainingJob, TrainingSettings, run_job
from engine.train.snapshot import WeightSnapshot
from engine.train.trainer import Trainer

SYNC_OPS = ("aten::item", "aten::_local_scalar_dense", "aten::is_nonzero")
FIRST, LAST = 20, 120  # the profiled steps, all inside the first epoch (175 steps)


class ProfileSteps(Callback):
    """Profiles the CPU operators of steps FIRST+1 .. LAST."""

    def __init__(self) -> None:
        self.profiler: Any = None

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step == FIRST:
            self.profiler = profile(activities=[ProfilerActivity.CPU])
            self.profiler.__enter__()
        elif trainer.step == LAST:
            self.profiler.__exit__(None, None, None)

    def counts(self) -> dict[str, int]:
        return {e.key: e.count for e in self.profiler.key_averages()}

    def host_reads(self) -> list[str]:
        """The loop's own reads of a value back to the host (each with its calling operators)."""
        reads = []
        for event in self.profiler.events():
            if event.name not in SYNC_OPS:
                continue
            chain, parent = [], event.cpu_parent
            while parent is not None:
                chain.append(parent.name)
                parent = parent.cpu_parent
            if not any(name.startswith("Optimizer.step") for name in chain):
                reads.append(" < ".join([event.name, *chain]))
        return reads


def _train(callbacks: list[Callback], **changes: Any) -> Any:
    s = TrainingSettings.from_json({"epochs": 1, "batch_size": 16, "cpu_threads": 1, **changes})
    job = TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 4000}), s, "sync")
    return run_job(job, lambda m: None, callbacks=callbacks)


def test_steady_state_steps_never_read_a_value_back_to_the_host(monkeypatch):
    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 3600.0)  # no progress report in the window
    steps = ProfileSteps()
    result = _train([steps])
    assert result.status == "completed", result.failure
    counts = steps.counts()
    assert counts.get("aten::addmm", 0) >= 3 * (LAST - FIRST)  # the window really ran 100 steps of 3 layers
    assert steps.host_reads() == []


def test_the_sync_count_sees_progress_reports(monkeypatch):
    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 0.0)  # a report, and so a sync, every step
    steps = ProfileSteps()
    assert _train([steps]).status == "completed"
    assert len(steps.host_reads()) >= LAST - FIRST


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is available here")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_steps_never_synchronise(monkeypatch, precision):
    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 3600.0)

    class SyncIsAnError(Callback):
        def on_step_end(self, trainer: Trainer) -> None:
            if trainer.step == FIRST:
                torch.cuda.set_sync_debug_mode("error")
            elif trainer.step == LAST:
                torch.cuda.set_sync_debug_mode("default")

    try:
        result = _train([SyncIsAnError()], device="cuda", precision=precision, grad_clip=1.0)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert result.status == "completed", result.failure
    assert result.trainer.step > LAST


def test_best_weights_are_copied_only_on_improvement_when_kept(monkeypatch):
    captures: list[int] = []  # ids of the snapshots captured (the trainer also keeps recent weights)
    original = WeightSnapshot.capture

    def counting(self: WeightSnapshot) -> None:
        captures.append(id(self))
        original(self)

    monkeypatch.setattr(WeightSnapshot, "capture", counting)
    s = {"epochs": 6, "optimizer": {"kind": "sgd", "lr": 0.05, "momentum": 0.9}}
    kept = _train([], **s, early_stopping={"restore_best": True})
    best_epochs = sum(1 for e in kept.record.epochs if e["best"])
    weights = kept.trainer._best_weights
    assert best_epochs >= 1 and captures.count(id(weights)) == best_epochs
    assert len(weights._buffers) == 1  # one flat float32 buffer holds every tensor
    assert all(v.untyped_storage().data_ptr() == weights._buffers[0].untyped_storage().data_ptr()
               for v in weights._views)
    not_kept = _train([], **s, early_stopping={"restore_best": False})
    assert not_kept.status == "completed" and not_kept.trainer._best_weights is None
    assert not_kept.trainer.best_state is None
    assert not_kept.record.weights["best"] == not_kept.record.weights["last"]


def test_the_best_snapshot_restores_exactly():
    module = build_module(mlp_document())
    snapshot = WeightSnapshot(module)
    snapshot.capture()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    saved = snapshot.state_dict()
    snapshot.restore()
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key]) and torch.equal(saved[key], before[key])


def test_the_built_forward_reads_no_submodule_through_module_getattr(monkeypatch):
    module = build_module(mlp_document(64, (128, 64), 10))
    calls: list[str] = []
    original = nn.Module.__getattr__

    def counting(self: nn.Module, name: str) -> Any:
        calls.append(name)
        return original(self, name)

    monkeypatch.setattr(nn.Module, "__getattr__", counting)
    module.forward(torch.randn(4, 64))
    assert [c for c in calls if c in dict(module.named_children())] == []
    # a hand-written module pays one lookup per layer: the count above is real
    hand = nn.Module()
    hand.fc1 = nn.Linear(64, 10)
    hand.fc1(torch.randn(4, 64))
    assert "fc1" in calls


def test_the_submodule_cache_follows_replacement_and_deletion():
    module = build_module(mlp_document())
    assert "self.fc1(" in module.code and next(iter(module.state_dict())) == "fc1.weight"
    replacement = nn.Linear(2, 64)
    module.fc1 = replacement
    assert module.fc1 is replacement and module.get_submodule("fc1") is replacement
    assert module.forward(torch.randn(3, 2)).shape == (3, 2)
    module.delete_submodule("relu1")
    with pytest.raises(AttributeError):
        _ = module.relu1
