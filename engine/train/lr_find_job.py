"""A learning-rate sweep as a job: what the worker process, the in-process runner and the CLI run.

`run_lr_find(job, sink, commands)` checks the job and builds its `TrainSetup` exactly as a training
run does (`engine.train.setup`), then runs `engine.train.lr_finder.find_lr` on it. It sends
``status`` (running), `engine.telemetry.LRFindPoints` about 10 times a second,
`engine.telemetry.LRFindSuggestion` at the end, a log line with the suggestion, and always a
``finished`` message (completed, stopped or failed), like a training run. A ``stop`` command ends
the sweep early with the suggestion from the points so far. Problems a user can cause (settings,
data, device) become an error message; it never raises for them. Returns the `LRFindResult`, or
None when the sweep could not run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import torch

from engine import telemetry as t
from engine.data import DatasetError
from engine.train.control import CommandSource
from engine.train.device import (
    DeviceError,
    resolve_device,
    restore_determinism,
    seed_everything,
    set_determinism,
)
from engine.train.job import TrainingJob
from engine.train.lr_find_config import LRFindConfig, LRFindError, lr_find_task
from engine.train.lr_finder import LRFindResult, find_lr
from engine.train.preflight import StartProblem, problems_text
from engine.train.setup import build_setup, check_job

Sink = Callable[[dict[str, Any]], None]
__all__ = ["describe", "lr_find_task", "run_lr_find"]


def run_lr_find(job: TrainingJob, sink: Sink, commands: CommandSource | None = None) -> LRFindResult | None:
    """Sweep the learning rate of `job`'s network on its data; see the module docstring."""
    try:
        config = LRFindConfig.from_json(job.task or {})
        checked, problems = check_job(job)
    except LRFindError as exc:
        checked, problems = None, [StartProblem(str(exc), None, "training")]
    except (DatasetError, ValueError) as exc:
        checked, problems = None, [StartProblem(str(exc))]
    if checked is None:
        _fail(job, sink, problems_text(problems, job.document), "settings",
              next((p.node_id for p in problems if p.node_id), None))
        return None
    if job.settings.recipe.kind == "gan":  # two networks, two rates: no one loss curve to read a rate from
        _fail(job, sink, "the learning-rate finder sweeps one network's rate; a GAN trains two (set "
              "recipe.generator_lr and recipe.discriminator_lr)", "settings")
        return None
    s = job.settings
    previous, threads = set_determinism(s.deterministic), torch.get_num_threads()
    if s.cpu_threads:
        torch.set_num_threads(s.cpu_threads)
    try:
        seed_everything(s.seed)
        try:
            setup = build_setup(checked, resolve_device(s.device))
        except DeviceError as exc:
            _fail(job, sink, str(exc), "device")
            return None
        sink(t.Status(job.run_id, "running").to_dict())
        stop = _StopWatch(commands)
        try:
            result = find_lr(setup, config, lambda lrs, losses, smoothed: sink(
                t.LRFindPoints(job.run_id, lrs, losses, smoothed).to_dict()), stop)
        except LRFindError as exc:
            _fail(job, sink, str(exc), "settings")
            return None
        except Exception as exc:  # out of memory, a layer that fails: said, never raised
            _fail(job, sink, f"the learning-rate sweep failed: {exc}", "error", trace=traceback.format_exc())
            return None
    finally:
        restore_determinism(previous)
        torch.set_num_threads(threads)
    sink(t.LRFindSuggestion(job.run_id, result.suggestion, result.method,
                            list(result.valley) if result.valley else None, result.stop_reason,
                            len(result.lrs)).to_dict())
    sink(t.Log(job.run_id, describe(result)).to_dict())
    status = "stopped" if result.stop_reason == "stopped" else "completed"
    sink(t.Finished(job.run_id, status, 0, {}, {}, {}, {}).to_dict())
    return result


def describe(result: LRFindResult) -> str:
    """One line for people: the suggestion, how it was found and how the sweep ended."""
    ended = {"completed": "the sweep ran to its end", "diverged": "the sweep stopped when the loss diverged",
             "stopped": "the sweep was stopped"}.get(result.stop_reason, result.stop_reason)
    if result.suggestion is None:
        return f"no learning rate could be suggested: no finite loss in {len(result.lrs)} steps ({ended})"
    how = "valley of the smoothed loss" if result.method == "valley" else \
        "minimum of the smoothed loss divided by ten (no clear valley)"
    return f"suggested learning rate {result.suggestion:.3g} ({how}; {len(result.lrs)} steps, {ended})"


class _StopWatch:
    """Answers whether a stop command has come (the sweep asks about 10 times a second)."""

    def __init__(self, commands: CommandSource | None) -> None:
        self.commands, self.stopped = commands, False

    def __call__(self) -> bool:
        if self.commands is not None and not self.stopped:
            self.stopped = any(c.get("cmd") == "stop" for c in self.commands.poll())
        return self.stopped


def _fail(job: TrainingJob, sink: Sink, message: str, kind: str, node_id: str | None = None,
          trace: str = "") -> None:
    sink(t.Error(job.run_id, message, node_id=node_id, kind=kind, traceback=trace).to_dict())
    sink(t.Finished(job.run_id, "failed", 0, {}, {}, {}, {}).to_dict())
