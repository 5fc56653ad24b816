"""Running a sweep: trials in spawned worker processes, driven from here without blocking.

`SweepRun(project, config, trials=N, workers=W, storage=URL, enqueue=[{target: value}])` checks the
config against the project, opens the study (the project's stored journal, copied to a working file,
unless `storage` names an Optuna storage URL or a shared journal file), fails trials a killed sweep
left running in the project's journal, enqueues the values to try first, and spawns ``min(W, N)``
worker processes (`engine.sweep.trial.worker_main`, the ``spawn`` context as for training runs) that
share one counter of trials left. It never imports torch: the workers do.

`poll()` returns the events waiting (never blocks), as plain dicts: ``trial_started`` (number,
params), ``trial_epoch`` (number, epoch, value), ``trial_finished`` (number, state complete | pruned |
fail, value, run_id, message, params), ``worker_error``, and ``sweep_finished`` last. When a trial
finishes, its run (with its parameters in ``record.sweep``) is attached to the project and the
journal copied into the project's ``sweep/journal.log``: the caller saves the project (the CLI after
every trial, atomically) or marks it modified (the studio). A worker that dies fails its running
trial and the sweep goes on with the others. `stop()` ends the running trials at their next
progress report (recorded as stopped runs and failed trials) and starts no more; `close()` stops,
waits, and frees the processes and temporary files. `run_sweep` is the blocking loop the CLI uses.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from engine.project import Project
from engine.runner import end_with_this_process
from engine.runs import RunError, attach_run_files, read_run_files, run_ids
from engine.sweep.space import JOURNAL_MEMBER, SweepConfig, SweepConfigError, read_config
from engine.sweep.study import (
    SweepStudyError,
    WorkingJournal,
    check_compatible,
    create_study,
    fail_interrupted,
    is_storage_url,
    journal_storage,
    storage_from,
    study_name_for,
)
from engine.sweep.targets import check_config
from engine.sweep.trial import default_cpu_threads, worker_main
from engine.train.job import TrainingJob

Event = dict[str, Any]


@dataclass
class _Worker:
    index: int
    process: mp.process.BaseProcess
    events: Connection
    running: int | None = None  # the trial number in flight
    done: bool = False


@dataclass
class SweepSummary:
    """How the trials of this sweep ended."""

    finished: list[Event] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for e in self.finished if e["state"] == state)


class SweepRun:
    """A sweep in worker processes; see the module docstring."""

    def __init__(self, project: Project, config: SweepConfig | None = None, *, trials: int | None = None,
                 workers: int = 1, storage: str | None = None, base_dir: Path | None = None,
                 telemetry: bool = False, restart: bool = False, enqueue: list[dict[str, Any]] | None = None) -> None:
        config = config if config is not None else read_config(project)
        if config is None:
            raise SweepConfigError("the project has no sweep configuration: choose what to vary first")
        check_config(config, project.network, project.training, project.dataset)
        TrainingJob.from_project(project)  # the base settings and dataset parse (SettingsError, DatasetError)
        if workers < 1:
            raise SweepConfigError("--workers must be at least 1")
        self.project, self.config = project, config
        self.trials = trials if trials is not None else config.trials
        if self.trials < 1:
            raise SweepConfigError("--trials must be at least 1")
        self.study_name = study_name_for(config, project.name)
        self.journal: WorkingJournal | None = None
        if storage is None:
            self.journal = WorkingJournal(project.attachments.get(JOURNAL_MEMBER))
            spec_storage = {"journal": str(self.journal.path)}
        elif is_storage_url(storage):
            spec_storage = {"url": storage}
        else:
            spec_storage = {"journal": str(Path(storage).resolve())}
        self.storage_spec = spec_storage
        try:
            backend = storage_from(spec_storage)
            if restart and self.study_name in optuna.get_all_study_names(backend):  # other studies stay
                optuna.delete_study(study_name=self.study_name, storage=backend)
            self.study = create_study(backend, self.study_name, config)
            check_compatible(self.study, config)
            self.interrupted = fail_interrupted(self.study, "the sweep was interrupted") if self.journal else []
            self.trials_before = len(self.study.trials)
            for params in enqueue or []:  # values to try first (the best so far again, a hand-picked guess)
                self.study.enqueue_trial(params, skip_if_exists=True)
        except Exception:
            self._remove_files()
            raise
        self.summary = SweepSummary()
        self.errors: list[str] = []  # workers that failed outside a trial (the storage went away, a bug)
        self._out_root = Path(tempfile.mkdtemp(prefix="layerloom-sweep-runs-"))
        self._finished_sent = False
        self._spawn(project, workers, base_dir, telemetry)
        self.store_journal()

    @property
    def journal_path(self) -> Path | None:
        """The working journal a live reader can open with `open_study` (None with a storage URL)."""
        return self.journal.path if self.journal else None

    def _spawn(self, project: Project, workers: int, base_dir: Path | None, telemetry: bool) -> None:
        ctx = mp.get_context("spawn")
        self._remaining = ctx.Value("i", self.trials)
        self._stopping = ctx.Event()
        count = min(workers, self.trials)
        self.workers: list[_Worker] = []
        for index in range(count):
            spec = {"config": self.config.to_json(), "storage": self.storage_spec, "study_name": self.study_name,
                    "worker": index, "job": TrainingJob.project_json(project, "trial", base_dir),
                    "taken": run_ids(project), "out_root": str(self._out_root),
                    "cpu_threads": default_cpu_threads(count), "telemetry": telemetry}
            receive, send = ctx.Pipe(duplex=False)
            process = ctx.Process(target=worker_main, args=(send, json.dumps(spec), self._remaining, self._stopping),
                                  name=f"layerloom-sweep-{index}", daemon=False)  # a daemon may not start loaders
            process.start()
            end_with_this_process(process)
            send.close()  # the worker holds the only writing end: its death reads as EOF here
            self.workers.append(_Worker(index, process, receive))

    # ---- driving ---------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._finished_sent

    def poll(self) -> list[Event]:
        """The events waiting from the workers (never blocks); see the module docstring."""
        out: list[Event] = []
        for worker in self.workers:
            if not worker.done:
                out += self._drain(worker)
        if all(w.done for w in self.workers) and not self._finished_sent:
            self._finished_sent = True
            self.store_journal()
            out.append({"type": "sweep_finished", "trials": len(self.summary.finished),
                        "interrupted": list(self.interrupted)})
        return out

    def _drain(self, worker: _Worker) -> list[Event]:
        out: list[Event] = []
        try:
            while worker.events.poll():
                event = json.loads(worker.events.recv_bytes().decode("utf-8"))
                out += self._handle(worker, event)
                if worker.done:
                    return out
        except (EOFError, OSError):
            out += self._worker_died(worker)
        return out

    def _handle(self, worker: _Worker, event: Event) -> list[Event]:
        kind = event.get("type")
        if kind == "trial_started":
            worker.running = event["number"]
        elif kind == "trial_finished":
            worker.running = None
            self._collect(event)
            self.summary.finished.append(event)
        elif kind == "worker_error":
            self.errors.append(str(event.get("message", "")))
        elif kind == "worker_done":
            worker.done = True  # it exits now; close() reaps it (poll never waits)
            return self._fail_running(worker, "its worker stopped during this trial")
        return [event]

    def _collect(self, event: Event) -> None:
        """Attach the finished trial's run to the project and bring the journal up to date."""
        folder = event.pop("run_dir", None)
        if folder:
            try:
                attach_run_files(self.project, event["run_id"], read_run_files(folder))
            except (OSError, RunError) as exc:
                event["message"] = f"{event['message']}; its run could not be read: {exc}".lstrip("; ")
                event["run_id"] = None
            shutil.rmtree(folder, ignore_errors=True)
        self.store_journal()

    def _worker_died(self, worker: _Worker) -> list[Event]:
        worker.done = True
        worker.process.join(1.0)  # its pipe is closed: it has ended or is ending
        return self._fail_running(worker, f"the worker process ended (exit code {worker.process.exitcode}) during "
                                          "this trial")

    def _fail_running(self, worker: _Worker, message: str) -> list[Event]:
        """Fail the trial a worker held when it ended without finishing it."""
        if worker.running is None:
            return []
        number, worker.running = worker.running, None
        with contextlib.suppress(Exception):  # the trial may have been told already
            self.study.tell(number, state=TrialState.FAIL)
        event = {"type": "trial_finished", "number": number, "state": "fail", "value": None, "run_id": None,
                 "message": message, "params": {}, "epochs": 0}
        self.summary.finished.append(event)
        self.store_journal()
        return [event]

    def store_journal(self) -> None:
        """Copy the working journal into the project's ``sweep/journal.log`` (nothing with a storage URL)."""
        if self.journal is not None and self.journal.path.exists():
            self.project.attachments[JOURNAL_MEMBER] = self.journal.snapshot()

    def stop(self) -> None:
        """Stop the running trials at their next report and start no more."""
        self._stopping.set()

    def close(self, timeout: float = 30.0) -> None:
        """Stop, wait for the workers (then end them), keep the journal in the project, remove temporaries."""
        self.stop()
        deadline = time.monotonic() + timeout
        while not self.done and time.monotonic() < deadline:
            if not self.poll():
                time.sleep(0.05)
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(2.0)
            with contextlib.suppress(OSError):
                worker.events.close()
        if self.journal is not None and self.journal.path.exists():
            # keep the study readable after the working file is gone: replayed from the stored journal
            raw = self.journal.snapshot()
            self.project.attachments[JOURNAL_MEMBER] = raw
            self.study = optuna.load_study(study_name=self.study_name, storage=journal_storage(raw))
        self._remove_files()

    def _remove_files(self) -> None:
        if self.journal is not None:
            self.journal.close()
        if getattr(self, "_out_root", None) is not None:
            shutil.rmtree(self._out_root, ignore_errors=True)

    def best(self) -> optuna.trial.FrozenTrial | None:
        """The study's best completed trial so far (over every session and machine)."""
        try:
            return self.study.best_trial
        except ValueError:
            return None


def run_sweep(run: SweepRun, on_event: Callable[[Event], None] | None = None, interval: float = 0.05) -> SweepSummary:
    """Drive `run` until it finishes, handing every event to `on_event`; always closes it."""
    try:
        while not run.done:
            events = run.poll()
            for event in events:
                if on_event is not None:
                    on_event(event)
            if not events:
                time.sleep(interval)
    finally:
        run.close()
    return run.summary


__all__ = ["SweepRun", "SweepStudyError", "SweepSummary", "run_sweep"]
