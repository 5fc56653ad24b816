"""A 2-D view of any node's activations: their first two principal components, coloured by class.

`PcaProbe` is a training callback. It keeps a fixed validation batch (the first `PCA_SAMPLES`
validation samples, fewer when a node's activations would be large) on the device and, at the end
of an epoch (at most every `INTERVAL` seconds, and always for the last epoch) and soon after the
probed node changes, runs one no-grad forward in eval mode with a hook on the probed node only
(`engine.train.probe.Probe`), flattens each sample's activation and projects it onto the two
leading principal components (`pca_points`). The node is the first of the run's feature-map
probes, so choosing a node on the canvas (``set_probes``) chooses it here too. The result is an
`engine.telemetry.LatentPoints` with ``method="pca"`` and the node's id; labels are the classes
(-1 for regression targets).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import fx

from engine import telemetry as t
from engine.train.callbacks import Callback, EpochRecord, Progress
from engine.train.probe import Probe
from engine.train.trainer import Trainer

PCA_SAMPLES = 256
MAX_VALUES = 8_000_000  # samples × features projected at once (32 MB of float32)
INTERVAL = 2.0  # seconds between projections: bounds the cost (a 256-sample forward) and the flow of pictures

Emit = Callable[[t.Message], None]


def pca_points(activations: torch.Tensor, previous: np.ndarray | None = None) -> np.ndarray:
    """(N, ...) activations as (N, 2) float32: their coordinates on the two leading principal axes.

    Computed from the N×N Gram matrix of the centred rows (N is small, the features may be many),
    in float64. Each axis's sign is chosen to agree with `previous` (the last epoch's points of the
    same samples), so the cloud does not flip from one epoch to the next.
    """
    a = activations.detach().reshape(len(activations), -1).double()
    a = torch.nan_to_num(a - a.mean(dim=0, keepdim=True))
    values, vectors = torch.linalg.eigh(a @ a.T)
    order = torch.argsort(values, descending=True)[:2]
    points = vectors[:, order] * values[order].clamp_min(0.0).sqrt()
    if points.shape[1] < 2:
        points = torch.cat([points, torch.zeros(len(points), 2 - points.shape[1], dtype=points.dtype)], dim=1)
    out = points.cpu().numpy().astype(np.float32)
    if previous is not None and previous.shape == out.shape:
        for k in range(2):
            if float(np.dot(out[:, k], previous[:, k])) < 0:
                out[:, k] = -out[:, k]
    return out


class PcaProbe(Callback):
    """Sends the PCA projection of the probed node's activations on a fixed validation batch."""

    def __init__(self, run_id: str, emit: Emit, module: fx.GraphModule, inputs: torch.Tensor, input_id: str,
                 labels: np.ndarray, class_names: list[str], nodes: list[str]) -> None:
        self.run_id, self.emit = run_id, emit
        self.probe = Probe(module, (inputs,), [input_id])
        self.labels, self.class_names = labels, list(class_names)
        self.node: str | None = None
        self._previous: np.ndarray | None = None
        self._due = False
        self._next = 0.0
        self.set_nodes(nodes)

    def set_nodes(self, node_ids: list[str]) -> None:
        node = next((n for n in node_ids if n not in self.probe.input_ids), None)
        if node != self.node:
            self.node, self._previous, self._due = node, None, node is not None

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        if self._due:
            self._project(progress.epoch)

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        last = trainer.should_stop or record.epoch == trainer.settings.epochs - 1
        if last or time.monotonic() >= self._next:
            self._project(record.epoch)

    def _project(self, epoch: int) -> None:
        self._due = False
        node = self.node
        if node is None:
            return
        self._next = time.monotonic() + INTERVAL
        try:
            activation = self.probe.capture([node]).get(node)
        except Exception as exc:  # a network this probe cannot feed: say so once, never fail the run
            self.node = None
            self.emit(t.Log(self.run_id, f"the PCA view of '{node}' stopped: {exc}", "warning"))
            return
        if activation is None or not activation.is_floating_point():
            return
        count = max(2, min(len(activation), MAX_VALUES // max(activation[0].numel(), 1)))
        points = pca_points(activation[:count], self._previous)
        self._previous = points
        self.emit(t.LatentPoints(self.run_id, epoch, points, self.labels[:count], self.class_names,
                                 node_id=node, method="pca"))


def pca_inputs(x: torch.Tensor, y: torch.Tensor, classify: bool) -> tuple[torch.Tensor, np.ndarray]:
    """The fixed batch (first PCA_SAMPLES samples) and its labels (-1 where there are no classes)."""
    x = x[:PCA_SAMPLES]
    if classify and y.dim() == 1:
        labels = y[:PCA_SAMPLES].to(torch.int64).cpu().numpy()
    else:
        labels = np.full(len(x), -1, dtype=np.int64)
    return x, labels
