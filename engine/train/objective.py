"""What training minimises and what it measures: the loss function and on-device metric sums.

`make_loss` turns the loss settings and the dataset's task into a function of (output, target)
that handles the target conversions each loss needs (class indices to one-hot floats for
bce_with_logits, a 1-column output for binary bce). `MetricSums` accumulates loss, correct
counts, top-k counts, absolute errors and a confusion matrix as device tensors, so a training or
evaluation loop never waits for the device; `result()` syncs once and returns plain floats.

A step only hands its output, target and loss to `MetricSums.update` (list appends): the losses
are reduced when the loop reads the loss (one stack, at its progress reports), the outputs when
`FLUSH_STEPS` batches or about `FLUSH_BYTES` of them are held, or the epoch ends (one
concatenation, one max...), so the per-step cost of the metrics is a few nanoseconds of Python
instead of half a dozen small kernels, and a progress report reduces the losses only. Predicted
classes come from ``max(dim=-1)``, which picks the first maximal class as ``argmax`` does and on
the CPU costs a third to three quarters less. One `MetricSums` serves a whole run: `reset` zeroes
it for the next epoch without allocating. With ``keep_step_losses`` the per-step losses stay
available (on the device) until `take_step_losses`, so a loop that finds the loss sum non-finite
can say at which step it first was.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.train.settings import TrainingSettings

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FLUSH_STEPS = 64  # at most this many batches' outputs are held before their metrics are reduced on the device
FLUSH_BYTES = 4 * 2**20  # and at most about this many bytes of them (a segmentation network's outputs are big)


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
    # max's indices are argmax's (the first maximal class), and on the CPU max costs far less
    return output.max(dim=-1).indices


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
        self.correct = count.clone()
        self.top_correct = count.clone()
        self.abs_error = torch.zeros((), device=device)
        want_confusion = confusion and self.classify and self.num_classes > 0
        self.confusion = torch.zeros(self.num_classes ** 2, device=device, dtype=torch.int64) \
            if want_confusion else None
        self._need_pred = self.classify and ("accuracy" in self.metrics or want_confusion)
        self._need_outputs = self._need_pred or (self.classify and "top_k" in self.metrics) or \
            (not self.classify and "mae" in self.metrics)
        self._keep_steps = keep_step_losses
        self._hold = 0  # outputs held before a flush: set from the first batch's size
        self.reset(zero=False)

    def reset(self, zero: bool = True) -> None:
        """Start over (a new epoch): the sums are zeroed in place, nothing is allocated."""
        self.batches = 0
        self.samples = 0
        self.elements = 0
        self._losses: list[torch.Tensor] = []
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._step_losses: list[torch.Tensor] = []
        if zero:
            for total in (self.loss, self.correct, self.top_correct, self.abs_error, self.confusion):
                if total is not None:
                    total.zero_()

    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch; `loss` is the batch mean. Never syncs, and launches no work on most calls."""
        if self.per_sample:
            loss = loss * target.shape[0]
        self._losses.append(loss)
        self.batches += 1
        self.samples += target.shape[0]
        if self._need_outputs:
            self._pending.append((output, target))
            if len(self._pending) >= self._hold:
                self._flush_outputs()

    def flush(self) -> None:
        """Reduce the batches held so far into the sums (device work only, no sync)."""
        self.flush_losses()
        self._flush_outputs()

    def flush_losses(self) -> None:
        """Reduce the held losses into the loss sum (all a progress report needs; device work only)."""
        if not self._losses:
            return
        losses, self._losses = self._losses, []
        with torch.no_grad():
            step_losses = torch.stack(losses).float() if len(losses) > 1 else losses[0].detach().float().view(1)
            self.loss += step_losses.sum()
            if self._keep_steps:
                self._step_losses.append(step_losses)

    def _flush_outputs(self) -> None:
        if not self._pending:
            return
        if not self._hold:  # the first flush: from now on hold as many outputs as fit FLUSH_BYTES
            first = self._pending[0][0]
            self._hold = max(1, min(FLUSH_STEPS, FLUSH_BYTES // max(1, first.numel() * first.element_size())))
            if len(self._pending) < self._hold:
                return
        outputs, targets = zip(*self._pending)
        self._pending = []
        with torch.no_grad():
            output = torch.cat(outputs) if len(outputs) > 1 else outputs[0].detach()
            target = torch.cat(targets) if len(targets) > 1 else targets[0]
            if self.classify:
                self._update_classes(output, target)
            else:
                self.abs_error += (output.float() - target).abs().sum()
                self.elements += target.numel()

    def take_step_losses(self) -> torch.Tensor | None:
        """The per-step losses since the last call (a device tensor), when kept."""
        self.flush_losses()
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
