"""What the loop does around the steps costs as little as it can, and still counts exactly.

Training metrics are reduced in batches (`MetricSums`): the results must equal a plain per-batch
computation with ``argmax`` (ties included), a progress report must reduce the losses only, the
outputs held must stay under the byte budget, and one `MetricSums` must serve every epoch without
allocating. Python's collector must skip the objects that exist before training (frozen while the
epochs run, thawed after), and callbacks' no-op hooks must never be called.
"""

from __future__ import annotations

import gc

import torch
import torch.nn.functional as F

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.train import Callback, TrainingJob, TrainingSettings, objective, run_job
from engine.train.callbacks import CallbackList
from engine.train.objective import MetricSums, predicted_classes
from engine.train.trainer import Trainer


def _batches(n: int, classes: int = 5, size: int = 8, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        logits = torch.randn(size, classes, generator=g)
        logits[0] = 0.0  # a row of ties: argmax says class 0
        logits[1, 1:3] = 5.0  # a tie between classes 1 and 2: argmax says 1
        out.append((logits, torch.randint(0, classes, (size,), generator=g)))
    return out


def test_batched_metrics_equal_a_per_batch_argmax_ties_included():
    batches = _batches(37)
    batches[0][1][:2] = torch.tensor([0, 2])  # the tie rows: one right (0), one wrong (2, argmax says 1)
    sums = MetricSums(["accuracy", "top_k"], "classification", 5, torch.device("cpu"), top_k=2)
    correct = top = 0
    losses = []
    for logits, target in batches:
        loss = F.cross_entropy(logits, target)
        sums.update(logits, target, loss)
        losses.append(float(loss))
        correct += int((logits.argmax(-1) == target).sum())
        top += int((logits.topk(2, -1).indices == target[:, None]).any(-1).sum())
    result = sums.result()
    n = 37 * 8
    assert result["accuracy"] == correct / n and result["top_k"] == top / n
    assert abs(result["loss"] - sum(losses) / 37) < 1e-6
    ties = torch.zeros(4, 3)
    ties[1, 2] = ties[1, 0] = 1.0
    assert predicted_classes(ties).tolist() == ties.argmax(-1).tolist() == [0, 0, 0, 0]


def test_a_report_reduces_the_losses_and_leaves_the_outputs_for_later():
    sums = MetricSums(["accuracy"], "classification", 5, torch.device("cpu"), keep_step_losses=True)
    for logits, target in _batches(10):
        sums.update(logits, target, F.cross_entropy(logits, target))
    sums.flush_losses()
    assert len(sums._losses) == 0 and len(sums._pending) == 10  # no output reduced yet
    assert int(sums.correct) == 0 and float(sums.loss) > 0
    assert len(sums.take_step_losses()) == 10 and len(sums._pending) == 10


def test_outputs_held_stay_under_the_byte_budget(monkeypatch):
    monkeypatch.setattr(objective, "FLUSH_BYTES", 3 * 8 * 5 * 4)  # three batches of 8x5 float32 outputs
    sums = MetricSums(["accuracy"], "classification", 5, torch.device("cpu"))
    most = 0
    for logits, target in _batches(20):
        sums.update(logits, target, F.cross_entropy(logits, target))
        most = max(most, len(sums._pending))
    assert most == 2 and sums._hold == 3  # flushed as the third arrived
    small = MetricSums(["accuracy"], "classification", 5, torch.device("cpu"))
    monkeypatch.setattr(objective, "FLUSH_BYTES", 2**30)
    for logits, target in _batches(objective.FLUSH_STEPS + 5):
        small.update(logits, target, F.cross_entropy(logits, target))
    assert len(small._pending) == 5  # held at most FLUSH_STEPS


def test_one_metric_sums_serves_every_epoch_without_allocating():
    sums = MetricSums(["accuracy", "top_k"], "classification", 5, torch.device("cpu"), top_k=2, confusion=True)
    tensors = [sums.loss, sums.correct, sums.top_correct, sums.abs_error, sums.confusion]
    pointers = [t.data_ptr() for t in tensors]
    for epoch in range(2):
        sums.reset()
        for logits, target in _batches(6, seed=epoch):
            sums.update(logits, target, F.cross_entropy(logits, target))
        result = sums.result()
        fresh = MetricSums(["accuracy", "top_k"], "classification", 5, torch.device("cpu"), top_k=2, confusion=True)
        for logits, target in _batches(6, seed=epoch):
            fresh.update(logits, target, F.cross_entropy(logits, target))
        assert result == fresh.result() and sums.batches == 6
        assert torch.equal(sums.confusion_matrix(), fresh.confusion_matrix())
    assert [t.data_ptr() for t in [sums.loss, sums.correct, sums.top_correct, sums.abs_error, sums.confusion]] \
        == pointers


class FreezeWatch(Callback):
    def __init__(self) -> None:
        self.during: list[int] = []

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step % 20 == 0:
            self.during.append(gc.get_freeze_count())


def test_the_collector_skips_what_existed_before_training_and_thaws_after():
    before = gc.get_freeze_count()
    watch = FreezeWatch()
    s = TrainingSettings.from_json({"epochs": 2, "batch_size": 16, "cpu_threads": 1})
    result = run_job(TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 400}), s, "gc"),
                     lambda m: None, callbacks=[watch])
    assert result.status == "completed"
    assert watch.during and min(watch.during) > before + 10_000  # torch and the network were frozen
    assert gc.get_freeze_count() == before


def test_no_op_hooks_are_never_called_and_instance_hooks_are():
    calls: list[str] = []

    class Epochs(Callback):
        def on_epoch_end(self, trainer: object, record: object) -> None:
            calls.append("epoch_end")

    plain, epochs = Callback(), Epochs()
    plain.on_progress = lambda trainer, progress: calls.append("progress")  # type: ignore[method-assign]
    hooks = CallbackList([plain, epochs])
    hooks.call("on_epoch_end", None, None)
    hooks.call("on_progress", None, None)
    hooks.call("on_epoch_start", None, 0)
    assert calls == ["epoch_end", "progress"]
    assert hooks._bound["on_epoch_start"] == [] and len(hooks._bound["on_epoch_end"]) == 1


def test_telemetry_looks_at_the_start_and_the_end_and_never_per_step(monkeypatch):
    from engine.train.callbacks import overrides
    from engine.train.reporter import TelemetryReporter

    monkeypatch.setattr("engine.train.trainer.SYNC_INTERVAL", 3600.0)  # no progress report at all
    messages: list[dict] = []
    s = TrainingSettings.from_json({"epochs": 2, "batch_size": 16, "cpu_threads": 1, "probes": ["fc1"],
                                    "telemetry": {"enabled": True}})
    result = run_job(TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 400}), s, "ends"),
                     messages.append)
    assert result.status == "completed"
    last = result.trainer.step
    assert sorted({m["step"] for m in messages if m["type"] == "weight_stats"}) == [0, last]
    assert sorted({m["step"] for m in messages if m["type"] == "feature_maps"}) == [0, last]
    assert {m["step"] for m in messages if m["type"] == "grad_stats"} == {last}  # no gradients before a step
    assert {m["step"] for m in messages if m["type"] == "step"} == {last}  # the one report a run always gets
    assert not overrides(TelemetryReporter("r", messages.append, {}, None, [], [], []), "on_step_end")


def test_the_lean_forward_skips_module_call_only_while_no_hook_would_run(monkeypatch):
    from engine.build import build_module
    from engine.examples import cnn_document

    _check_lean(build_module(mlp_document(64, (128, 64), 10)), torch.randn(8, 64), monkeypatch)
    _check_lean(build_module(cnn_document(classes=6)), torch.randn(8, 1, 28, 28), monkeypatch)


def _check_lean(module: torch.nn.Module, x: torch.Tensor, monkeypatch) -> None:
    from torch import nn

    from engine.train.lean import LeanCalls

    calls = LeanCalls(module, nn.CrossEntropyLoss())
    forward, loss = calls.current()
    assert forward is not module.forward and torch.equal(forward(x), module.forward(x))
    target = torch.zeros(8, dtype=torch.long)
    assert torch.equal(loss(forward(x), target), nn.CrossEntropyLoss()(module(x), target))
    seen: list[str] = []
    original = nn.Module.__call__

    def counting(self: nn.Module, *args: object, **kwargs: object) -> object:
        seen.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(nn.Module, "__call__", counting)
    forward(x)
    assert seen == []  # no layer went through Module.__call__
    monkeypatch.setattr(nn.Module, "__call__", original)
    hooked: list[bool] = []
    handle = module.fc1.register_forward_hook(lambda *a: hooked.append(True))
    forward, _ = calls.current()
    assert forward == module.forward
    forward(x)
    assert hooked == [True]  # a hook makes the loop call the ordinary forward, and the hook runs
    handle.remove()
    assert calls.current()[0] is not module.forward
    handle = nn.modules.module.register_module_forward_hook(lambda *a: None)  # a global hook too
    assert calls.current()[0] == module.forward
    handle.remove()
    module.fc1 = nn.Linear(*module.fc1.weight.shape[::-1])  # a replaced layer: never the stale one
    assert calls.current()[0] == module.forward
