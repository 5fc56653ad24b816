"""One run from start to finish: check, set up, train, save, report. Used by every front end.

`run_job(job, sink, ...)` is the worker loop: the spawned worker process, the in-process runner,
the CLI and data-parallel ranks all call it. It checks the job (problems become one error message
before anything trains), seeds, picks the device, builds the `TrainSetup`, trains with the
telemetry reporter, the run recorder, command control and any extra callbacks, keeps the best and
last weights, optionally writes the record to a folder, and always ends with a ``finished``
message. It never raises for a problem a user can cause; the `RunResult` says what happened.
Only rank 0 of a data-parallel run reports and records.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx

from engine import telemetry as t
from engine.build import parameter_count
from engine.data import DatasetError
from engine.explain.training import explain_callbacks
from engine.graph.serialize import document_to_data
from engine.runs import RunRecord
from engine.train.callbacks import Callback, EarlyStopping, Failure
from engine.train.control import CommandSource, Control
from engine.train.device import (
    DeviceError,
    device_name,
    resolve_device,
    restore_determinism,
    seed_everything,
    set_determinism,
)
from engine.train.fork import EpochWeights, ForkError, start_from_parent
from engine.train.job import TrainingJob
from engine.train.preflight import StartProblem, problems_text
from engine.train.probe import Probe
from engine.train.recorder import RunRecorder, flat_metrics, now_iso
from engine.train.reporter import RELU_TYPES, TelemetryReporter
from engine.train.setup import CheckedJob, FrozenNetworkError, build_setup, check_job, probe_input_ids, probe_inputs
from engine.train.tensorboard_log import tensorboard_callbacks
from engine.train.trainer import Trainer

Sink = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """How a run ended."""

    status: str  # completed, stopped, failed
    record: RunRecord
    failure: Failure | None = None
    problems: list[StartProblem] = field(default_factory=list)
    trainer: Trainer | None = None


@dataclass
class Placement:
    """Where this process trains: its rank, the world size and (optionally) a fixed device."""

    rank: int = 0
    world: int = 1
    device: torch.device | None = None


def run_job(job: TrainingJob, sink: Sink, commands: CommandSource | None = None, out_dir: Path | None = None,
            callbacks: Sequence[Callback] = (), placement: Placement | None = None) -> RunResult:
    """Train `job`, sending telemetry dicts to `sink`; see the module docstring."""
    place = placement or Placement()
    record = RunRecord(job.run_id, started=now_iso(), settings=job.settings.to_json(),
                       network=document_to_data(job.document), dataset=job.dataset.to_json())
    reporting = place.rank == 0
    send = sink if reporting else _drop
    try:
        checked, problems = check_job(job)
    except (DatasetError, ValueError) as exc:  # malformed settings that slipped past from_json
        checked, problems = None, [StartProblem(str(exc))]
    if checked is None:
        return _refused(job, record, problems, send)
    previous = set_determinism(job.settings.deterministic)
    threads = torch.get_num_threads()
    if job.settings.cpu_threads:
        torch.set_num_threads(job.settings.cpu_threads)
    try:
        return _train(checked, record, send, commands, out_dir, callbacks, place)
    finally:
        restore_determinism(previous)
        torch.set_num_threads(threads)


def _drop(message: dict[str, Any]) -> None:
    """Ranks other than 0 report nothing."""


def _refused(job: TrainingJob, record: RunRecord, problems: list[StartProblem], send: Sink,
             kind: str = "settings", trace: str = "") -> RunResult:
    message = problems_text(problems, job.document)
    node_id = next((p.node_id for p in problems if p.node_id), None)
    record.status, record.finished = "failed", now_iso()
    record.error = {"message": message, "kind": kind, "node_id": node_id}
    send(t.Error(job.run_id, message, node_id=node_id, traceback=trace, kind=kind,
                 problems=[p.to_json() for p in problems]).to_dict())
    send(t.Finished(job.run_id, "failed", 0, {}, {}, {}, {}).to_dict())
    return RunResult("failed", record, Failure(message, kind), problems)


def _train(checked: CheckedJob, record: RunRecord, send: Sink, commands: CommandSource | None,
           out_dir: Path | None, callbacks: Sequence[Callback], place: Placement) -> RunResult:
    job, s = checked.job, checked.job.settings
    seed_everything(s.seed)
    try:
        device = place.device or resolve_device(s.device)
        setup = build_setup(checked, device, place.rank, place.world)
    except DeviceError as exc:
        return _refused(job, record, [StartProblem(str(exc), None, "training")], send, "device")
    except FrozenNetworkError as exc:
        return _refused(job, record, [StartProblem(str(exc))], send)
    except Exception as exc:  # e.g. out of memory while moving the data to the device
        return _refused(job, record, [StartProblem(f"could not set up training: {exc}")], send, "error",
                        traceback.format_exc())
    try:
        carried = start_from_parent(job, setup.module)  # a fork starts from its parent's weights
    except ForkError as exc:
        return _refused(job, record, [StartProblem(str(exc), None, "training")], send)
    record.device, record.parameter_count = device_name(device), parameter_count(setup.module)
    record.dataset_summary = checked.data.summary.to_json()
    recorder = RunRecorder(record)
    own: list[Callback] = []
    if place.rank == 0:
        reporter = _reporter(checked, record, send, setup.module, device)
        hooks = explain_callbacks(checked, setup.module, device, job.run_id, lambda m: send(m.to_dict()),
                                  list(s.probes))
        own = [reporter, recorder, EpochWeights(record, s.keep_epoch_weights), *hooks.callbacks]
        if commands is not None:
            own.append(Control(job.run_id, commands, lambda m: send(m.to_dict()), hooks.following(reporter.set_probes),
                               record.lr_changes.append, {"explain": hooks.explain}))
        own += tensorboard_callbacks(s, job.base_dir, job.name, job.run_id)
        if carried is not None:
            record.parent = carried.to_json()
            send(carried.message(job.run_id).to_dict())
            for line in carried.lines():
                send(t.Log(job.run_id, line, "info" if carried.complete else "warning").to_dict())
    es = s.early_stopping
    if es.enabled:  # every rank decides alike (same metrics); rank 0's decision is broadcast anyway
        own.insert(0, EarlyStopping(es.metric, es.patience, s.monitor_mode))
    trainer = Trainer(setup, [*own, *callbacks])
    status = trainer.fit()
    recorder.finish(trainer)
    weights: dict[str, str] = {}
    if out_dir is not None and place.rank == 0:
        record.write_dir(out_dir)
        weights = {k: str(Path(out_dir) / f"{k}.safetensors") for k in record.weights}
    last = flat_metrics(trainer.history[-1]) if trainer.history else {}
    send(t.Finished(job.run_id, status, len(trainer.history), record.best, last, record.test, weights,
                    str(out_dir) if out_dir else None).to_dict())
    return RunResult(status, record, trainer.failure, [], trainer)


def _reporter(checked: CheckedJob, record: RunRecord, send: Sink, module: fx.GraphModule,
              device: torch.device) -> TelemetryReporter:
    job, s, doc = checked.job, checked.job.settings, checked.job.document
    relu_ids = [n.id for n in doc.nodes.values() if n.type_id in RELU_TYPES]
    probe = Probe(module, probe_inputs(checked, device), probe_input_ids(checked))
    start = {"settings": record.settings, "device": record.device, "parameter_count": record.parameter_count,
             "dataset": record.dataset_summary, "network": record.network}
    return TelemetryReporter(job.run_id, send, start, probe, list(s.probes), relu_ids,
                             list(checked.data.summary.class_names), detail=s.telemetry.enabled)
