"""``layerloom lr-find FILE``: sweep the learning rate of a project headless and print the suggestion.

`add_arguments(parser)` declares the options; `run(args)` does the work and returns the exit code:
0 with a suggestion, 1 when the sweep found none (no finite loss) or failed, 2 when it could not
start (a file, settings or dataset problem; the reasons are printed). The sweep is the worker's
(`engine.train.lr_find_job.run_lr_find`) on the project's network, data and settings (``--set``
overrides them for the sweep only). Progress goes to stderr, the suggestion to stdout (``--json``
prints the whole curve). ``--apply`` writes the suggestion into the project's
``optimizer.lr`` and saves the project atomically; the ``--set`` overrides are not saved.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.data.errors import DatasetError
from engine.graph.errors import ProjectFileError
from engine.project import load_project, save_project
from engine.train.cli import apply_to_project, overrides
from engine.train.job import TrainingJob
from engine.train.lr_find_config import LRFindConfig, LRFindError, lr_find_task, rounded_rate
from engine.train.lr_find_job import describe, run_lr_find
from engine.train.settings import SettingsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lr-find`` (the caller adds the positional ``file``)."""
    defaults = LRFindConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help=f"steps of the sweep (default {defaults.steps})")
    parser.add_argument("--start-lr", type=float, default=defaults.start_lr,
                        help=f"first learning rate (default {defaults.start_lr:g})")
    parser.add_argument("--end-lr", type=float, default=defaults.end_lr,
                        help=f"last learning rate (default {defaults.end_lr:g})")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a training or dataset setting for the sweep, as for train (not saved)")
    parser.add_argument("--device", help="sweep on this device: auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--apply", action="store_true",
                        help="write the suggestion into the project's optimizer.lr and save it")
    parser.add_argument("--json", action="store_true", help="print the suggestion and the curve as JSON")


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        project = load_project(path)
        config = LRFindConfig(start_lr=args.start_lr, end_lr=args.end_lr, steps=args.steps)
        config.validate()
        apply_to_project(project, overrides(args))
        job = TrainingJob.from_project(project, "lr-find", path.resolve().parent)
    except (ProjectFileError, SettingsError, DatasetError, LRFindError) as exc:
        print(f"layerloom lr-find: {exc}", file=sys.stderr)
        return 2
    job.task = lr_find_task(config)
    errors: list[str] = []
    printer = _Progress(config.steps, errors)
    result = run_lr_find(job, printer)
    printer.done()
    if result is None:
        print(f"layerloom lr-find: {errors[0] if errors else 'the sweep failed'}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(describe(result))
    if result.suggestion is None:
        return 1
    if args.apply:
        fresh = load_project(path)  # the project as saved: the sweep's --set overrides stay out of it
        optimizer = dict(fresh.training.get("optimizer") or {})
        optimizer["lr"] = rounded_rate(result.suggestion)
        fresh.training = {**fresh.training, "optimizer": optimizer}
        saved = save_project(fresh, path)
        print(f"set optimizer.lr to {optimizer['lr']:g} in {saved}", file=sys.stderr if args.json else sys.stdout)
    return 0


class _Progress:
    """A one-line progress report on stderr while the sweep runs (and the error message, if one comes)."""

    def __init__(self, steps: int, errors: list[str]) -> None:
        self.steps, self.errors, self.seen = steps, errors, 0
        self.tty = sys.stderr.isatty()

    def __call__(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "error":
            self.errors.append(str(message.get("message", "")))
        elif kind == "lr_find_points" and message["lrs"]:
            self.seen += len(message["lrs"])
            if self.tty:
                print(f"\rsweeping: step {self.seen}/{self.steps}, lr {message['lrs'][-1]:.2g}, smoothed loss "
                      f"{message['smoothed'][-1]:.4g}   ", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and self.seen:
            print(file=sys.stderr)
