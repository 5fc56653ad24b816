"""The worker side of a run: one protocol for the spawned process and the in-process runner.

A worker process is spawned (``spawn`` context) and warms up at once: it imports torch and the
training session, then says ``worker_ready`` (its pid, and that torch is loaded) on the telemetry
pipe and waits for its job. The job arrives as the first command, ``{"cmd": "start", "job":
<TrainingJob JSON>, "out_dir": folder}``; from then on the command pipe carries pause, resume,
stop, set_probes and set_lr, and the telemetry pipe carries `engine.telemetry` frames until ``finished``.
A worker trains one job and exits; a closed command pipe before the job means "not needed": it
exits at once. A job whose ``task`` is ``lr_find`` sweeps the learning rate instead of training
(`engine.train.lr_find_job`), with the same messages around it (error, finished). `run_payload`
is the part both runners share: parse the job JSON, run it, and turn anything that goes wrong into
error + finished messages. The in-process runner
(`engine.runner.LocalRun`) calls it with queues instead of pipes.

The worker encodes and sends from a background thread (`FrameSender`), in batches, so neither
encoding nor a slow reader stalls training: when frames pile up, heavy ones (feature maps,
statistics, sample pictures) are dropped, scalars never are.
If the caller goes away, the worker stops at its next progress report and saves what it has.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine import telemetry as t

if TYPE_CHECKING:
    from engine.train.control import Command, CommandSource

MAX_PENDING_FRAMES = 64
MAX_PENDING_BYTES = 16 * 2**20
BATCH_WAIT = 0.005  # seconds the sender lets a burst of messages gather before it sends them
READY = "worker_ready"
URGENT_TYPES = frozenset({READY, "run_started", "status", "error", "finished", "log"})  # sent without the wait
Sink = Callable[[dict[str, Any]], None]


class FrameSender:
    """Sends messages from a background thread, which also encodes them; drops heavy ones when behind.

    The training thread only appends the message (a dict that nobody changes afterwards) to a
    queue: encoding (JSON and array buffers) and writing happen on the sender thread, in batches.
    The sender wakes when the queue goes from empty to not empty, then waits ``BATCH_WAIT`` seconds
    so that the burst a progress report makes (a step, feature maps, statistics) goes out in one
    wake-up, not one per message: each wake-up contends with the training thread for the GIL.
    Messages that say the run started, stopped, failed or finished are sent at once.
    """

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
        self._pending: deque[dict[str, Any]] = deque()
        self._bytes = 0  # array bytes of the heavy messages waiting (the rest are a few hundred bytes)
        self._cond = threading.Condition()
        self._closed = False
        self._urgent = False
        self.broken = False  # the reader is gone
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="telemetry-sender", daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        heavy = kind in t.HEAVY_TYPES
        size = _array_bytes(message) if heavy else 0
        with self._cond:
            behind = len(self._pending) >= MAX_PENDING_FRAMES or self._bytes >= MAX_PENDING_BYTES
            if self.broken or (behind and heavy):
                self.dropped += 1
                return
            was_empty = not self._pending
            self._pending.append(message)
            self._bytes += size
            if kind in URGENT_TYPES:
                self._urgent = True
                self._cond.notify()
            elif was_empty:
                self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                if not (self._urgent or self._closed):  # let the rest of a report's burst arrive
                    self._cond.wait(BATCH_WAIT)
                batch = list(self._pending)
                self._pending.clear()
                self._bytes = 0
                self._urgent = False
            for message in batch:
                self._send_one(message)

    def _send_one(self, message: dict[str, Any]) -> None:
        try:
            frame = t.encode(message)
        except t.TelemetryError:  # a message that cannot be encoded is lost, never the run
            self.dropped += 1
            return
        try:
            self._write(frame)
        except (OSError, EOFError, ValueError):
            self.broken = True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is pending (up to `timeout` seconds), then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)


def _array_bytes(value: Any) -> int:
    """Bytes of the numpy arrays in a message (heavy messages carry them in dicts and lists)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_array_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_array_bytes(v) for v in value)
    return 0


class PipeCommands:
    """Commands from the client's pipe; a closed pipe or a broken telemetry link means stop."""

    def __init__(self, conn: Connection, sender: FrameSender) -> None:
        self.conn, self.sender = conn, sender

    def poll(self, timeout: float = 0.0) -> list[Command]:
        if self.sender.broken:
            return [{"cmd": "stop"}]
        out: list[Command] = []
        try:
            wait = timeout
            while self.conn.poll(wait):
                out.append(json.loads(self.conn.recv_bytes().decode("utf-8")))
                wait = 0.0
        except (EOFError, OSError):
            return [*out, {"cmd": "stop"}]
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass  # a malformed command is ignored, never fatal
        return out


def warm_up(job_waiting: Callable[[], bool] = lambda: False) -> None:
    """Load everything training needs before the job comes: torch, the session, and what torch and the
    engine import only on first use (torch.optim pulls in torch._dynamo, seconds of imports; the fx build,
    the data loader, the probe). A tiny real run does it all; its messages are dropped. When the job is
    already waiting (a cold start), the tiny run is skipped: the job itself loads the rest."""
    import engine.train.session  # noqa: F401  (torch, the build, the loop)

    if job_waiting():
        return
    from engine.data.config import DatasetConfig
    from engine.examples import mlp_document
    from engine.train.job import TrainingJob
    from engine.train.session import run_job
    from engine.train.settings import TrainingSettings

    settings = TrainingSettings(epochs=1, batch_size=16, cpu_threads=1, probes=["fc1"])
    job = TrainingJob(mlp_document(), DatasetConfig("spirals", {"n_samples": 40}), settings, run_id="warm-up")
    with contextlib.suppress(Exception):  # best effort: the real job still runs (and reports) what went wrong
        run_job(job, lambda message: None)


def _ready_message() -> dict[str, Any]:
    return {"type": READY, "run_id": "", "pid": os.getpid(), "torch_loaded": "torch" in sys.modules,
            "time": _now()}


def _now() -> float:
    import time

    return time.time()


def worker_main(telemetry_conn: Connection, command_conn: Connection) -> None:
    """Entry point of a spawned worker: warm up, say ready, wait for the job, run it, exit."""
    sender = FrameSender(telemetry_conn.send_bytes)
    try:
        warm_up(command_conn.poll)
        sender.send(_ready_message())
        start = _wait_for_job(command_conn)
        if start is None:
            return
        run_payload(start["job"], sender.send, PipeCommands(command_conn, sender), Path(start["out_dir"]))
    finally:
        sender.close()
        telemetry_conn.close()


def _wait_for_job(conn: Connection) -> dict[str, Any] | None:
    """The start command, or None when the caller closed the pipe (the worker is not needed)."""
    while True:
        try:
            command = json.loads(conn.recv_bytes().decode("utf-8"))
        except (EOFError, OSError):
            return None
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # a malformed command is ignored, never fatal
        if isinstance(command, dict) and command.get("cmd") == "start" and isinstance(command.get("job"), dict):
            return command
        if isinstance(command, dict) and command.get("cmd") == "quit":
            return None


def run_payload(data: dict[str, Any], sink: Sink, commands: CommandSource, out_dir: Path | None) -> None:
    """Parse a job's JSON and run it; anything that goes wrong ends as error + finished messages."""
    from engine.train.job import TrainingJob
    from engine.train.session import run_job

    run_id = str(data.get("run_id", "run"))
    try:
        job = TrainingJob.from_json(data)
    except Exception as exc:
        sink(t.Error(run_id, f"training cannot start: {exc}", kind="settings",
                     traceback=traceback.format_exc()).to_dict())
        sink(t.Finished(run_id, "failed", 0, {}, {}, {}, {}).to_dict())
        return
    try:
        if job.task is not None and job.task.get("kind") == "lr_find":
            from engine.train.lr_find_job import run_lr_find

            run_lr_find(job, sink, commands)
        else:
            run_job(job, sink, commands, out_dir)
    except Exception as exc:  # a bug, not a user problem: still a message, never a hang
        sink(t.Error(run_id, f"the training worker failed: {exc!r}",
                     traceback=traceback.format_exc()).to_dict())
        sink(t.Finished(run_id, "failed", 0, {}, {}, {}, {}).to_dict())
