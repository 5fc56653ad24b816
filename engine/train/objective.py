"""What training minimises and what it measures: the loss function and on-device metric sums.

`make_loss` turns the loss settings and the dataset's task into a function of (output, target)
that handles the target conversions each loss needs (class indices to one-hot floats for
bce_with_logits, a 1-column output for binary bce). `MetricSums` accumulates loss, correct
counts, top-k counts, absolute errors and a confusion matrix as device tensors, so a training or
evaluation loop never waits for the device; `result()` syncs once and returns plain floats.

A step only hands its output, target and loss to `MetricSums.update` (a list append): every
`FLUSH_STEPS` batches they are reduced together on the device (one stack of the losses, one
concatenation of the outputs, one argmax...), so the per-step cost of the metrics is a few
nanoseconds of Python instead of half a dozen small kernels. With ``keep_step_losses`` the
per-step losses stay available (on the device) until `take_step_losses`, so a loop that finds the
loss sum non-finite can say at which step it first was.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.train.settings import TrainingSettings

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FLUSH_STEPS = 16  # batches held before their metrics are reduced on the device (bounds the memory held)


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
                 top_k: int = 5, confusion: bool = False, keep_step_losses: bool = False,
                 per_sample: bool = False) -> None:
        self.metrics = list(metrics)
        # Evaluation means the loss over samples, so a short last batch weighs by its size and the
        # result does not depend on the batch size; training means the steps' losses (what they minimised).
        self.per_sample = per_sample
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
        self._need_pred = self.classify and ("accuracy" in self.metrics or want_confusion)
        self._need_outputs = self._need_pred or (self.classify and "top_k" in self.metrics) or \
            (not self.classify and "mae" in self.metrics)
        self._pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._keep_steps = keep_step_losses
        self._step_losses: list[torch.Tensor] = []

    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch; `loss` is the batch mean. Never syncs, and launches no work on most calls."""
        if self.per_sample:
            loss = loss * target.shape[0]
        self._pending.append((output, target, loss))
        self.batches += 1
        self.samples += target.shape[0]
        if len(self._pending) >= FLUSH_STEPS:
            self.flush()

    def flush(self) -> None:
        """Reduce the batches held so far into the sums (device work only, no sync)."""
        if not self._pending:
            return
        outputs, targets, losses = zip(*self._pending)
        self._pending.clear()
        with torch.no_grad():
            step_losses = torch.stack(losses).float() if len(losses) > 1 else losses[0].detach().float().view(1)
            self.loss += step_losses.sum()
            if self._keep_steps:
                self._step_losses.append(step_losses)
            if not self._need_outputs:
                return
            output = torch.cat(outputs) if len(outputs) > 1 else outputs[0].detach()
            target = torch.cat(targets) if len(targets) > 1 else targets[0]
            if self.classify:
                self._update_classes(output, target)
            else:
                self.abs_error += (output.float() - target).abs().sum()
                self.elements += target.numel()

    def take_step_losses(self) -> torch.Tensor | None:
        """The per-step losses since the last call (a device tensor), when kept."""
        self.flush()
        if not self._step_losses:
            return None
        losses = torch.cat(self._step_losses)
        self._step_losses.clear()
        return losses

    def _update_classes(self, output: torch.Tensor, target: torch.Tensor) -> None:
        if self._need_pred:
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
        self.flush()
        if self.batches == 0:
            return {}
        out = {"loss": float(self.loss) / (max(self.samples, 1) if self.per_sample else self.batches)}
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
        self.flush()
        if self.confusion is None:
            return None
        return self.confusion.view(self.num_classes, self.num_classes).cpu()
