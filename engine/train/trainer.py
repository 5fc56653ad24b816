"""The training loop: epochs of steps, validation, the best weights, a test at the end.

`Trainer(setup, callbacks).fit()` trains and returns the final status: 'completed', 'stopped'
or 'failed'. Everything it needs arrives ready-made in a `TrainSetup` (see `engine.train.job`);
everything it reports goes through `Callback` hooks.

The hot loop never waits for the device. A step hands its output and loss to `MetricSums`
(reduced on the device every few steps), and the loop reads a number back only when a progress
report is due (``SYNC_INTERVAL``, about 10 times a second): there it brings the running loss sum
to the host and checks that it is finite, so a NaN or infinity is caught within one interval.
When a report finds the loss sum not finite, the batch that first failed (replayed from resident
data, or else the last batch) is run through the network node by node and the node at fault is
named (see `engine.train.diagnose`). By then the failing steps may have spoilt the weights, so the
trainer also keeps the recent weights (a flat device copy taken at progress reports, never more
often than keeps its cost under 1%): when the live weights are no longer finite, the batch is
replayed with the recent ones, which tells a node that overflows or data that holds NaN (named)
from training that diverged (the first node whose weights went non-finite, named as such). A
validation or test loss that is not finite fails the run too, naming the split and the node. Any
exception becomes a `Failure`; `fit` itself never raises.

To stop, set ``should_stop``; the step in flight finishes first (in data-parallel training, the
epoch in flight, since all ranks must run the same steps; rank 0's decision then holds for all).
When the run keeps the best weights (early_stopping.restore_best, on by default), the epochs that
improve the monitored metric (val_loss unless set otherwise) copy them into one flat device
buffer (`engine.train.snapshot`); ``best_state`` gives them as host tensors.
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import fx, nn

from engine.train.batches import Batches, eval_batches
from engine.train.callbacks import Callback, CallbackList, EpochRecord, Failure, Progress, metric_value
from engine.train.device import Precision
from engine.train.diagnose import NonFiniteLoss, describe_failure
from engine.train.lean import LeanCalls
from engine.train.objective import LossFn, MetricSums
from engine.train.optim import LRSchedule
from engine.train.settings import TrainingSettings
from engine.train.snapshot import WeightSnapshot

SYNC_INTERVAL = 0.1  # seconds between host syncs (progress reports and finiteness checks)
SNAPSHOT_BUDGET = 0.01  # the recent-weights copy may take at most this share of the training time
EVAL_BATCH_FACTOR = 4  # evaluation batches are this much larger than training batches

if TYPE_CHECKING:
    from engine.train.recipes.runtime import Recipe

TensorPair = tuple[torch.Tensor, torch.Tensor]


@dataclass
class TrainSetup:
    """Everything a run needs, built by `engine.train.job.build_setup`."""

    model: nn.Module  # what the loop calls (a DistributedDataParallel wrapper when data-parallel)
    module: fx.GraphModule  # the network itself
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    batches: Batches
    val: TensorPair
    test: TensorPair
    settings: TrainingSettings
    precision: Precision
    device: torch.device
    task: str
    num_classes: int | None
    names: dict[str, str] = field(default_factory=dict)  # node id -> node name, for messages
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    reduce: Callable[[MetricSums], None] | None = None  # sums training metrics across ranks
    agree: Callable[[bool], bool] | None = None  # rank 0's stop decision, on every rank
    world: int = 1
    recipe: Recipe | None = None  # autoencoder, vae, gan (engine.train.recipes); None: supervised
    notes: list[tuple[str, str]] = field(default_factory=list)  # (line, level) for the run's log at the start


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the objects that exist before training.

    torch, the built network and the data leave a few hundred thousand long-lived objects behind;
    a full collection walks all of them (tens of milliseconds, over a hundred on a busy machine)
    and the set-up's survivors make one due soon after a run starts, in the middle of its first
    epochs. Frozen, they are skipped: collections during training walk only what training itself
    made. Garbage among them waits for the thaw at the end (``gc.unfreeze``).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Trainer:
    """Runs one training run of a `TrainSetup`, reporting through callbacks."""

    def __init__(self, setup: TrainSetup, callbacks: Sequence[Callback] = ()) -> None:
        self.setup = setup
        self.settings = setup.settings
        self.callbacks = CallbackList(callbacks)
        self.should_stop = False
        self.stop_status = "stopped"
        self.status = "running"
        self.step = 0
        self.epoch = 0
        self.history: list[EpochRecord] = []
        self.best: EpochRecord | None = None
        es = setup.settings.early_stopping
        self._best_weights = WeightSnapshot(setup.module) if es.restore_best else None
        self._recent = WeightSnapshot(setup.module)  # finite weights of a recent report, for diagnosis
        self._next_snapshot = 0.0
        self.test_metrics: dict[str, float] = {}
        self.val_confusion: torch.Tensor | None = None
        self.test_confusion: torch.Tensor | None = None
        self.failure: Failure | None = None
        self.started = time.perf_counter()
        self._inputs: tuple[torch.Tensor, ...] | None = None  # the batch in flight, for diagnosis
        self._eval_mode = False  # whether the failing batch ran in eval mode (validation, test)
        self._synced = (0.0, 0, time.perf_counter(), 0)  # loss sum, batches, time, samples at last sync
        self._seen = 0
        self._next_sync = time.perf_counter() + SYNC_INTERVAL
        self._calls = LeanCalls(setup.model, setup.loss_fn)
        # one set of training sums for the whole run, zeroed every epoch (no allocations per epoch)
        self._train_sums = MetricSums(self.settings.metrics, setup.task, setup.num_classes, setup.device,
                                      self.settings.top_k, keep_step_losses=setup.world == 1)

    # ---- public helpers for callbacks ---------------------------------------------
    @property
    def module(self) -> fx.GraphModule:
        return self.setup.module

    @property
    def lr(self) -> float:
        return self.setup.schedule.lr

    @property
    def best_state(self) -> dict[str, torch.Tensor] | None:
        """Host copies of the best epoch's weights, when the run keeps them (else None)."""
        return self._best_weights.state_dict() if self._best_weights is not None else None

    def mark_idle(self) -> None:
        """Forget the time since the last report (after a pause, so samples/s stays honest)."""
        total, batches, _, seen = self._synced
        self._synced = (total, batches, time.perf_counter(), seen)

    def log(self, text: str, level: str = "info") -> None:
        self.callbacks.call("on_log", self, text, level)

    # ---- the run -------------------------------------------------------------------------
    def fit(self) -> str:
        """Train for the configured epochs (or until stopped); returns the final status."""
        try:
            self._recent.capture()  # the initial weights, so even a failing first step is diagnosed
            self.callbacks.call("on_run_start", self)
            if self.setup.precision.note:
                self.log(self.setup.precision.note, "warning")
            for note, level in self.setup.notes:
                self.log(note, level)
            with _gc_frozen():
                self._epochs()
            self.status = self.stop_status if self.should_stop else "completed"
            self._finish()
        except Exception as exc:
            self._fail(exc)
        self.callbacks.call("on_run_end", self, self.status)
        return self.status

    def _epochs(self) -> None:
        for epoch in range(self.settings.epochs):
            if self.should_stop:
                return
            self.epoch = epoch
            self.callbacks.call("on_epoch_start", self, epoch)
            start = time.perf_counter()
            train = self._train_epoch(epoch)
            if math.isnan(train.get("loss", 0.0)) and self.should_stop:
                return  # stopped before the first step of the epoch
            val = self._validate()
            self._end_epoch(EpochRecord(epoch, train, val, self.lr, time.perf_counter() - start))

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        s = self.setup
        model, opt, schedule, augment = s.model, s.optimizer, s.schedule, s.augment
        # the forward and loss without Module.__call__ where no hook would run (engine.train.lean)
        forward, loss_fn = self._calls.current()
        scaler, clip, autocast = s.precision.scaler, self.settings.grad_clip, s.precision.autocast
        mixed, varying_lr = s.precision.dtype is not None, not schedule.constant
        step_callbacks = self.callbacks.step_callbacks
        custom = s.recipe.step if s.recipe is not None else None  # a recipe's own step (a GAN's two networks)
        sums = self._train_sums
        sums.reset()
        self._synced = (0.0, 0, self._synced[2], self._seen)
        if not model.training:  # evaluation and probes put it back themselves: no walk over every module
            model.train()
        for xb, yb in s.batches.epoch(epoch):
            if augment is not None:
                xb = augment(xb)
            self._inputs = (xb,)
            if varying_lr:  # a Python call per step saved where the rate never changes
                schedule.before_step(self.step)
            if custom is not None:
                out, yb, loss = custom(xb, yb)
            else:
                if mixed:
                    with autocast():
                        out = forward(xb)
                        loss = loss_fn(out, yb)
                else:
                    out = forward(xb)
                    loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    if clip:
                        nn.utils.clip_grad_norm_(model.parameters(), clip)
                    opt.step()
                else:
                    self._scaled_step(loss, scaler, clip)
            sums.update(out, yb, loss)
            self.step += 1
            self._seen += yb.shape[0] * s.world  # shape, not len(): no Python-level Tensor.__len__
            for callback in step_callbacks:
                callback.on_step_end(self)
            if self.should_stop or time.perf_counter() >= self._next_sync:
                self._sync(sums, epoch)
                self._next_sync = time.perf_counter() + SYNC_INTERVAL
                forward, loss_fn = self._calls.current()  # a hook added by a callback takes effect here
            if self.should_stop and s.agree is None:  # data-parallel ranks stop together, at the epoch's end
                break
        last_epoch = self.should_stop or epoch == self.settings.epochs - 1
        if last_epoch and sums.batches > self._synced[1]:  # even a run shorter than a report gets one
            self._sync(sums, epoch)
        if s.reduce is not None:
            sums.flush()
            s.reduce(sums)
        result = sums.result() or {"loss": math.nan}
        if s.recipe is not None:  # the named loss terms beside the loss
            result.update(s.recipe.epoch_parts(training=True))
        if s.world == 1:
            self._check_training_loss(sums, epoch)
        self._check_finite(result["loss"], sums.batches)
        return result

    def _scaled_step(self, loss: torch.Tensor, scaler: torch.amp.GradScaler, clip: float | None) -> None:
        opt = self.setup.optimizer
        scaler.scale(loss).backward()
        if clip:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(self.setup.model.parameters(), clip)
        scaler.step(opt)
        scaler.update()

    def _sync(self, sums: MetricSums, epoch: int) -> None:
        """Bring the running loss to the host (the loop's one sync), check it, and report progress."""
        sums.flush_losses()  # the metrics wait for the epoch's end (or FLUSH_STEPS): a report needs the loss only
        total, batches = float(sums.loss), sums.batches
        last_total, last_batches, last_time, last_seen = self._synced
        now = time.perf_counter()
        window = batches - last_batches
        loss = (total - last_total) / window if window else math.nan
        if self.setup.world == 1:  # data-parallel ranks check together at the epoch's end
            self._check_training_loss(sums, epoch, total)
            self._keep_recent(now)
        rate = (self._seen - last_seen) / max(now - last_time, 1e-9)
        self._synced = (total, batches, now, self._seen)
        progress = Progress(self.step, epoch, batches, loss, self.lr, rate, now - self.started)
        self.callbacks.call("on_progress", self, progress)

    def _keep_recent(self, now: float) -> None:
        """Copy the (finite) weights for diagnosis, no more often than SNAPSHOT_BUDGET allows."""
        if now < self._next_snapshot:
            return
        start = time.perf_counter()
        self._recent.capture()
        cost = time.perf_counter() - start
        self._next_snapshot = now + max(SYNC_INTERVAL, cost / SNAPSHOT_BUDGET)

    def _check_training_loss(self, sums: MetricSums, epoch: int, total: float | None = None) -> None:
        """Fail when the loss sum is not finite, pointing the diagnosis at the batch that first failed."""
        steps = sums.take_step_losses()
        if total is None:
            total = float(sums.loss)
        if math.isfinite(total) or not sums.batches:
            return
        if steps is not None and len(steps):
            bad = (~torch.isfinite(steps)).nonzero()
            first = sums.batches - len(steps) + int(bad[0]) if len(bad) else None
            replay = getattr(self.setup.batches, "batch_at", None)
            if first is not None and replay is not None:
                xb = replay(first)[0]
                self._inputs = (self.setup.augment(xb) if self.setup.augment is not None else xb,)
        raise NonFiniteLoss("the training loss is not finite", "training")

    def _check_finite(self, loss_sum: float, batches: int) -> None:
        if batches and not math.isfinite(loss_sum):
            raise NonFiniteLoss("the training loss is not finite", "training")

    # ---- evaluation ---------------------------------------------------------------------
    def evaluate(self, data: TensorPair, confusion: bool = False,
                 split: str = "evaluation") -> tuple[dict[str, float], torch.Tensor | None]:
        """Loss and metrics of the network on (x, y), in eval mode; optionally a confusion matrix.

        A loss that is not finite raises `NonFiniteLoss` for `split`, with the first batch whose
        loss was not finite kept for the diagnosis.
        """
        s = self.setup
        x, y = data
        if len(x) == 0:
            return {}, None
        size = self.settings.batch_size * EVAL_BATCH_FACTOR
        if s.recipe is not None and s.recipe.evaluate is not None:  # a GAN's two networks
            result = s.recipe.evaluate(data, size)
            if not math.isfinite(result.get("loss", 0.0)):
                raise NonFiniteLoss(f"the {split} loss is not finite", split)
            return result, None
        sums = MetricSums(self.settings.metrics, s.task, s.num_classes, s.device, self.settings.top_k,
                          confusion, keep_step_losses=True, per_sample=True)
        s.module.eval()
        try:
            with torch.no_grad(), s.precision.autocast():
                for xb, yb in eval_batches(x, y, size, s.device):
                    self._inputs = (xb,)
                    out = s.module(xb)
                    sums.update(out, yb, s.loss_fn(out, yb))
        finally:
            s.module.train()
        result = sums.result()
        if s.recipe is not None:
            result.update(s.recipe.epoch_parts(training=False))
        if not math.isfinite(result["loss"]):
            self._keep_failing_batch(sums, x, size)
            raise NonFiniteLoss(f"the {split} loss is not finite", split)
        return result, sums.confusion_matrix()

    def _keep_failing_batch(self, sums: MetricSums, x: torch.Tensor, size: int) -> None:
        """Point the diagnosis at the first evaluation batch whose loss was not finite (in eval mode)."""
        steps = sums.take_step_losses()
        bad = (~torch.isfinite(steps)).nonzero() if steps is not None else None
        if bad is not None and len(bad):
            i = int(bad[0]) * size
            self._inputs = (x[i:i + size].to(self.setup.device),)
        self._eval_mode = True

    def _validate(self) -> dict[str, float]:
        val, self.val_confusion = self.evaluate(self.setup.val, confusion=True, split="validation")
        if val:
            self.callbacks.call("on_validation_end", self, val)
        return val

    def _end_epoch(self, record: EpochRecord) -> None:
        self.setup.schedule.after_epoch(record.val.get("loss"), self.step)
        record.best = self._is_best(record)
        if record.best:
            self.best = record
            if self._best_weights is not None:
                self._best_weights.capture()
        self.history.append(record)
        self.callbacks.call("on_epoch_end", self, record)
        if self.setup.agree is not None:
            self.should_stop = self.setup.agree(self.should_stop)

    def _is_best(self, record: EpochRecord) -> bool:
        metric = self.settings.early_stopping.metric
        value = metric_value(record, metric)
        if value is None:
            value = metric_value(record, "train_loss")
            metric = "train_loss"
        if value is None:
            return False
        if self.best is None or (self.setup.recipe is not None and self.setup.recipe.best_is_last):
            return True
        previous = metric_value(self.best, metric)
        if previous is None:
            return True
        return value > previous if self.settings.monitor_mode == "max" and metric != "train_loss" \
            else value < previous

    # ---- the end ------------------------------------------------------------------------
    def _finish(self) -> None:
        es = self.settings.early_stopping
        kept = self._best_weights is not None and self._best_weights.captured
        if es.enabled and kept and self.best is not self.history[-1]:
            assert self._best_weights is not None and self.best is not None
            self._best_weights.restore()
            self.log(f"restored the best weights (epoch {self.best.epoch + 1})")
        if self.status == "completed" and len(self.setup.test[0]):
            self.test_metrics, self.test_confusion = self.evaluate(self.setup.test, confusion=True, split="test")
            self.callbacks.call("on_test_end", self, self.test_metrics)

    def _fail(self, exc: BaseException) -> None:
        s = self.setup
        training = s.module.training
        if self._eval_mode:  # replay an evaluation batch as it ran (BatchNorm statistics, no dropout)
            s.module.eval()
        try:
            self.failure = self._describe(exc)
        finally:
            s.module.train(training)
        self.status = "failed"
        try:
            self.callbacks.call("on_error", self, self.failure)
        except Exception as inner:  # a broken callback must not hide the original failure
            self.failure.traceback += f"\n(and a callback failed while reporting it: {inner!r})"

    def _describe(self, exc: BaseException) -> Failure:
        """The failure, diagnosed with the recent weights when the live ones were spoilt by it."""
        s = self.setup
        if s.recipe is not None and s.recipe.step_inputs is not None and self._inputs and len(self._inputs) == 1:
            self._inputs = s.recipe.step_inputs(self._inputs[0])  # a GAN's network takes noise and samples
        failure = describe_failure(exc, s.module, self._inputs, s.names, self.settings.batch_size, self.lr,
                                   s.precision.autocast)
        spoilt = isinstance(exc, NonFiniteLoss) and exc.split == "training" and self._recent.captured and \
            not all(bool(torch.isfinite(p).all()) for p in s.module.parameters())
        if not spoilt:
            return failure
        self._recent.restore()  # the run is over: the last weights saved are the recent finite ones
        earlier = describe_failure(exc, s.module, self._inputs, s.names, self.settings.batch_size, self.lr,
                                   s.precision.autocast)
        # with finite weights, a node that still overflows (or data that holds NaN) is the cause; if
        # every output is finite again, the weights diverged, as the first diagnosis says
        return earlier if earlier.node_id is not None else failure

    def state_dict_cpu(self) -> dict[str, Any]:
        """The current weights, copied to the host (for saving)."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
