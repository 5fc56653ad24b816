"""``layerloom sweep FILE --trials N [--workers N] [--storage URL]``: tune a project headless.

`add_arguments(parser)` declares the options; `run(args)` does the work and returns the exit code:
0 when at least one trial completed or was pruned (or the sweep was stopped with Ctrl-C and saved), 1
when every trial failed, 130 after a second Ctrl-C (what had finished is saved), 2 when the sweep could
not start (a file, configuration, settings or storage problem; the reason is printed).

The search space is the project's stored sweep configuration (``sweep/config.json``, written by the
studio's Sweep panel) or ``--config FILE.json`` (which is stored into the project). ``--set`` overrides
the base training and dataset settings of every trial for this sweep only (the project keeps its own).
The study is kept in the project (its Optuna journal) and resumes where it stopped, unless
``--storage URL`` puts it in any Optuna storage (``sqlite:///study.db``,
``postgresql://user:pass@host/db``) or a shared journal file, where sweeps on several machines add to
one study; ``--restart`` begins it anew. Every finished trial's run is saved into the project with its
parameters (atomic saves, at most every 15 seconds while trials finish, and at the end); one line per
trial goes to stdout, and the best trial of the study ends the output.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from engine.data.config import apply_dataset_overrides
from engine.data.errors import DatasetError
from engine.graph.errors import ProjectFileError
from engine.project import Project, load_project, save_project
from engine.sweep.space import SweepConfig, SweepConfigError, format_params, read_config, write_config
from engine.sweep.study import SweepStudyError, display_url
from engine.train.settings import SettingsError, apply_overrides

# --epochs and --device are spellings of --set, as for train
SHORTCUTS = {"epochs": "epochs", "device": "device"}
SAVE_INTERVAL_S = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``sweep`` (the caller adds the positional ``file``)."""
    parser.add_argument("--trials", type=int, help="trials to run now (default: the configuration's 'trials')")
    parser.add_argument("--workers", type=int, default=1, help="trials trained at once, each in its own process "
                        "(default 1)")
    parser.add_argument("--storage", help="an Optuna storage URL (sqlite:///study.db, postgresql://...) or a "
                        "journal file shared by several machines; default: the study is kept in the project")
    parser.add_argument("--study", help="the study's name (default: the configuration's, else the project's name)")
    parser.add_argument("--config", help="a sweep configuration (JSON) to store in the project and use")
    parser.add_argument("--restart", action="store_true", help="discard the study's earlier trials and begin anew")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a training or dataset setting of every trial, as for train (repeatable)")
    parser.add_argument("--epochs", help="override the number of epochs of every trial (--set epochs=N)")
    parser.add_argument("--device", help="override the device: auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--no-save", action="store_true", help="do not save the runs and the study into the project")


def run(args: argparse.Namespace) -> int:
    """Sweep the project named by `args.file`; returns the process exit code."""
    from engine.sweep.runner import SweepRun, run_sweep  # spawns processes: only when a sweep runs

    path = Path(args.file)
    try:
        project = load_project(path)
        config = _config(project, args)
        assignments = [f"{path}={getattr(args, flag)}" for flag, path in SHORTCUTS.items()
                       if getattr(args, flag, None) is not None] + list(args.overrides)
        base = _with_overrides(project, assignments)
        sweep = SweepRun(base, config, trials=args.trials, workers=args.workers, storage=args.storage,
                         base_dir=path.resolve().parent, restart=args.restart)
    except (ProjectFileError, SweepConfigError, SweepStudyError, SettingsError, DatasetError, OSError) as exc:
        print(f"layerloom sweep: {exc}", file=sys.stderr)
        return 2
    print(_header(sweep, path, args))
    for number in sweep.interrupted:
        print(f"trial {number}: marked failed (its sweep was interrupted)")

    last_save = [time.monotonic()]

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "trial_finished":
            print(_trial_line(event, sweep.config), flush=True)
            # a project with many runs is big: save it (atomically) at most every SAVE_INTERVAL_S while
            # trials finish, so a killed sweep loses little, and always at the end
            if not args.no_save and time.monotonic() - last_save[0] >= SAVE_INTERVAL_S:
                save_project(project, path)
                last_save[0] = time.monotonic()
        elif event["type"] == "worker_error":
            print(f"error: a sweep worker failed: {event['message']}", file=sys.stderr)

    aborted = False
    with _StopOnInterrupt(sweep) as interrupt:
        try:
            summary = run_sweep(sweep, on_event)
        except KeyboardInterrupt:  # the second Ctrl-C: the workers are ended; what finished is still saved
            aborted, summary = True, sweep.summary
    if not args.no_save:
        saved = save_project(project, path)
        print(f"saved {len(summary.finished)} trial(s) into {saved}")
    if aborted:
        print("layerloom sweep: interrupted", file=sys.stderr)
        return 130
    _print_best(sweep)
    ran = summary.count("complete") + summary.count("pruned")
    return 0 if ran or interrupt.requested or not (summary.finished or sweep.errors) else 1


def _config(project: Project, args: argparse.Namespace) -> SweepConfig:
    if args.config:
        config = SweepConfig.from_bytes(Path(args.config).read_bytes(), args.config)
        write_config(project, config)
    else:
        config = read_config(project)
        if config is None:
            raise SweepConfigError("the project has no sweep configuration; choose the ranges in the studio's "
                                   "Sweep panel or pass --config FILE.json")
    return replace(config, study_name=args.study) if args.study else config


def _with_overrides(project: Project, assignments: list[str]) -> Project:
    """The project as every trial starts from: the overrides applied to copies of its settings, sharing its
    attachments (so the runs land in the project, whose own settings stay as they were)."""
    dataset = [a.removeprefix("dataset.") for a in assignments if a.startswith("dataset.")]
    training = [a for a in assignments if not a.startswith("dataset.")]
    return Project(project.network, project.name,
                   apply_dataset_overrides(project.dataset, dataset) if dataset else project.dataset,
                   apply_overrides(project.training, training), project.ui, project.attachments)


def _header(sweep: Any, path: Path, args: argparse.Namespace) -> str:
    config = sweep.config
    where = f"in {display_url(args.storage)}" if args.storage else "in the project"
    before = f", {sweep.trials_before} trial(s) before" if sweep.trials_before else ""
    return (f"sweep of {path.name}: study {sweep.study_name!r} {where}{before}; {sweep.trials} trial(s) on "
            f"{len(sweep.workers)} worker(s), {config.direction} {config.metric}, {config.sampler} sampler, "
            f"{config.pruner} pruner")


def _trial_line(event: dict[str, Any], config: SweepConfig) -> str:
    value = event.get("value")
    shown = f"{config.metric} {value:.4f}" if isinstance(value, (int, float)) else ""
    run = f"run {event['run_id']}" if event.get("run_id") else "no run"
    parts = [f"trial {event['number']}", f"{event['state']:8s}", shown, run, format_params(event.get("params", {}))]
    line = "  ".join(p for p in parts if p)
    if event["state"] != "complete" and event.get("message"):
        reason = " ".join(part.strip() for part in event["message"].splitlines() if part.strip())
        line += f"\n    {reason if len(reason) <= 300 else reason[:297] + '...'}"
    return line


def _print_best(sweep: Any) -> None:
    best = sweep.best()
    if best is None:
        print("no trial of the study has completed yet")
        return
    run_id = best.user_attrs.get("run_id", "?")
    print(f"best trial {best.number}: {sweep.config.metric} {best.value:.4f} (run {run_id})  "
          f"{format_params(best.params)}")


class _StopOnInterrupt:
    """The first Ctrl-C stops the sweep gracefully (the trials in flight end as stopped runs); a second aborts."""

    def __init__(self, sweep: Any) -> None:
        self.sweep, self.requested = sweep, False
        self._previous: Any = None

    def __enter__(self) -> _StopOnInterrupt:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.sweep.stop()
        print("\nstopping the sweep: the trials in flight stop and are saved (Ctrl-C again to abort)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m engine.sweep.cli FILE``); `layerloom sweep` does the same."""
    parser = argparse.ArgumentParser(prog="layerloom sweep", description="Tune a project's settings with Optuna.")
    parser.add_argument("file", help="the project (.loom) to sweep")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
