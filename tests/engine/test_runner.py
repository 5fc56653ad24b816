"""The worker: driven in-process on queues (fast), and as a real spawned process (start, control, death)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.project import Project
from engine.runner import LocalRun, RunHandle
from engine.train import TrainingSettings

Message = dict[str, Any]


def long_settings(**changes: Any) -> TrainingSettings:
    data = {"epochs": 100_000, "cpu_threads": 1, "probes": ["fc1"],
            "telemetry": {"feature_map_interval": 0.05, "stats_interval": 0.5}, **changes}
    return TrainingSettings.from_json(data)


def job(settings: TrainingSettings) -> tuple[Any, DatasetConfig, TrainingSettings]:
    return mlp_document(), DatasetConfig("spirals", {"n_samples": 300}), settings


def poll_until(handle: Any, seen: list[Message], done: Callable[[list[Message]], bool],
               timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done(seen):
        assert time.monotonic() < deadline, f"timed out; got {[m['type'] for m in seen][-20:]}"
        seen += handle.poll()
        time.sleep(0.01)


def types(messages: list[Message], kind: str) -> list[Message]:
    return [m for m in messages if m["type"] == kind]


def plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, np.ndarray))


def test_local_run_trains_to_the_end_and_keeps_its_record():
    run = LocalRun.start(job(TrainingSettings(epochs=3, cpu_threads=1)), run_id="local-1")
    messages = run.wait(60)
    assert messages[0]["type"] == "run_started" and messages[-1]["type"] == "finished"
    assert all(plain(m) and m["run_id"] == "local-1" for m in messages)
    assert len(types(messages, "epoch")) == 3 and run.finished["status"] == "completed"
    record = run.record()
    assert record.status == "completed" and set(record.weights) == {"best", "last"}
    assert run.finished["weights"]["best"].endswith("best.safetensors")
    folder = run.out_dir
    run.close()
    assert not folder.exists()


def test_local_run_pauses_resumes_changes_probes_and_stops():
    run = LocalRun.start(job(long_settings()), run_id="local-2")
    seen: list[Message] = []
    # feature maps of the initial weights come before the first step: wait for a step as well
    poll_until(run, seen, lambda s: types(s, "feature_maps") and types(s, "step"))
    assert {m["node_id"] for m in types(seen, "feature_maps")} == {"fc1"}
    run.pause()
    poll_until(run, seen, lambda s: any(m.get("state") == "paused" for m in types(s, "status")))
    time.sleep(0.2)
    seen += run.poll()
    last_step = types(seen, "step")[-1]["step"]
    time.sleep(0.3)
    assert not types(run.poll(), "step")  # nothing trains while paused
    run.set_probes(["relu2"])
    run.resume()
    count = len(seen)
    poll_until(run, seen, lambda s: any(m["node_id"] == "relu2" for m in types(s[count:], "feature_maps")))
    assert types(seen, "step")[-1]["step"] > last_step
    run.stop()
    poll_until(run, seen, lambda s: types(s, "finished"))
    assert seen[-1]["status"] == "stopped" and run.record().weights["last"]
    run.close()


def test_local_run_reports_malformed_settings_as_messages():
    project = Project(mlp_document(), dataset=DatasetConfig("spirals").to_json(), training={"epochs": "many"})
    run = LocalRun.start(project, run_id="bad")
    messages = run.wait(30)
    assert [m["type"] for m in messages] == ["error", "finished"]
    assert "Epochs (epochs) must be a whole number" in messages[0]["message"]
    run.close()


def test_spawned_worker_streams_pauses_changes_probes_and_stops():
    project = Project(mlp_document(), "spawned", DatasetConfig("spirals", {"n_samples": 300}).to_json(),
                      long_settings().to_json())
    handle = RunHandle.start(project, run_id="spawned-1")
    seen: list[Message] = []
    try:
        poll_until(handle, seen, lambda s: types(s, "feature_maps") and types(s, "step"))
        assert seen[0]["type"] == "run_started" and all(plain(m) for m in seen)
        assert types(seen, "feature_maps")[0]["maps"].dtype == np.float16
        handle.pause()
        poll_until(handle, seen, lambda s: any(m.get("state") == "paused" for m in types(s, "status")))
        handle.set_probes(["relu2"])
        handle.resume()
        count = len(seen)
        poll_until(handle, seen,
                   lambda s: any(m["node_id"] == "relu2" for m in types(s[count:], "feature_maps")))
        assert any(m.get("state") == "running" for m in types(seen, "status"))
        handle.stop()
        poll_until(handle, seen, lambda s: types(s, "finished"))
        assert seen[-1]["status"] == "stopped"
        record = handle.record()
        assert record.status == "stopped" and record.weights["last"] and record.epochs
        handle.process.join(10)
        assert handle.process.exitcode == 0
    finally:
        handle.close()


def test_a_killed_worker_is_reported_by_the_next_poll():
    """The studio polls about 30 times a second, so "the next poll" means within a frame or two; asserting
    on the poll rather than on a clock keeps the test true on a loaded machine."""
    handle = RunHandle.start(job(long_settings()), run_id="doomed")
    seen: list[Message] = []
    try:
        poll_until(handle, seen, lambda s: types(s, "step"))
        os.kill(handle.pid, signal.SIGKILL)
        handle.process.join(60)  # the operating system has reaped it: it is dead, however busy the machine
        assert handle.process.exitcode == -signal.SIGKILL
        seen += handle.poll()
        error = types(seen, "error")[0]
        assert error["kind"] == "worker_died" and "killed by signal 9" in error["message"]
        seen += handle.poll()
        assert seen[-1]["type"] == "finished" and seen[-1]["status"] == "failed"
        assert handle.poll() == []  # reported once; this process carries on unharmed
    finally:
        handle.close()


def test_a_diverging_run_in_a_worker_names_the_node():
    settings = TrainingSettings.from_json({"epochs": 100, "cpu_threads": 1,
                                           "optimizer": {"kind": "sgd", "lr": 1e12, "momentum": 0.0}})
    handle = RunHandle.start(job(settings), run_id="nan")
    try:
        messages = handle.wait(60)
        error = types(messages, "error")[0]
        assert error["kind"] == "non_finite" and error["node_id"] in {"fc1", "relu1", "fc2", "relu2", "fc3"}
        assert f"'{error['node_id']}'" in error["message"]
        assert messages[-1]["type"] == "finished" and messages[-1]["status"] == "failed"
    finally:
        handle.close()


def test_a_slow_reader_never_stalls_the_sender_and_loses_only_heavy_frames():
    import threading

    from engine import telemetry as t
    from engine.runner import MAX_PENDING_FRAMES, FrameSender

    gate = threading.Event()
    written: list[bytes] = []

    def slow_write(frame: bytes) -> None:
        gate.wait()
        written.append(frame)

    sender = FrameSender(slow_write)
    heavy = t.FeatureMaps("r", "conv1", 0, np.zeros((4, 8, 8), np.float16), [4, 8, 8]).to_dict()
    guard = threading.Timer(120.0, gate.set)  # should send ever block, the test fails instead of hanging
    guard.start()
    for i in range(MAX_PENDING_FRAMES * 3):
        sender.send(heavy)
        sender.send(t.Step("r", i, 0, 0.5, 0.1, 100.0, 0.1).to_dict())
    # Every send returned while the reader was still blocked: the training thread never waited for it.
    assert not gate.is_set()
    guard.cancel()
    gate.set()
    sender.close()
    kinds = [t.decode(f)["type"] for f in written]
    assert kinds.count("step") == MAX_PENDING_FRAMES * 3 and sender.dropped > 0
    assert kinds.count("feature_maps") + sender.dropped == MAX_PENDING_FRAMES * 3


def test_a_closed_command_pipe_means_stop():
    import multiprocessing as mp

    from engine.runner import FrameSender, PipeCommands

    reader, writer = mp.Pipe(duplex=False)
    commands = PipeCommands(reader, FrameSender(lambda frame: None))
    writer.send_bytes(b'{"cmd": "pause"}')
    assert commands.poll() == [{"cmd": "pause"}]
    writer.close()
    assert commands.poll(0.1) == [{"cmd": "stop"}]
