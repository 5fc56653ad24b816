"""Running training away from the caller: spawned worker processes, a warm spare, and Qt-free clients.

Every client speaks one protocol (`RunClient`): ``poll()`` returns the decoded telemetry dicts that
are waiting and never blocks; ``pause``, ``resume``, ``stop``, ``set_probes`` and ``set_lr`` send commands
(the two clients here also ``explain``: the sample whose Grad-CAM refreshes each epoch);
``finished`` holds the final message; ``run_files()`` reads the finished run's files as bytes
(for the project, without decoding or re-encoding them); ``close()`` frees everything.

- `Worker.spawn()` starts a process with the multiprocessing ``spawn`` context (safe with CUDA,
  never forks the caller) that imports torch and the training session at once and then waits for
  its job (`engine.worker`). `worker.start(job_source, run_id)` hands it the job and returns its
  `RunHandle`; a worker spawned ahead of time (the studio keeps one) starts a job with torch
  already loaded. `RunHandle.start(...)` spawns and starts in one call (a cold start).
- The worker is not a daemon (so it may start DataLoader workers), but it is ended when the
  caller exits. The job travels as its one JSON form (`TrainingJob.to_json` /
  `TrainingJob.project_json`); telemetry comes back over a one-way Pipe as `engine.telemetry`
  frames (``send_bytes``: a JSON header plus raw numpy buffers, no pickle); commands go the other
  way as small JSON frames.
- A worker that dies without saying ``finished`` (killed, crashed) is reported by `poll()` as an
  ``error`` (kind ``worker_died``) plus a failed ``finished`` as soon as the process is gone; the
  caller's process is never harmed.
- `LocalRun` drives the very same worker code (`engine.worker.run_payload`) in a thread of this
  process with queues instead of pipes (frames are still encoded and decoded), for fast tests.

This module imports neither torch nor Qt: the worker process does.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing as mp
import queue
import shutil
import tempfile
import threading
import time
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine import telemetry as t
from engine.graph.document import GraphDocument
from engine.project import Project
from engine.runs import RunRecord, read_run_files
from engine.train.job import TrainingJob
from engine.worker import (  # noqa: F401  (FrameSender and friends re-exported for older callers)
    MAX_PENDING_FRAMES,
    READY,
    FrameSender,
    PipeCommands,
    run_payload,
    worker_main,
)

if TYPE_CHECKING:
    from engine.data.config import DatasetConfig
    from engine.train.settings import TrainingSettings

JobSource = Project | TrainingJob | tuple  # a project, a job, or (document, dataset config, settings)
Message = dict[str, Any]


def job_json(source: Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings],
             run_id: str, base_dir: Path | None = None, folder: Path | None = None) -> dict[str, Any]:
    """The JSON a worker starts from: always `TrainingJob`'s one form (a project's sections unparsed);
    initial weights, if any, are written into `folder` (the run's)."""
    if isinstance(source, Project):
        return TrainingJob.project_json(source, run_id, base_dir, folder)
    if isinstance(source, TrainingJob):
        job = source
    else:
        document, dataset, settings = source
        job = TrainingJob(document, dataset, settings)
    data = job.to_json(folder)
    data["run_id"] = run_id
    if base_dir is not None or job.base_dir is None:
        data["base_dir"] = str(base_dir) if base_dir else None
    return data


class RunClient(Protocol):
    """What the studio and the tests drive a run through, whichever runner runs it."""

    run_id: str
    out_dir: Path
    finished: Message | None

    @property
    def done(self) -> bool: ...

    def poll(self) -> list[Message]: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...

    def set_probes(self, node_ids: list[str]) -> None: ...

    def set_lr(self, lr: float) -> None: ...

    def record(self) -> RunRecord | None: ...

    def run_files(self) -> dict[str, bytes]: ...

    def close(self, timeout: float = 5.0) -> None: ...


_LIVE: weakref.WeakSet[mp.process.BaseProcess] = weakref.WeakSet()


@atexit.register
def _end_workers() -> None:
    """Workers do not outlive the process that started them (runs before multiprocessing joins them)."""
    for process in list(_LIVE):
        if process.is_alive():
            process.terminate()
            process.join(2.0)


def end_with_this_process(process: mp.process.BaseProcess) -> None:
    """Terminate `process` when this process exits, if it is still alive then (workers, sweep trials)."""
    _LIVE.add(process)


def default_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S")


def _decode_frames(conn: Connection, run_id: str) -> tuple[list[Message], bool]:
    """Every frame waiting on `conn` (never blocks) and whether the other end is gone."""
    messages: list[Message] = []
    try:
        while conn.poll():
            messages.append(t.decode(conn.recv_bytes()))
    except (EOFError, OSError):
        return messages, True
    except t.TelemetryError as exc:
        messages.append(t.Log(run_id, f"dropped a malformed telemetry frame: {exc}", "warning").to_dict())
    return messages, False


class Worker:
    """A spawned worker process that loads torch at once and then waits for one job."""

    def __init__(self, process: mp.process.BaseProcess, telemetry: Connection, commands: Connection) -> None:
        self.process, self._telemetry, self._commands = process, telemetry, commands
        self.ready_message: Message | None = None
        self.used = False

    @classmethod
    def spawn(cls) -> Worker:
        ctx = mp.get_context("spawn")
        telemetry_in, telemetry_out = ctx.Pipe(duplex=False)
        commands_in, commands_out = ctx.Pipe(duplex=False)
        # not a daemon: a daemon may not start DataLoader workers; atexit above still ends it with us
        process = ctx.Process(target=worker_main, args=(telemetry_out, commands_in), name="layerloom-worker",
                              daemon=False)
        process.start()
        _LIVE.add(process)
        telemetry_out.close()  # the worker holds the only writing end, so its death reads as EOF here
        commands_in.close()
        return cls(process, telemetry_in, commands_out)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def poll_ready(self) -> bool:
        """Whether the worker has said it is warm (torch imported); never blocks."""
        if self.ready_message is None and not self.used:
            messages, _ = _decode_frames(self._telemetry, "")
            for message in messages:  # nothing but the ready message comes before the job
                if message.get("type") == READY:
                    self.ready_message = message
        return self.ready_message is not None

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until the worker is warm (for tests and benchmarks); False when it died or timed out."""
        deadline = time.monotonic() + timeout
        while not self.poll_ready() and self.alive and time.monotonic() < deadline:
            self._telemetry.poll(0.05)
        return self.poll_ready()

    def start(self, source: Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings],
              run_id: str | None = None, out_dir: str | Path | None = None,
              base_dir: str | Path | None = None) -> RunHandle:
        """Give this worker its job; returns the run's handle. A worker takes one job only."""
        if self.used:
            raise RuntimeError("this worker has already been given a job")
        self.poll_ready()
        self.used = True
        run_id = run_id or default_run_id()
        own = out_dir is None
        folder = Path(tempfile.mkdtemp(prefix=f"layerloom-{run_id}-")) if own else Path(out_dir)
        data = job_json(source, run_id, Path(base_dir) if base_dir else None, folder)
        handle = RunHandle(self.process, self._telemetry, self._commands, run_id, folder, own)
        handle.worker_ready = self.ready_message
        handle._command({"cmd": "start", "job": data, "out_dir": str(folder)})
        return handle

    def close(self, timeout: float = 5.0) -> None:
        """End an unused worker. A warm one is told by its closed command pipe and leaves on its own (within
        `timeout`, else it is forced); one still importing holds nothing and is ended at once, so closing
        the studio never waits for torch to load."""
        if self.used:
            return
        warm = self.poll_ready()
        self.used = True
        with contextlib.suppress(OSError):
            self._commands.close()
        self.process.join(timeout if warm else 0.0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        with contextlib.suppress(OSError):
            self._telemetry.close()


class _Client:
    """What RunHandle and LocalRun share: commands out, messages in, the record at the end."""

    run_id: str
    out_dir: Path
    _own_dir: bool
    finished: Message | None = None

    def pause(self) -> None:
        self._command({"cmd": "pause"})

    def resume(self) -> None:
        self._command({"cmd": "resume"})

    def stop(self) -> None:
        """Ask the run to stop after the step in flight; it saves its weights and says finished."""
        self._command({"cmd": "stop"})

    def set_probes(self, node_ids: list[str]) -> None:
        """Stream feature maps of these nodes from now on."""
        self._command({"cmd": "set_probes", "nodes": list(node_ids)})

    def set_lr(self, lr: float) -> None:
        """Train with this learning rate from the next step on (the schedule continues from it)."""
        self._command({"cmd": "set_lr", "lr": float(lr)})

    def explain(self, sample: dict[str, Any] | None, node_id: str | None = None) -> None:
        """Refresh Grad-CAM of `sample` ({"split", "index"}) at `node_id` (default: the last spatial
        node) every epoch from now on; None stops it (`engine.explain.live`)."""
        self._command({"cmd": "explain", "sample": sample, "node": node_id})

    def _command(self, command: dict[str, Any]) -> None:
        raise NotImplementedError

    def poll(self) -> list[Message]:
        raise NotImplementedError

    @property
    def done(self) -> bool:
        return self.finished is not None

    def wait(self, timeout: float = 60.0, interval: float = 0.02) -> list[Message]:
        """Poll until the run says finished (or `timeout` seconds pass); returns every message."""
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while not self.done and time.monotonic() < deadline:
            messages += self.poll()
            if not self.done:
                time.sleep(interval)
        return messages + self.poll()

    def _note(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get("type") == "finished":
                self.finished = message
        return messages

    def record(self) -> RunRecord | None:
        """The saved run (settings, metrics, weights) once finished, else None."""
        if not self.done or not (self.out_dir / "run.json").exists():
            return None
        return RunRecord.read_dir(self.out_dir)

    def run_files(self) -> dict[str, bytes]:
        """The finished run's files as bytes, checked but not decoded (empty when nothing was saved)."""
        if not self.done:
            return {}
        return read_run_files(self.out_dir)

    def _remove_dir(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.out_dir, ignore_errors=True)


class RunHandle(_Client):
    """A training run in a spawned worker process."""

    def __init__(self, process: mp.process.BaseProcess, telemetry: Connection, commands: Connection,
                 run_id: str, out_dir: Path, own_dir: bool) -> None:
        self.process, self._telemetry, self._commands = process, telemetry, commands
        self.run_id, self.out_dir, self._own_dir = run_id, out_dir, own_dir
        self.finished = None
        self.worker_ready: Message | None = None  # the worker's ready message, once it came
        self._reported_death = False

    @classmethod
    def start(cls, source: Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings],
              run_id: str | None = None, out_dir: str | Path | None = None,
              base_dir: str | Path | None = None) -> RunHandle:
        """Spawn a worker and start a project, a TrainingJob or (document, dataset config, settings) (cold)."""
        return Worker.spawn().start(source, run_id, out_dir, base_dir)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def _command(self, command: dict[str, Any]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the worker is gone; poll() reports it
            self._commands.send_bytes(json.dumps(command).encode("utf-8"))

    def poll(self) -> list[Message]:
        """Messages waiting from the worker; never blocks. Reports a dead worker once."""
        frames, eof = _decode_frames(self._telemetry, self.run_id)
        messages = []
        for message in frames:
            if message.get("type") == READY:
                self.worker_ready = message
            else:
                messages.append(message)
        self._note(messages)
        if not self.done and not self._reported_death and (eof or not self.process.is_alive()):
            messages += self._death_messages()
        return messages

    def _death_messages(self) -> list[Message]:
        if self.process.is_alive():  # EOF but still running: give it a moment to exit
            self.process.join(0.05)
        code = self.process.exitcode
        if code is None:
            return []
        self._reported_death = True
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        error = t.Error(self.run_id, f"the training process {how} before finishing; the run is lost "
                        "(this application is unaffected)", kind="worker_died")
        return self._note([error.to_dict(), t.Finished(self.run_id, "failed", 0, {}, {}, {}, {}).to_dict()])

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker if it still runs (politely, then by force) and free its resources."""
        if self.process.is_alive():
            self.stop()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        for conn in (self._telemetry, self._commands):
            conn.close()
        self._remove_dir()


class LocalRun(_Client):
    """The worker code in a thread of this process, talking over queues (for tests and tools)."""

    def __init__(self, source: Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings],
                 run_id: str | None = None, out_dir: str | Path | None = None,
                 base_dir: str | Path | None = None) -> None:
        from engine.train.control import QueueCommands  # torch: an in-process run trains here

        self.run_id = run_id or default_run_id()
        self._own_dir = out_dir is None
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix=f"layerloom-{self.run_id}"))
        self.finished = None
        base = Path(base_dir) if base_dir else None
        # through JSON and back: the thread gets exactly what a worker process would
        self._payload = json.loads(json.dumps(job_json(source, self.run_id, base, self.out_dir)))
        self._messages: queue.Queue[bytes] = queue.Queue()
        self._commands = QueueCommands()
        self._thread = threading.Thread(target=self._run, name=f"layerloom-local-{self.run_id}", daemon=True)

    @classmethod
    def start(cls, source: Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings],
              run_id: str | None = None, out_dir: str | Path | None = None,
              base_dir: str | Path | None = None) -> LocalRun:
        run = cls(source, run_id, out_dir, base_dir)
        run._thread.start()
        return run

    def _run(self) -> None:

        run_payload(self._payload, lambda m: self._messages.put(t.encode(m)), self._commands, self.out_dir)

    def _command(self, command: dict[str, Any]) -> None:
        self._commands.put(json.loads(json.dumps(command)))

    def poll(self) -> list[Message]:
        messages = []
        while True:
            try:
                messages.append(t.decode(self._messages.get_nowait()))
            except queue.Empty:
                return self._note(messages)

    def close(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self.stop()
            self._thread.join(timeout)
        self._remove_dir()
