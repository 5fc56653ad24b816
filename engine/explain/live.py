"""Grad-CAM of one selected sample, refreshed at the end of every epoch while a classifier trains.

`LiveGradCam` is a training callback. Nothing happens until a sample is selected: the studio
sends ``{"cmd": "explain", "sample": {"split": "val", "index": 3}, "node": "conv2"}`` (node
optional: the last spatial node by default; ``"sample": null`` stops the refresh), which
`engine.train.control.Control` hands to `set_request`. From then on, at each epoch's end (and
once soon after a new selection, at the next progress report), it runs `grad_cam_once` on the
network being trained: one forward of that single sample with Captum's hook on the node and one
backward that stops at the node, in eval mode, with ``torch.autograd.grad`` (the parameters'
gradients and the optimiser are untouched). The result is an `engine.telemetry.Explanation`.
A request that cannot be served (an index past the split's end, a node that is not spatial) is
reported once as a warning in the log and dropped; it never fails the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from engine import telemetry as t
from engine.data.config import DatasetSplits
from engine.explain import GRAD_CAM, ExplainError, SampleRef
from engine.explain.attribution import grad_cam_once
from engine.train.callbacks import Callback, EpochRecord, Progress
from engine.train.trainer import Trainer

Emit = Callable[[t.Message], None]


def thumbnail(x: torch.Tensor) -> Any:
    """One image (1, C, H, W) as a uint8 (H, W, C) array, as the other pictures are sent."""
    from engine.data.preview import to_uint8_images

    return to_uint8_images(x)[0]


class LiveGradCam(Callback):
    """Refreshes Grad-CAM of the selected sample at every epoch's end (one forward, one backward)."""

    def __init__(self, run_id: str, emit: Emit, data: DatasetSplits, default_node: str | None) -> None:
        self.run_id, self.emit, self.data, self.default_node = run_id, emit, data, default_node
        self.sample: SampleRef | None = None
        self.node: str | None = None
        self._due = False  # a new selection is shown at the next progress report, not an epoch later
        self.refreshes = 0

    def set_request(self, command: dict[str, Any]) -> None:
        """Select a sample and node (from an ``explain`` command); a null sample stops the refresh."""
        raw = command.get("sample")
        if raw is None:
            self.sample = None
            return
        try:
            sample = SampleRef.from_json(raw)
        except ExplainError as exc:
            self.emit(t.Log(self.run_id, f"explanation request ignored: {exc}", "warning"))
            return
        node = command.get("node")
        self.sample, self.node = sample, str(node) if node else self.default_node
        self._due = True

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        if self._due:
            self._refresh(trainer, progress.epoch)

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        self._refresh(trainer, record.epoch)

    def _refresh(self, trainer: Trainer, epoch: int) -> None:
        self._due = False
        sample, node = self.sample, self.node
        if sample is None:
            return
        try:
            x, true = self._input(sample)
            x = x.to(trainer.setup.device)
            if node is None:
                raise ExplainError("Grad-CAM needs a node with a spatial output; the network has none")
            result = grad_cam_once(trainer.module, x, node)
        except Exception as exc:  # ExplainError, or a network Captum cannot explain: never fail the run
            self.sample = None
            self.emit(t.Log(self.run_id, f"live Grad-CAM stopped: {exc}", "warning"))
            return
        self.refreshes += 1
        self.emit(t.Explanation(self.run_id, epoch, sample.index, GRAD_CAM, node, thumbnail(x.cpu()),
                                result.heatmap, result.target, split=sample.split,
                                probability=result.probability, true=true))

    def _input(self, sample: SampleRef) -> tuple[torch.Tensor, int | None]:
        x, y = self.data.split(sample.split)
        if sample.index >= len(x):
            raise ExplainError(f"the {sample.split} split has {len(x)} samples; there is no sample "
                               f"{sample.index + 1}")
        one = x[sample.index:sample.index + 1]
        if one.dim() != 4 or not one.is_floating_point():
            raise ExplainError("explanations need image inputs (channels × height × width)")
        label = y[sample.index] if sample.index < len(y) else None
        return one.float(), int(label) if label is not None and label.numel() == 1 else None
