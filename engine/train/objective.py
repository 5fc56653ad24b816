"""What training minimises and what it measures: the loss function and on-device metric sums.

`make_loss` turns the loss settings and the dataset's task into a function of (output, target)
that handles the target conversions each loss needs (class indices to one-hot floats for
bce_with_logits, a 1-column output for binary bce). `MetricSums` accumulates loss, correct
counts, top-k counts, absolute errors and a confusion matrix as device tensors, so a training or
evaluation loop never waits for the device; `result()` syncs once and returns plain floats.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.train.settings import TrainingSettings

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_loss(settings: TrainingSettings, task: str, num_classes: int | None) -> LossFn:
    """The loss of `settings` for a dataset of `task` ('classification' or 'regression')."""
    kind = settings.loss.kind
    if kind == "cross_entropy":
        return nn.CrossEntropyLoss(label_smoothing=settings.loss.label_smoothing)
    if kind == "nll":
        return nn.NLLLoss()
    if kind == "bce_with_logits":
        return _bce(task, num_classes)
    return {"mse": nn.MSELoss(), "l1": nn.L1Loss(), "smooth_l1": nn.SmoothL1Loss()}[kind]


def _bce(task: str, num_classes: int | None) -> LossFn:
    if task != "classification":
        return nn.BCEWithLogitsLoss()

    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.shape[-1] == 1:  # binary: one logit per sample
            wanted = target.to(output.dtype).unsqueeze(-1)
        else:
            wanted = F.one_hot(target, output.shape[-1]).to(output.dtype)
        return F.binary_cross_entropy_with_logits(output, wanted)

    return loss


def predicted_classes(output: torch.Tensor) -> torch.Tensor:
    """Class indices from logits (N, C), or from one binary logit (N, 1)."""
    if output.shape[-1] == 1:
        return (output[..., 0] > 0).long()
    return output.argmax(dim=-1)


class MetricSums:
    """Running sums of the loss and the chosen metrics, kept on the device."""

    def __init__(self, metrics: list[str], task: str, num_classes: int | None, device: torch.device,
                 top_k: int = 5, confusion: bool = False) -> None:
        self.metrics = list(metrics)
        self.classify = task == "classification"
        self.num_classes = num_classes or 0
        self.top_k = top_k
        self.device = device
        count = torch.zeros((), device=device, dtype=torch.int64)
        self.loss = torch.zeros((), device=device)
        self.batches = 0
        self.samples = 0
        self.correct = count.clone()
        self.top_correct = count.clone()
        self.abs_error = torch.zeros((), device=device)
        self.elements = 0
        want_confusion = confusion and self.classify and self.num_classes > 0
        self.confusion = torch.zeros(self.num_classes ** 2, device=device, dtype=torch.int64) \
            if want_confusion else None

    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch; `loss` is the batch mean. Never syncs with the device."""
        self.loss += loss.detach()
        self.batches += 1
        self.samples += len(target)
        output = output.detach()
        if self.classify:
            self._update_classes(output, target)
        elif "mae" in self.metrics:
            self.abs_error += (output.float() - target).abs().sum()
            self.elements += target.numel()

    def _update_classes(self, output: torch.Tensor, target: torch.Tensor) -> None:
        need_pred = "accuracy" in self.metrics or self.confusion is not None
        if need_pred:
            pred = predicted_classes(output)
            if "accuracy" in self.metrics:
                self.correct += (pred == target).sum()
            if self.confusion is not None:
                self.confusion += torch.bincount(target * self.num_classes + pred,
                                                 minlength=self.num_classes ** 2)
        if "top_k" in self.metrics and output.shape[-1] > self.top_k:
            top = output.topk(self.top_k, dim=-1).indices
            self.top_correct += (top == target.unsqueeze(-1)).any(dim=-1).sum()

    def result(self) -> dict[str, float]:
        """Mean loss and metrics as plain floats (one device sync)."""
        if self.batches == 0:
            return {}
        out = {"loss": float(self.loss) / self.batches}
        n = max(self.samples, 1)
        if self.classify and "accuracy" in self.metrics:
            out["accuracy"] = float(self.correct) / n
        if self.classify and "top_k" in self.metrics:
            out["top_k"] = float(self.top_correct) / n
        if not self.classify and "mae" in self.metrics:
            out["mae"] = float(self.abs_error) / max(self.elements, 1)
        return out

    def confusion_matrix(self) -> torch.Tensor | None:
        """(true, predicted) counts on the CPU, or None when not collected."""
        if self.confusion is None:
            return None
        return self.confusion.view(self.num_classes, self.num_classes).cpu()
