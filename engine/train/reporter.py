"""The callback that turns a training run into telemetry messages.

`TelemetryReporter` sends plain-dict messages (see `engine.telemetry`) to a sink function.
Always: run_started, every epoch, the validation confusion matrix (at most twice a second, and
for the last epoch), the test confusion matrix, log and error. With detail on
(settings.telemetry.enabled) also: step messages at the trainer's progress rate (about 10 a
second), feature maps of the probe nodes every ``feature_map_interval`` seconds, weight, gradient
and activation statistics every ``stats_interval`` seconds, and sample predictions along with the
confusion matrix. Feature maps and statistics are also sent for the initial weights (before the
first step) and the final ones (at the end of a completed or stopped run), so a short run shows
both and the periodic ones never need to come early. None of it runs per step: the reporter
works only at progress reports and epoch ends.
A run with a training recipe (autoencoder, vae, gan) sends its named loss terms on
every step message and, in place of sample predictions, the recipe's pictures
(`engine.train.recipes.pictures`: reconstructions, generated samples, latent points).
Feature maps come from a separate probe forward (`engine.train.probe.Probe`), never from hooks on
the training path. `set_probes` changes the probed nodes while the run goes
on. The finished message is the session's job (it knows where the weights went).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine import telemetry as t
from engine.data.preview import to_uint8_images
from engine.train.callbacks import Callback, EpochRecord, Failure, Progress
from engine.train.objective import predicted_classes
from engine.train.probe import Probe, activation_stats, feature_map_array, param_stats
from engine.train.recipes.pictures import recipe_pictures
from engine.train.trainer import Trainer

Sink = Callable[[dict[str, Any]], None]
SAMPLE_COUNT = 16
THUMB_SIDE = 64
RELU_TYPES = ("ReLU",)
PICTURE_INTERVAL = 0.5  # seconds between per-epoch pictures (confusion matrix, sample predictions)


class TelemetryReporter(Callback):
    """Sends a run's progress, pictures and statistics as telemetry dicts."""

    def __init__(self, run_id: str, sink: Sink, start_info: dict[str, Any], probe: Probe | None,
                 probes: list[str], relu_ids: list[str], class_names: list[str], detail: bool = True) -> None:
        self.run_id, self.sink, self.start_info = run_id, sink, start_info
        self.probe, self.probes, self.relu_ids = probe, list(probes), list(relu_ids)
        self.class_names = class_names
        self.detail = detail
        self._next_maps = 0.0
        self._next_stats = 0.0
        self._next_pictures = 0.0
        self._seconds = 0.0  # training time of the epochs so far (for the estimate of the time left)

    def emit(self, message: t.Message) -> None:
        self.sink(message.to_dict())

    def set_probes(self, node_ids: list[str]) -> None:
        self.probes = list(node_ids)
        self._next_maps = 0.0  # show the new nodes at the next report

    # ---- hooks ---------------------------------------------------------------------------
    def on_run_start(self, trainer: Trainer) -> None:
        s = trainer.settings
        self.emit(t.RunStarted(self.run_id, **self.start_info, epochs=s.epochs, probes=list(self.probes),
                               steps_per_epoch=trainer.setup.batches.steps_per_epoch))
        tel = s.telemetry
        self._maps_every, self._stats_every = tel.feature_map_interval, tel.stats_interval
        if self.detail:  # the initial weights and activations, before the first step (not in its way)
            self._look(trainer, time.monotonic())

    def on_run_end(self, trainer: Trainer, status: str) -> None:
        if self.detail and status in ("completed", "stopped"):  # the final ones, gradients of the last step too
            self._look(trainer, time.monotonic())

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        if not self.detail:
            return
        steps = trainer.setup.batches.steps_per_epoch
        recipe = trainer.setup.recipe
        parts = recipe.window_parts() if recipe is not None else {}  # the report has just synced
        self.emit(t.Step(self.run_id, progress.step, progress.epoch, progress.loss, progress.lr,
                         progress.samples_per_s, progress.epoch_step / max(steps, 1), parts))
        now = time.monotonic()
        if now >= self._next_maps or now >= self._next_stats:
            self._look(trainer, now, now >= self._next_stats)

    def _look(self, trainer: Trainer, now: float, stats: bool = True) -> None:
        """Feature maps of the probes and, when `stats`, weight, gradient and activation statistics."""
        if self.probe is not None:
            self._probe(trainer, stats)
        self._next_maps = now + self._maps_every
        if stats:
            self._param_stats(trainer)
            self._next_stats = now + self._stats_every

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        done = len(trainer.history)
        self._seconds += record.seconds  # a running total: no walk over the whole history every epoch
        mean = self._seconds / max(done, 1)
        eta = mean * max(trainer.settings.epochs - done, 0)
        self.emit(t.Epoch(self.run_id, record.epoch, record.train, record.val, record.lr, record.seconds,
                          record.best, eta))
        # very short epochs would flood the client with pictures: at most two a second, and the last one
        now = time.monotonic()
        last = trainer.should_stop or done == trainer.settings.epochs
        if now < self._next_pictures and not last:
            return
        self._next_pictures = now + PICTURE_INTERVAL
        if trainer.val_confusion is not None:
            self.emit(t.ConfusionMatrix(self.run_id, "val", record.epoch, trainer.val_confusion.numpy(),
                                        self.class_names))
        if self.detail and trainer.setup.recipe is not None:
            for message in recipe_pictures(trainer, self.run_id, record.epoch, self.class_names):
                self.emit(message)
        elif self.detail:
            self._sample_predictions(trainer, record.epoch)

    def on_test_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.test_confusion is not None:
            self.emit(t.ConfusionMatrix(self.run_id, "test", trainer.epoch, trainer.test_confusion.numpy(),
                                        self.class_names))

    def on_log(self, trainer: Trainer, text: str, level: str) -> None:
        self.emit(t.Log(self.run_id, text, level))

    def on_error(self, trainer: Trainer, failure: Failure) -> None:
        self.emit(t.Error(self.run_id, failure.message, failure.node_id, failure.traceback, failure.kind))

    # ---- pictures and statistics -----------------------------------------------------------
    def _probe(self, trainer: Trainer, with_stats: bool) -> None:
        assert self.probe is not None
        wanted = self.probes + (self.relu_ids if with_stats else [])
        if not wanted:
            return
        outputs = self.probe.capture(wanted)
        for node_id in self.probes:
            if node_id in outputs:
                out = outputs[node_id]
                self.emit(t.FeatureMaps(self.run_id, node_id, trainer.step, feature_map_array(out),
                                        list(out.shape[1:])))
        if with_stats:
            for node_id in self.relu_ids:
                if node_id in outputs:
                    self.emit(t.ActivationStats(self.run_id, node_id, trainer.step,
                                                **activation_stats(outputs[node_id], relu=True)))

    def _param_stats(self, trainer: Trainer) -> None:
        for grads, kind in ((False, t.ParamStats), (True, t.GradStats)):
            for node_id, params in param_stats(trainer.module, grads).items():
                self.emit(kind(self.run_id, node_id, trainer.step, params))

    def _sample_predictions(self, trainer: Trainer, epoch: int) -> None:
        x, y = trainer.setup.val if len(trainer.setup.val[0]) else (None, None)
        if x is None:
            return
        x, y = x[:SAMPLE_COUNT].to(trainer.setup.device), y[:SAMPLE_COUNT]
        module = trainer.module
        module.eval()
        try:
            with torch.no_grad(), trainer.setup.precision.autocast():
                out = module(x).float()
        finally:
            module.train()
        classify = trainer.setup.task == "classification"
        predicted = predicted_classes(out).tolist() if classify else out.reshape(len(out), -1)[:, :8].tolist()
        true = y.tolist() if classify else y.reshape(len(y), -1)[:, :8].tolist()
        self.emit(t.SamplePredictions(self.run_id, epoch, _thumbnails(x), true, predicted, self.class_names))


def _thumbnails(x: torch.Tensor) -> np.ndarray:
    """Images as uint8 (N, H, W, C) no larger than 64×64; other inputs as flat rows (≤256 values)."""
    if x.dim() == 4 and x.shape[1] in (1, 3) and x.is_floating_point():
        h, w = x.shape[2:]
        if max(h, w) > THUMB_SIDE:
            scale = THUMB_SIDE / max(h, w)
            x = F.interpolate(x.float(), size=(max(1, int(h * scale)), max(1, int(w * scale))), mode="area")
        return to_uint8_images(x)
    flat = x.reshape(len(x), -1)[:, :256].cpu()
    return flat.numpy() if flat.dtype == torch.int64 else flat.float().numpy()
