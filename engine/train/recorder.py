"""The callback that writes down a run as a `RunRecord` (see `engine.runs`).

It keeps the progress points (about 10 a second), every epoch's metrics, the best and test
metrics, the confusion matrix and any failure; `finish` adds the best and last weights as
safetensors bytes keyed by node id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import torch
from safetensors.torch import save as save_safetensors

from engine.runs import RunRecord
from engine.train.callbacks import Callback, EpochRecord, Failure, Progress
from engine.train.trainer import Trainer


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def flat_metrics(record: EpochRecord | None) -> dict[str, float]:
    """An epoch's metrics as one flat dict: epoch, train_loss, val_loss, val_accuracy, ..."""
    if record is None:
        return {}
    out: dict[str, float] = {"epoch": record.epoch}
    out.update({f"train_{k}": v for k, v in record.train.items()})
    out.update({f"val_{k}": v for k, v in record.val.items()})
    return out


class RunRecorder(Callback):
    """Fills a RunRecord while the run goes on."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        self.record.steps.append({"step": progress.step, "epoch": progress.epoch, "loss": progress.loss,
                                  "lr": progress.lr, "samples_per_s": round(progress.samples_per_s, 1),
                                  "elapsed_s": round(progress.elapsed_s, 3)})

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        self.record.epochs.append({"epoch": record.epoch, "train": record.train, "val": record.val,
                                   "lr": record.lr, "seconds": round(record.seconds, 3), "best": record.best})

    def on_error(self, trainer: Trainer, failure: Failure) -> None:
        self.record.error = {"message": failure.message, "kind": failure.kind, "node_id": failure.node_id}

    def on_run_end(self, trainer: Trainer, status: str) -> None:
        rec = self.record
        rec.status = status
        rec.finished = now_iso()
        rec.best = flat_metrics(trainer.best)
        rec.test = dict(trainer.test_metrics)
        confusion = trainer.test_confusion if trainer.test_confusion is not None else trainer.val_confusion
        rec.confusion = confusion.tolist() if confusion is not None else None

    def finish(self, trainer: Trainer) -> None:
        """Attach the weights: last as they are now, best from the best epoch (or last when the run
        kept no best weights: early_stopping.restore_best off)."""
        last = trainer.state_dict_cpu()
        self.record.weights["last"] = safetensors_bytes(last)
        best = trainer.best_state
        self.record.weights["best"] = safetensors_bytes(best) if best else self.record.weights["last"]


def safetensors_bytes(state: dict[str, Any]) -> bytes:
    """A state dict's tensors as safetensors bytes (host copies, contiguous)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    return save_safetensors(tensors)
