"""``layerloom train FILE``: train a project headless and save the run into it.

`add_arguments(parser)` declares the options; `run(args)` does the work and returns the exit
code: 0 when the run completed (or was stopped with Ctrl-C and saved), 1 when training failed,
2 when it could not start (a file, settings or dataset problem; the reasons are printed).
Progress goes to stderr (`engine.train.progress`), the final train / validation / test metrics to
stdout, and the run is saved into the project with the atomic `save_project` unless --no-save.

``--nproc N`` trains data-parallel on N processes spawned here; under torchrun (RANK and
WORLD_SIZE set) each process joins torchrun's group and rank 0 alone prints and saves, before the
group is left: every process then exits with the same code, the worst of all of them.
``--fork RUN[@EPOCH]`` starts from a saved run's weights (`engine.train.fork`): the project's
current network, weights carried by node path and shape, what could not be carried printed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from engine.data.config import apply_dataset_overrides
from engine.data.errors import DatasetError
from engine.graph.errors import ProjectFileError
from engine.project import Project, load_project, save_project
from engine.runs import RunError, RunRecord, add_run, check_run_id, new_run_id
from engine.train.callbacks import Callback, Progress
from engine.train.distributed import spawn_ranks, torchrun_env, train_rank
from engine.train.fork import ForkError, fork_job
from engine.train.formatting import format_duration, format_metrics
from engine.train.job import TrainingJob
from engine.train.preflight import StartProblem, problems_text
from engine.train.progress import ProgressPrinter
from engine.train.session import RunResult, run_job
from engine.train.settings import SettingsError, apply_overrides
from engine.train.trainer import Trainer

# The short flags are spellings of --set for the settings changed most often.
SHORTCUTS = {"epochs": "epochs", "batch_size": "batch_size", "lr": "optimizer.lr", "device": "device",
             "seed": "seed", "cpu_threads": "cpu_threads"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``train`` (the caller adds the positional ``file``)."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override any training setting, e.g. --set optimizer.kind=sgd --set "
                        "early_stopping.patience=5, or a dataset setting: --set dataset.val_fraction=0.2, "
                        "--set dataset.params.noise=0.1 (repeatable; the README lists every setting)")
    parser.add_argument("--epochs", help="override the number of epochs (--set epochs=N)")
    parser.add_argument("--batch-size", help="override the batch size, per process with --nproc")
    parser.add_argument("--lr", help="override the learning rate (--set optimizer.lr=X)")
    parser.add_argument("--device", help="override the device: auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--seed", help="override the random seed")
    parser.add_argument("--cpu-threads", help="torch CPU threads (0: torch's default)")
    parser.add_argument("--nproc", type=int, default=1, help="train data-parallel on N processes (default 1)")
    parser.add_argument("--run-id", help="name of the run (default: run-1, run-2, ...)")
    parser.add_argument("--no-save", action="store_true", help="do not save the run into the project")
    parser.add_argument("--fork", metavar="RUN[@EPOCH]",
                        help="start from a saved run's weights after EPOCH (1-based, best or last; default "
                        "last), carried into the current network by node path and shape")


def overrides(args: argparse.Namespace) -> list[str]:
    """Every ``path=value`` asked for, the short flags first (so an explicit --set wins)."""
    short = [f"{path}={getattr(args, flag)}" for flag, path in SHORTCUTS.items()
             if getattr(args, flag, None) is not None]
    return short + list(getattr(args, "overrides", []) or [])


def apply_to_project(project: Project, assignments: list[str]) -> None:
    """Apply ``--set`` overrides to the project's dataset and training sections, each checked."""
    dataset = [a.removeprefix("dataset.") for a in assignments if a.startswith("dataset.")]
    training = [a for a in assignments if not a.startswith("dataset.")]
    if dataset:
        project.dataset = apply_dataset_overrides(project.dataset, dataset)
    project.training = apply_overrides(project.training, training)


def run(args: argparse.Namespace) -> int:
    """Train the project named by `args.file`; returns the process exit code."""
    path = Path(args.file)
    try:
        project = load_project(path)
        run_id = check_run_id(args.run_id) if args.run_id else new_run_id(project)
        apply_to_project(project, overrides(args))
        job = TrainingJob.from_project(project, run_id, path.resolve().parent)
        fork_dir = _fork(args, project, job, path)
    except (ProjectFileError, SettingsError, DatasetError, RunError, ForkError) as exc:
        print(f"layerloom train: {exc}", file=sys.stderr)
        return 2
    try:
        return _train(args, project, job, path)
    finally:
        if fork_dir is not None:
            fork_dir.cleanup()


def _fork(args: argparse.Namespace, project: Project, job: TrainingJob,
          path: Path) -> tempfile.TemporaryDirectory[str] | None:
    """With --fork, make `job` start from the named run's weights (written to a temporary folder)."""
    if not getattr(args, "fork", None):
        return None
    parent, _, epoch = str(args.fork).partition("@")
    folder = tempfile.TemporaryDirectory(prefix="layerloom-fork-")
    try:
        forked = fork_job(project, parent, epoch or "last", job.run_id, folder.name, path.resolve().parent)
    except BaseException:
        folder.cleanup()
        raise
    job.start_from = forked.start_from
    return folder


def _train(args: argparse.Namespace, project: Project, job: TrainingJob, path: Path) -> int:
    if args.nproc < 1:
        print("layerloom train: --nproc must be at least 1", file=sys.stderr)
        return 2
    env = torchrun_env()
    started = time.perf_counter()
    with _StopOnInterrupt() as stopper:
        if env is not None:
            extra: list[Callback] = [ProgressPrinter(), stopper] if env.rank == 0 else [stopper]
            # Rank 0 reports and saves the run while the group is still up, and every rank then
            # exits with the code all agreed on: a node whose ranks ended differently from node 0's
            # left node 0's torchrun waiting minutes in its exit barrier (engine.train.distributed).
            def finish(result: RunResult) -> int:
                return _report(project, path, args.no_save, result.record, result.problems,
                               time.perf_counter() - started)

            return train_rank(job, env, _ignore, None, extra, finish if env.rank == 0 else None).code
        elif args.nproc > 1:
            record, problems = _spawned(job, args.nproc)
        else:
            result = run_job(job, _print_carried, callbacks=[ProgressPrinter(), stopper])
            record, problems = result.record, result.problems
    return _report(project, path, args.no_save, record, problems, time.perf_counter() - started)


def _ignore(message: dict[str, object]) -> None:
    """The CLI shows progress through its callbacks, not telemetry."""


def _print_carried(message: dict[str, object]) -> None:
    """A fork's report (what could not be carried) is the one telemetry the CLI prints."""
    if message.get("type") == "weights_carried":
        from engine.train.fork import CarryReport

        report = CarryReport(str(message["parent"]), str(message["epoch"]), list(message["carried"]),  # type: ignore[call-overload]
                             list(message["new"]), list(message["reshaped"]), list(message["dropped"]))  # type: ignore[call-overload]
        for line in report.lines():
            print(line, file=sys.stderr)


def _spawned(job: TrainingJob, nproc: int) -> tuple[RunRecord, list[StartProblem]]:
    with tempfile.TemporaryDirectory(prefix="layerloom-ddp-") as folder:
        try:
            spawn_ranks(job, nproc, Path(folder), _rank0_callbacks)
        except Exception as exc:  # a rank died: torch reports which
            print(f"error: a training process failed: {exc}", file=sys.stderr)
        if not (Path(folder) / "run.json").exists():
            return RunRecord(job.run_id, status="failed"), [StartProblem("the training processes ended without a "
                                                                         "result")]
        return RunRecord.read_dir(folder), []


def _rank0_callbacks() -> list[Callback]:
    return [ProgressPrinter()]


def _report(project: Project, path: Path, no_save: bool, record: RunRecord, problems: list[StartProblem],
            seconds: float) -> int:
    if problems:
        print(f"layerloom train: {problems_text(problems, project.network)}", file=sys.stderr)
        return 2
    epochs = record.epochs
    print(f"run {record.run_id}: {record.status} after {len(epochs)} epoch(s) in {format_duration(seconds)}")
    if epochs:
        last = epochs[-1]
        print(f"  train       {format_metrics(last['train'])}")
        if last["val"]:
            print(f"  validation  {format_metrics(last['val'])}")
    if record.best:
        shown = {k: v for k, v in record.best.items() if k.startswith("val_")}
        print(f"  best epoch  {int(record.best['epoch']) + 1}: {format_metrics(shown)}")
    if record.test:
        print(f"  test        {format_metrics(record.test)}")
    if record.error:
        print(f"error: {record.error['message']}", file=sys.stderr)
    if not no_save and record.weights:
        add_run(project, record)
        saved = save_project(project, path)
        print(f"saved run {record.run_id} into {saved}")
    return 1 if record.status == "failed" else 0


class _StopOnInterrupt(Callback):
    """The first Ctrl-C stops the run gracefully (the weights are saved); a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: object = None

    def __enter__(self) -> _StopOnInterrupt:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)

    def _check(self, trainer: Trainer) -> None:
        if self.requested:
            trainer.should_stop = True

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        self._check(trainer)

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._check(trainer)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m engine.train.cli FILE``); `layerloom train` does the same."""
    parser = argparse.ArgumentParser(prog="layerloom train", description="Train a project headless.")
    parser.add_argument("file", help="the project (.loom) to train")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
