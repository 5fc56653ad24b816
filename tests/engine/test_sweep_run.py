"""Sweeps that really train: the CLI with the study in the .loom (and resumed), pruning, parallel workers, a
NaN trial, SQLite shared by two processes, and hostile journals. Small data, few epochs, 1-4 trials each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.runs import get_run, list_runs
from engine.sweep.runner import SweepRun, run_sweep
from engine.sweep.space import JOURNAL_MEMBER, ParamRange, SweepConfig, write_config
from engine.sweep.study import SweepStudyError, journal_bytes, open_study
from engine.train import TrainingSettings

ROOT = Path(__file__).resolve().parents[2]
LR = "setting:optimizer.lr"
UNITS = "node:fc1:out_features"


def sweep_project(folder: Path, config: SweepConfig | None, name: str = "moons", **training) -> Path:
    data = {"epochs": 3, "batch_size": 32, "cpu_threads": 1, "optimizer": {"lr": 0.01}, **training}
    project = Project(mlp_document(hidden=(16,)), name,
                      DatasetConfig("moons", {"n_samples": 300}).to_json(), TrainingSettings.from_json(data).to_json())
    if config is not None:
        write_config(project, config)
    return save_project(project, folder / f"{name}.loom")


CONFIG = SweepConfig(ranges=(ParamRange(LR, "float", 1e-3, 0.1, True), ParamRange(UNITS, "int", 4, 32, True)),
                     metric="val_accuracy", seed=0, pruner="none")


def layerloom(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def test_the_cli_keeps_the_study_in_the_project_and_resumes_it_after_reopening(tmp_path):
    path = sweep_project(tmp_path, CONFIG)
    first = layerloom("sweep", str(path), "--trials", "2", "--set", "epochs=2")
    assert first.returncode == 0, first.stderr
    assert "study 'moons' in the project; 2 trial(s) on 1 worker(s), maximize val_accuracy" in first.stdout
    assert first.stdout.count("complete") == 2 and "best trial" in first.stdout
    project = load_project(path)
    assert project.attachments[JOURNAL_MEMBER]  # the study is a member of the .loom
    assert project.training["epochs"] == 3  # --set applied to the trials only
    study = open_study(path)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.user_attrs["metric"] == "val_accuracy"
    for trial in study.trials:  # every trial is an ordinary run holding the values it trained with
        run = get_run(project, trial.user_attrs["run_id"])
        assert run.status == "completed" and len(run.epochs) == 2 == len(trial.intermediate_values)
        assert run.settings["optimizer"]["lr"] == trial.params[LR]
        fc1 = next(n for n in run.network["nodes"] if n["id"] == "fc1")
        assert fc1["params"]["out_features"] == trial.params[UNITS]
        assert run.sweep["params"] == trial.params and run.sweep["value"] == trial.value
        assert not run.epoch_weights and set(run.weights) == {"best", "last"}  # no per-epoch copies per trial
        assert max(trial.intermediate_values.values()) == trial.value
    summaries = {s.run_id: s for s in list_runs(project)}
    assert summaries["trial-0"].sweep["trial"] == 0 and summaries["trial-1"].sweep["state"] == "complete"

    second = layerloom("sweep", str(path), "--trials", "1", "--set", "epochs=2")  # a new process: reopened
    assert second.returncode == 0, second.stderr
    assert "2 trial(s) before" in second.stdout and "trial 2 " in second.stdout
    study = open_study(path)
    assert [t.number for t in study.trials] == [0, 1, 2]  # the same study, grown
    assert {s.run_id for s in list_runs(load_project(path))} == {"trial-0", "trial-1", "trial-2"}


def test_pruning_stops_a_clearly_bad_trial_after_its_first_epoch(tmp_path):
    config = SweepConfig(ranges=(ParamRange(LR, "float", 1e-7, 0.1, True),), metric="val_loss", pruner="median",
                         pruner_startup_trials=1)
    project = load_project(sweep_project(tmp_path, config, epochs=5))
    # a good learning rate first, then one far too small to move the loss: the median rule prunes it
    run = SweepRun(project, trials=2, enqueue=[{LR: 0.05}, {LR: 1e-7}])
    summary = run_sweep(run)
    good, bad = summary.finished
    assert (good["state"], good["epochs"]) == ("complete", 5)
    assert bad["state"] == "pruned" and bad["epochs"] == 1 and bad["message"] == "pruned after epoch 1"
    trials = open_study(project).trials
    assert trials[1].state == optuna.trial.TrialState.PRUNED and list(trials[1].intermediate_values) == [0]
    assert trials[1].intermediate_values[0] > trials[0].intermediate_values[0]  # worse than the median: pruned
    record = get_run(project, "trial-1")
    assert record.status == "pruned" and len(record.epochs) == 1 and record.sweep["state"] == "pruned"


def test_two_workers_train_trials_in_parallel_and_a_nan_trial_fails_without_ending_the_sweep(tmp_path):
    config = SweepConfig(ranges=(ParamRange(LR, "choice", choices=(0.01, 0.03, 0.1, 1e12)),), metric="val_accuracy",
                         pruner="none", seed=1)
    project = load_project(sweep_project(tmp_path, config, optimizer={"kind": "sgd", "lr": 0.01, "momentum": 0.0}))
    run = SweepRun(project, trials=4, workers=2, enqueue=[{LR: 1e12}, {LR: 0.03}])
    assert len(run.workers) == 2 and run.journal_path is not None
    events, live = [], []

    def seen(event):
        events.append(event)
        if event["type"] == "trial_finished" and not live:  # a reader follows the running sweep's journal
            live.append(len(open_study(run.journal_path).trials))

    summary = run_sweep(run, seen)
    assert live and live[0] >= 1
    started = [e for e in events if e["type"] == "trial_started"]
    assert {e["worker"] for e in started} == {0, 1} and len(started) == 4  # both processes trained trials
    assert events[-1]["type"] == "sweep_finished" and len(summary.finished) == 4
    for event in summary.finished:  # the sweep went on: every diverging trial failed, every other completed
        assert event["state"] == ("fail" if event["params"][LR] == 1e12 else "complete"), event
    diverged = next(e for e in summary.finished if e["params"][LR] == 1e12)
    assert "NaN or infinite" in diverged["message"] and summary.count("complete") >= 1
    trial = next(t for t in open_study(project).trials if t.params[LR] == 1e12)
    assert trial.state == optuna.trial.TrialState.FAIL and "NaN or infinite" in trial.user_attrs["error"]
    assert get_run(project, diverged["run_id"]).status == "failed"  # the run that diverged is kept, as failed
    assert not run.journal_path.exists()  # the working journal is gone; the project holds it


def test_sqlite_storage_is_shared_by_two_sweeps_in_two_processes(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    config = replace(CONFIG, pruner="hyperband")  # and Hyperband prunes over the shared trials
    paths = [sweep_project(tmp_path / name, config, name="shared") for name in ("a", "b")
             if not (tmp_path / name).mkdir()]  # two copies of the project, as on two machines
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "engine.cli", "sweep", str(p), "--trials", "2", "--storage",
                               url, "--epochs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, env=env) for p in paths]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    study = open_study(url)
    assert study.study_name == "shared" and len(study.trials) == 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert all(t.state in finished for t in study.trials) and study.best_trial.state == finished[0]
    run_ids = [sorted(s.run_id for s in list_runs(load_project(p))) for p in paths]
    assert len(run_ids[0]) == len(run_ids[1]) == 2 and not set(run_ids[0]) & set(run_ids[1])
    assert sorted(run_ids[0] + run_ids[1]) == sorted(t.user_attrs["run_id"] for t in study.trials)
    assert all(JOURNAL_MEMBER not in load_project(p).attachments for p in paths)  # the study lives in SQLite


@pytest.mark.parametrize(("journal", "message"), [
    (b"\xff\xfe\n", "not a journal entry"),
    (b"[1, 2]\n", "not a journal entry"),
    (b'{"op_code": 99, "worker_id": "x"}\n', "damaged and cannot be replayed"),
    (b'{"op_code": 0, "worker_id": "x", "study_name": "s", "directions": [7]}\n', "damaged and cannot be replayed"),
    (b'{"op_code": 0, "worker_id": "x", "study_name": "s", "directions": [1]}\n'
     b'{"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_start": "2026-01-01T00:00:00"}\n'
     b'{"op_code": 6, "worker_id": "x", "trial_id": 0, "state": 42, "values": null}\n', "not a valid TrialState"),
    (b'{"op_code": 0, "worker_id": "x", "study_name": "s", "directions": [1]}\n'
     b'{"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_start": "2026-01-01T00:00:00"}\n'
     b'{"op_code": 7, "worker_id": "x", "trial_id": 0, "step": "one", "intermediate_value": "bad"}\n',
     "not numbers"),
    (b'{"op_code": 0, "a": "' + b"x" * (4 * 2**20 + 10) + b'"}\n', "longer than"),
])
def test_a_damaged_or_hostile_journal_is_a_clear_error_and_the_project_is_left_alone(tmp_path, journal, message):
    path = sweep_project(tmp_path, CONFIG)
    project = load_project(path)
    project.attachments[JOURNAL_MEMBER] = journal
    save_project(project, path)
    before = path.read_bytes()
    with pytest.raises(SweepStudyError, match=message):
        open_study(path)
    with pytest.raises(SweepStudyError, match=message):
        open_study(load_project(path))
    proc = layerloom("sweep", str(path), "--trials", "1")
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert "trial 0" not in proc.stdout  # refused before any trial
    assert path.read_bytes() == before


def test_the_cli_refuses_a_project_without_a_config_and_a_config_that_does_not_fit(tmp_path):
    path = sweep_project(tmp_path, None)
    proc = layerloom("sweep", str(path), "--trials", "1")
    assert proc.returncode == 2 and "has no sweep configuration" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"ranges": [{"target": "node:fc9:out_features", "kind": "int", "low": 2, "high": 8}]}')
    proc = layerloom("sweep", str(path), "--config", str(bad))
    assert proc.returncode == 2 and "the network has no node 'fc9'" in proc.stderr
    assert JOURNAL_MEMBER not in load_project(path).attachments


def test_stopping_a_sweep_ends_the_trial_in_flight_as_a_stopped_run_and_starts_no_more(tmp_path):
    project = load_project(sweep_project(tmp_path, CONFIG, epochs=500))
    run = SweepRun(project, trials=3)
    events = []
    try:
        while not run.done:
            for event in run.poll():
                events.append(event)
                if event["type"] == "trial_epoch":
                    run.stop()
            time.sleep(0.02)
    finally:
        run.close()
    [finished] = run.summary.finished
    assert finished["state"] == "fail" and finished["message"] == "stopped with the sweep before it finished"
    assert get_run(project, finished["run_id"]).status == "stopped"
    assert [t.state for t in open_study(project).trials] == [optuna.trial.TrialState.FAIL]  # none left running


def test_trials_a_killed_sweep_left_running_are_marked_failed_when_it_resumes(tmp_path):
    project = load_project(sweep_project(tmp_path, CONFIG))
    first = SweepRun(project, trials=1)
    first.stop()  # starts nothing: only the study is created in the project's journal
    first.close()
    study = open_study(project)
    study.ask(CONFIG.distributions())  # a trial in flight when the sweep was killed (its journal saved)
    project.attachments[JOURNAL_MEMBER] = journal_bytes(study._storage._backend.logs)
    resumed = SweepRun(project, trials=1)
    resumed.stop()
    resumed.close()
    assert resumed.interrupted == [0]
    [trial] = open_study(project).trials
    assert trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs["error"] == "the sweep was interrupted"
    # new bounds continue the study; a range that changes kind or scale cannot, and says so before anything runs
    wider = CONFIG.with_ranges([ParamRange(LR, "float", 1e-4, 0.5, True), CONFIG.ranges[1]])
    SweepRun(project, wider, trials=1).close()
    linear = CONFIG.with_ranges([ParamRange(LR, "float", 1e-3, 0.1, False), CONFIG.ranges[1]])
    with pytest.raises(SweepStudyError, match=r"range of setting:optimizer.lr changed .* on a log scale"):
        SweepRun(project, linear, trials=1)
    restarted = SweepRun(project, linear, trials=1, restart=True)  # --restart: the study begins anew
    restarted.stop()
    restarted.close()
    assert not any(t.user_attrs.get("error") == "the sweep was interrupted" for t in open_study(project).trials)


def test_the_config_chooses_the_sampler_and_the_pruner():
    from engine.sweep.study import make_pruner, make_sampler

    assert isinstance(make_pruner(SweepConfig(pruner="hyperband")), optuna.pruners.HyperbandPruner)
    median = make_pruner(SweepConfig(pruner="median", pruner_startup_trials=2, pruner_warmup_epochs=3))
    assert isinstance(median, optuna.pruners.MedianPruner)
    assert (median._n_startup_trials, median._n_warmup_steps) == (2, 3)
    assert isinstance(make_pruner(SweepConfig(pruner="none")), optuna.pruners.NopPruner)
    assert isinstance(make_sampler(SweepConfig()), optuna.samplers.TPESampler)
    assert isinstance(make_sampler(SweepConfig(sampler="random")), optuna.samplers.RandomSampler)


def test_a_worker_killed_during_a_trial_fails_that_trial_and_the_sweep_ends_normally(tmp_path):
    project = load_project(sweep_project(tmp_path, CONFIG, epochs=500))
    run = SweepRun(project, trials=1)
    events = []
    try:
        while not run.done:
            for event in run.poll():
                events.append(event)
                if event["type"] == "trial_epoch" and run.workers[0].process.is_alive():
                    os.kill(run.workers[0].process.pid, signal.SIGKILL)
            time.sleep(0.02)
    finally:
        run.close()
    [finished] = run.summary.finished
    assert finished["state"] == "fail" and "the worker process ended (exit code -9)" in finished["message"]
    assert events[-1]["type"] == "sweep_finished"
    assert [t.state for t in open_study(project).trials] == [optuna.trial.TrialState.FAIL]


def test_a_storage_that_cannot_be_opened_is_a_clear_error_that_hides_the_password(tmp_path):
    project = load_project(sweep_project(tmp_path, CONFIG))
    for url in ("postgresql://sweeper:hunter2@127.0.0.1:1/optuna", "nosuch://sweeper:hunter2@host/db"):
        with pytest.raises(SweepStudyError) as info:
            SweepRun(project, trials=1, storage=url)
        assert "hunter2" not in str(info.value) and "sweeper:***@" in str(info.value)
    assert JOURNAL_MEMBER not in project.attachments
