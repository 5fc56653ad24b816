"""The learning-rate finder: an exponential sweep of the rate, a smoothed loss curve and the valley rule.

`find_lr(setup, config)` trains the network of a `TrainSetup` (the same setup a run builds:
`engine.train.setup.build_setup`, so batches, loss, augmentation and precision are the run's own)
for ``config.steps`` steps while the learning rate grows exponentially from ``start_lr`` to
``end_lr``. After every step the loss is read (the finder is short, so one sync per step is fine)
and smoothed with an exponential moving average, bias-corrected as Adam does
(``avg / (1 - beta**n)``), so the first points are not dragged towards zero. The sweep stops early
when the smoothed loss passes ``diverge`` times the best smoothed loss so far (or is no longer
finite): past that point the rate is far too high and the curve says nothing more.

The suggestion is the valley rule of fastai's ``valley``: the longest stretch of the smoothed
curve over which the loss keeps falling (the longest decreasing subsequence, counting only falls
larger than ``NOISE`` of the curve's whole fall, so the flat start does not stretch it), and the
rate half way down it. A curve without such a valley (it never falls for long: fewer than
``MIN_VALLEY`` points, or by less than ``MIN_DROP`` of the loss) is degenerate; then the
suggestion is the rate at the minimum of the smoothed loss divided by ten. The steepest-slope rule
is never used: on small networks its noisy gradient often points at a rate orders of magnitude too
small.

Everything the sweep changes is put back bit for bit afterwards, also when it fails or is stopped:
the module's parameters and buffers (BatchNorm statistics included), the optimiser's state and
parameter groups, train/eval mode, and every random generator it may draw from (torch's, CUDA's,
numpy's, Python's, and the generators of the batches and the augmenter).

The settings are `engine.train.lr_find_config.LRFindConfig` (light, for the studio and the CLI);
the worker's entry, which checks and sets up a job like a training run and streams the points, is
`engine.train.lr_find_job.run_lr_find`. No Qt here.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.train.lr_find_config import LRFindConfig, LRFindError
from engine.train.trainer import TrainSetup

__all__ = ["LRFindConfig", "LRFindError", "LRFindResult", "find_lr", "longest_valley", "smooth", "suggest"]

SEND_INTERVAL = 0.1  # seconds between streamed batches of points
MIN_VALLEY = 5  # a valley of fewer smoothed points is degenerate
MIN_DROP = 0.01  # ... and so is one whose loss falls by less than this share of it
NOISE = 0.003  # a fall of the smoothed loss smaller than this share of the curve's whole fall is noise


@dataclass
class LRFindResult:
    """The sweep's points and what it suggests."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # raw batch losses
    smoothed: list[float] = field(default_factory=list)  # bias-corrected moving average
    suggestion: float | None = None
    method: str = "valley"  # valley, or minimum/10 when the valley is degenerate
    valley: tuple[int, int] | None = None  # first and last index of the valley (method valley)
    stop_reason: str = "completed"  # completed, diverged, stopped

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def smooth(losses: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average of `losses` (as the finder computes it step by step)."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float | None, str, tuple[int, int] | None]:
    """(suggested rate, method, valley) by the valley rule; see the module docstring."""
    points = [(lr, s) for lr, s in zip(lrs, smoothed) if math.isfinite(s)]
    if not points:
        return None, "none", None
    rates, losses = [p[0] for p in points], [p[1] for p in points]
    lowest = min(range(len(losses)), key=losses.__getitem__)
    start, end = longest_valley(losses, NOISE * (max(losses[:lowest + 1]) - losses[lowest]))
    drop = losses[start] - losses[end]
    if end - start + 1 >= MIN_VALLEY and drop > MIN_DROP * abs(losses[start]):
        third = (end - start) / 3
        # never past the minimum: a valley that only recovers from a spike says nothing good about its rates
        return min(rates[start + int(third) + int(third / 2)], rates[lowest]), "valley", (start, end)
    return rates[lowest] / 10.0, "minimum/10", None


def longest_valley(losses: list[float], noise: float = 0.0) -> tuple[int, int]:
    """The valley of fastai's ``valley``: the longest decreasing subsequence of `losses` gives its length
    and its last point; the valley is that many points ending there. A point only counts as lower than
    an earlier one when it is lower by more than `noise`: on the flat start of a sweep the smoothed loss
    creeps down by tiny amounts (an adaptive optimiser learns a little even at 1e-6), and counting those
    stretches the valley far to the left and pulls the suggestion an order of magnitude too low."""
    n = len(losses)
    length = [1] * n
    best_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[j] - losses[i] > noise and length[i] < length[j] + 1:
                length[i] = length[j] + 1
        if length[best_end] < length[i]:
            best_end = i
    return max(0, best_end - length[best_end] + 1), best_end


# ---- restoring everything the sweep touches -----------------------------------------------
class _Saved:
    """The module, optimiser and random state before the sweep, restored bit for bit by `restore`."""

    def __init__(self, setup: TrainSetup) -> None:
        self.setup = setup
        self.module = {k: v.detach().clone() for k, v in setup.module.state_dict().items()}
        self.training = setup.module.training
        self.optimizer = copy.deepcopy(setup.optimizer.state_dict())
        self.lrs = [g["lr"] for g in setup.optimizer.param_groups]
        self.python, self.numpy, self.torch = random.getstate(), np.random.get_state(), torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() \
            else None
        self.generators = {id(g): (g, g.get_state()) for g in _generators(setup)}
        scaler = setup.precision.scaler
        self.scaler = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
        parts = getattr(setup.recipe, "parts", None)  # a recipe's running loss terms (reports, not weights)
        self.parts = copy.deepcopy(vars(parts)) if parts is not None else None

    def restore(self) -> None:
        s = self.setup
        with torch.no_grad():
            for key, tensor in s.module.state_dict().items():
                tensor.copy_(self.module[key])
        s.module.train(self.training)
        s.optimizer.load_state_dict(self.optimizer)
        for group, lr in zip(s.optimizer.param_groups, self.lrs):
            group["lr"] = lr
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)
        for g, state in self.generators.values():
            g.set_state(state)
        if self.scaler is not None and s.precision.scaler is not None:
            s.precision.scaler.load_state_dict(self.scaler)
        if self.parts is not None:
            vars(s.recipe.parts).update(self.parts)
        pipeline = getattr(s.augment, "_generators", None)
        if isinstance(pipeline, dict):  # generators the augmenter made during the sweep start afresh
            for device, g in list(pipeline.items()):
                if id(g) not in self.generators:
                    del pipeline[device]


def _generators(setup: TrainSetup) -> list[torch.Generator]:
    """The random generators of the batches and the augmenter (found among their attributes)."""
    found: list[torch.Generator] = []
    for owner in (setup.batches, getattr(setup.batches, "sampler", None), setup.augment):
        for value in vars(owner).values() if owner is not None and hasattr(owner, "__dict__") else ():
            values = value.values() if isinstance(value, dict) else [value]
            found += [v for v in values if isinstance(v, torch.Generator)]
    return found


# ---- the sweep ---------------------------------------------------------------------------
Points = Callable[[list[float], list[float], list[float]], None]


def find_lr(setup: TrainSetup, config: LRFindConfig | None = None, on_points: Points | None = None,
            should_stop: Callable[[], bool] | None = None) -> LRFindResult:
    """Sweep the learning rate on `setup` and suggest one; the setup is left exactly as it was.

    Args:
        on_points: called with (rates, losses, smoothed) of the new points about 10 times a second.
        should_stop: asked as often; True ends the sweep with the points so far.
    """
    config = config or LRFindConfig()
    config.validate()
    if getattr(setup.recipe, "step", None) is not None:
        raise LRFindError(f"the learning-rate finder sweeps one network's rate; the {setup.recipe.kind} recipe "
                          "trains with its own step (a GAN's two networks), so set its rates by hand")
    saved = _Saved(setup)
    try:
        return _sweep(setup, config, on_points, should_stop)
    finally:
        saved.restore()


def _sweep(setup: TrainSetup, config: LRFindConfig, on_points: Points | None,
           should_stop: Callable[[], bool] | None) -> LRFindResult:
    result = LRFindResult()
    step_fn = _step_function(setup)
    avg, best, sent, next_send = 0.0, math.inf, 0, time.perf_counter() + SEND_INTERVAL
    setup.model.train()
    for i, (xb, yb) in zip(range(config.steps), _endless(setup)):
        lr = config.rate(i)
        for group in setup.optimizer.param_groups:
            group["lr"] = lr
        loss = step_fn(xb, yb)
        avg = config.beta * avg + (1 - config.beta) * loss
        smoothed = avg / (1 - config.beta ** (i + 1)) if math.isfinite(avg) else math.inf
        result.lrs.append(lr)
        result.losses.append(loss)
        result.smoothed.append(smoothed)
        diverged = not math.isfinite(smoothed) or smoothed > config.diverge * best
        best = min(best, smoothed)
        if diverged:
            result.stop_reason = "diverged"
            break
        if time.perf_counter() >= next_send:
            sent = _send(result, sent, on_points)
            next_send = time.perf_counter() + SEND_INTERVAL
            if should_stop is not None and should_stop():
                result.stop_reason = "stopped"
                break
    _send(result, sent, on_points)
    # the point that diverged (and a non-finite tail) says nothing about a good rate
    usable = len(result.smoothed) - (1 if result.stop_reason == "diverged" else 0)
    result.suggestion, result.method, result.valley = suggest(result.lrs[:usable], result.smoothed[:usable])
    return result


def _send(result: LRFindResult, sent: int, on_points: Points | None) -> int:
    if on_points is not None and len(result.lrs) > sent:
        on_points(result.lrs[sent:], result.losses[sent:], result.smoothed[sent:])
    return len(result.lrs)


def _endless(setup: TrainSetup) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Training batches, epoch after epoch, for as long as the sweep needs them."""
    epoch = 0
    while True:
        empty = True
        for batch in setup.batches.epoch(epoch):
            empty = False
            yield batch
        if empty:
            return
        epoch += 1


def _step_function(setup: TrainSetup) -> Callable[[torch.Tensor, torch.Tensor], float]:
    """One training step as the run takes it (augmentation, precision, clipping); returns the loss."""
    s, clip = setup, setup.settings.grad_clip
    scaler, autocast = s.precision.scaler, s.precision.autocast

    def step(xb: torch.Tensor, yb: torch.Tensor) -> float:
        if s.augment is not None:
            xb = s.augment(xb)
        with autocast():
            loss = s.loss_fn(s.model(xb), yb)
        s.optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        if not math.isfinite(value):
            return value  # no update from a non-finite loss: the sweep ends here anyway
        if scaler is None:
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(s.model.parameters(), clip)
            s.optimizer.step()
        else:
            scaler.scale(loss).backward()
            if clip:
                scaler.unscale_(s.optimizer)
                nn.utils.clip_grad_norm_(s.model.parameters(), clip)
            scaler.step(s.optimizer)
            scaler.update()
        return value

    return step
