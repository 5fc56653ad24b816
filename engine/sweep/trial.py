"""One sweep worker process: ask the study for a trial, train it as an ordinary run, tell the result.

`worker_main` is the entry point of a process spawned by `engine.sweep.runner.SweepRun`. It opens the
study (the sweep's journal file, or a storage URL) with the config's sampler and pruner, then, while
the sweep has trials left (a counter shared by all workers) and nobody asked it to stop:

1. ``study.ask`` with the config's distributions (enqueued trials come first);
2. `apply_params` puts the trial's values into a copy of the network and training settings;
3. the run trains with `engine.train.session.run_job`, the same loop every front end uses, with a
   `TrialReporter` callback that reports the validation metric of every epoch as an intermediate
   value and stops the run as soon as the pruner says so (in this process, between two epochs, so a
   pruned trial really trains no further);
4. the run's record, with its sweep parameters (``record.sweep``) and status ``pruned`` when it was,
   is written to a folder the parent reads; then ``study.tell`` with COMPLETE and the best value of the
   metric over the epochs, PRUNED, or FAIL (a run that failed, a NaN loss among them, or measured no
   finite value, or parameters the network refuses).

Nothing a trial does ends the worker: its problems become a FAIL with the reason in the trial's
``error`` attribute. Events go to the parent as JSON frames on a one-way pipe (no pickle).
"""

from __future__ import annotations

import json
import math
import os
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from engine.graph.serialize import document_from_data, document_to_data
from engine.runs import RunRecord
from engine.sweep.space import SweepConfig
from engine.sweep.study import create_study, storage_from
from engine.sweep.targets import apply_params
from engine.train.callbacks import Callback, EpochRecord, Progress, metric_value
from engine.train.job import TrainingJob

if TYPE_CHECKING:
    from engine.train.trainer import Trainer


class TrialReporter(Callback):
    """Reports each epoch's metric to the trial, prunes when the pruner says so, stops when the sweep does."""

    def __init__(self, trial: optuna.Trial, metric: str, stopping: Any, send: Any) -> None:
        self.trial, self.metric, self.stopping, self.send = trial, metric, stopping, send
        self.pruned_at: int | None = None
        self.stopped = False

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        value = metric_value(record, self.metric)
        if value is not None:
            self.trial.report(value, record.epoch)
            self.send({"type": "trial_epoch", "number": self.trial.number, "epoch": record.epoch, "value": value})
        if value is not None and record.epoch < trainer.settings.epochs - 1 and self.trial.should_prune():
            self.pruned_at = record.epoch
            trainer.log(f"pruned after epoch {record.epoch + 1}: {self.metric} {value:.4g} is not promising")
            trainer.should_stop = True
        self._check(trainer)

    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        self._check(trainer)

    def _check(self, trainer: Trainer) -> None:
        if self.stopping.is_set():
            self.stopped = trainer.should_stop = True


def worker_main(events: Connection, spec_text: str, remaining: Any, stopping: Any) -> None:
    """Run trials until none are left or the sweep stops (entry point of a spawned process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us cleanly

    def send(event: dict[str, Any]) -> None:
        try:
            events.send_bytes(json.dumps(event, allow_nan=True).encode("utf-8"))
        except (OSError, EOFError, ValueError):  # the parent is gone: nobody will save our trials, so stop
            stopping.set()

    spec = json.loads(spec_text)
    try:
        config = SweepConfig.from_json(spec["config"])
        study = create_study(storage_from(spec["storage"]), spec["study_name"], config, spec["worker"])
        distributions = config.distributions()
        while not stopping.is_set() and _claim(remaining):
            trial = study.ask(distributions)
            send({"type": "trial_started", "number": trial.number, "params": trial.params, "worker": spec["worker"]})
            try:
                event = run_trial(study, trial, spec, config, stopping, send)
            except Exception as exc:  # a bug in one trial fails that trial, not the sweep
                message = f"the trial failed unexpectedly: {type(exc).__name__}: {exc}"
                event = _tell(study, trial, TrialState.FAIL, None, None, message, dict(trial.params))
            send(event)
    except Exception as exc:  # the storage went away, or a bug: the parent reports it and the sweep goes on
        send({"type": "worker_error", "worker": spec.get("worker"), "message": f"{type(exc).__name__}: {exc}",
              "traceback": traceback.format_exc()})
    finally:
        send({"type": "worker_done"})
        events.close()


def _claim(remaining: Any) -> bool:
    with remaining.get_lock():
        if remaining.value <= 0:
            return False
        remaining.value -= 1
        return True


def run_id_for(number: int, taken: set[str]) -> str:
    run_id, k = f"trial-{number}", 2
    while run_id in taken:
        run_id, k = f"trial-{number}-{k}", k + 1
    return run_id


def run_trial(study: optuna.Study, trial: optuna.Trial, spec: dict[str, Any], config: SweepConfig,
              stopping: Any, send: Any) -> dict[str, Any]:
    """Train one trial and tell the study; returns the ``trial_finished`` event."""
    from engine.train.session import run_job  # torch: only in the worker

    run_id = run_id_for(trial.number, set(spec["taken"]))
    params = dict(trial.params)
    trial.set_user_attr("run_id", run_id)
    try:
        job = _job(spec, params, run_id)
    except Exception as exc:  # parameters the network or the settings refuse
        return _tell(study, trial, TrialState.FAIL, None, None, f"cannot train with these values: {exc}", params)
    reporter = TrialReporter(trial, config.metric, stopping, send)
    result = run_job(job, _ignore, callbacks=[reporter])
    record = result.record
    value = best_value(record, config)
    if reporter.pruned_at is not None:
        state, message = TrialState.PRUNED, f"pruned after epoch {reporter.pruned_at + 1}"
        record.status = "pruned"
    elif result.status == "failed":
        error = record.error or {}
        state, message = TrialState.FAIL, str(error.get("message") or "the run failed")
    elif reporter.stopped:
        state, message = TrialState.FAIL, "stopped with the sweep before it finished"
    elif value is None:
        state, message = TrialState.FAIL, f"the run measured no finite {config.metric}"
    else:
        state, message = TrialState.COMPLETE, ""
    record.sweep = {"study": study.study_name, "trial": trial.number, "state": state.name.lower(),
                    "metric": config.metric, "value": value, "params": params}
    folder = None
    if record.weights:  # a run that trained is a run of the project; one refused before training is not
        folder = Path(spec["out_root"]) / run_id
        record.write_dir(folder)
    return _tell(study, trial, state, value, folder, message, params, len(record.epochs), run_id)


def _tell(study: optuna.Study, trial: optuna.Trial, state: TrialState, value: float | None, folder: Path | None,
          message: str, params: dict[str, Any], epochs: int = 0, run_id: str | None = None) -> dict[str, Any]:
    if state == TrialState.FAIL:
        trial.set_user_attr("error", message[:2000])
    elif state == TrialState.PRUNED and epochs:
        trial.set_user_attr("pruned_after_epoch", epochs)
    if state == TrialState.COMPLETE:
        study.tell(trial, value)
    else:
        study.tell(trial, state=state)
    return {"type": "trial_finished", "number": trial.number, "state": state.name.lower(), "value": value,
            "run_id": run_id if folder is not None else None, "run_dir": str(folder) if folder else None,
            "message": message, "params": params, "epochs": epochs}


def _job(spec: dict[str, Any], params: dict[str, Any], run_id: str) -> TrainingJob:
    base = spec["job"]
    network, training = apply_params(document_from_data(base["network"]), base["settings"], params)
    if spec.get("cpu_threads") and not training.get("cpu_threads"):
        training["cpu_threads"] = spec["cpu_threads"]  # parallel trials share the cores instead of fighting
    if "setting:keep_epoch_weights" not in params:
        # a sweep makes many runs: each keeps its best and last weights (enough to fork from), not
        # every epoch's, or a sweep of 100 trials would store 500 extra copies in the project
        training["keep_epoch_weights"] = 0
    if not spec.get("telemetry", False):
        telemetry = training.get("telemetry")
        training["telemetry"] = {**(telemetry if isinstance(telemetry, dict) else {}), "enabled": False}
    return TrainingJob.from_json({**base, "network": document_to_data(network), "settings": training,
                                  "run_id": run_id})


def _ignore(message: dict[str, Any]) -> None:
    """The sweep reports through its own events, not the run's telemetry."""


def best_value(record: RunRecord, config: SweepConfig) -> float | None:
    """The best finite value of the sweep's metric over the run's epochs (None when there is none)."""
    split, _, key = config.metric.partition("_")
    values = [e.get(split, {}).get(key) for e in record.epochs]
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if config.direction == "maximize" else min(finite)


def default_cpu_threads(workers: int) -> int:
    """Torch threads per worker when several share the machine (0: torch's default, for one worker)."""
    return 0 if workers <= 1 else max(1, (os.cpu_count() or 1) // workers)
