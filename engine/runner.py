"""Running training away from the caller: a spawned worker process and a Qt-free client handle.

`RunHandle.start(project | job | (document, dataset config, settings), run_id=...)` starts a
worker with the multiprocessing ``spawn`` context (safe with CUDA, never forks the caller); it is
not a daemon (so it may start DataLoader workers), but it is ended when the caller exits. The job
travels as JSON bytes; telemetry comes back over a one-way Pipe as `engine.telemetry` frames
(``send_bytes``: a JSON header plus raw numpy buffers, no pickle); commands (pause, resume, stop,
set_probes) go the other way as small JSON frames. `poll()` never blocks and returns the decoded
message dicts that are waiting. A worker that dies without saying ``finished`` (killed, crashed)
is reported by `poll()` as an ``error`` (kind ``worker_died``) plus a failed ``finished`` as soon as
the process is gone; the caller's process is never harmed.

The worker sends from a background thread, so a slow reader never stalls training: when frames
pile up, heavy ones (feature maps, statistics, sample pictures) are dropped, scalars never are.
If the caller goes away, the worker stops at its next progress report and saves what it has.

`LocalRun` drives the very same worker loop (`engine.train.session.run_job`) in a thread of this
process with queues instead of pipes (frames are still encoded and decoded), for fast tests.
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
import traceback
import weakref
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine import telemetry as t
from engine.data import DatasetConfig
from engine.graph.document import GraphDocument
from engine.graph.serialize import document_to_data
from engine.project import Project
from engine.runs import RunRecord
from engine.train.control import Command, QueueCommands
from engine.train.job import TrainingJob
from engine.train.session import run_job
from engine.train.settings import TrainingSettings

JobSource = Project | TrainingJob | tuple[GraphDocument, DatasetConfig, TrainingSettings]
MAX_PENDING_FRAMES = 64
MAX_PENDING_BYTES = 16 * 2**20


def job_payload(source: Any, run_id: str, base_dir: Path | None = None) -> dict[str, Any]:
    """The plain-JSON job a worker starts from (parsing is left to the worker, so errors become messages)."""
    if isinstance(source, Project):
        data = {"network": document_to_data(source.network), "dataset": source.dataset,
                "settings": source.training, "name": source.name}
    elif isinstance(source, TrainingJob):
        data = source.to_json()
        base_dir = base_dir or source.base_dir
    else:
        document, dataset, settings = source
        data = {"network": document_to_data(document), "dataset": dataset.to_json(),
                "settings": settings.to_json()}
    return {**data, "run_id": run_id, "base_dir": str(base_dir) if base_dir else None}


_LIVE: weakref.WeakSet[mp.process.BaseProcess] = weakref.WeakSet()


@atexit.register
def _end_workers() -> None:
    """Workers do not outlive the process that started them (runs before multiprocessing joins them)."""
    for process in list(_LIVE):
        if process.is_alive():
            process.terminate()
            process.join(2.0)


def default_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S")


# ---- the worker side -------------------------------------------------------------------------
class FrameSender:
    """Encodes messages and sends them from a background thread, dropping heavy ones when behind."""

    def __init__(self, write: Any) -> None:
        self._write = write
        self._pending: deque[bytes] = deque()
        self._bytes = 0
        self._cond = threading.Condition()
        self._closed = False
        self.broken = False  # the reader is gone
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="telemetry-sender", daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        frame = t.encode(message)
        with self._cond:
            behind = len(self._pending) >= MAX_PENDING_FRAMES or self._bytes >= MAX_PENDING_BYTES
            if self.broken or (behind and message.get("type") in t.HEAVY_TYPES):
                self.dropped += 1
                return
            self._pending.append(frame)
            self._bytes += len(frame)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                frame = self._pending.popleft()
                self._bytes -= len(frame)
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


def _worker_main(payload: bytes, telemetry_conn: Connection, command_conn: Connection, out_dir: str) -> None:
    """Entry point of the spawned worker process."""
    sender = FrameSender(telemetry_conn.send_bytes)
    try:
        run_payload(json.loads(payload.decode("utf-8")), sender.send, PipeCommands(command_conn, sender),
                    Path(out_dir))
    finally:
        sender.close()
        telemetry_conn.close()


def run_payload(data: dict[str, Any], sink: Any, commands: Any, out_dir: Path | None) -> None:
    """Parse a job payload and run it; anything that goes wrong ends as error + finished messages."""
    run_id = str(data.get("run_id", "run"))
    try:
        job = TrainingJob.from_json(data)
    except Exception as exc:
        sink(t.Error(run_id, f"training cannot start: {exc}", kind="settings",
                     traceback=traceback.format_exc()).to_dict())
        sink(t.Finished(run_id, "failed", 0, {}, {}, {}, {}).to_dict())
        return
    try:
        run_job(job, sink, commands, out_dir)
    except Exception as exc:  # a bug, not a user problem: still a message, never a hang
        sink(t.Error(run_id, f"the training worker failed: {exc!r}",
                     traceback=traceback.format_exc()).to_dict())
        sink(t.Finished(run_id, "failed", 0, {}, {}, {}, {}).to_dict())


# ---- the client side -------------------------------------------------------------------------
class _Client:
    """What RunHandle and LocalRun share: commands out, messages in, the record at the end."""

    run_id: str
    out_dir: Path
    _own_dir: bool
    finished: dict[str, Any] | None = None

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

    def _command(self, command: Command) -> None:
        raise NotImplementedError

    def poll(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    @property
    def done(self) -> bool:
        return self.finished is not None

    def wait(self, timeout: float = 60.0, interval: float = 0.02) -> list[dict[str, Any]]:
        """Poll until the run says finished (or `timeout` seconds pass); returns every message."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not self.done and time.monotonic() < deadline:
            messages += self.poll()
            if not self.done:
                time.sleep(interval)
        return messages + self.poll()

    def _note(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for message in messages:
            if message.get("type") == "finished":
                self.finished = message
        return messages

    def record(self) -> RunRecord | None:
        """The saved run (settings, metrics, weights) once finished, else None."""
        if not self.done or not (self.out_dir / "run.json").exists():
            return None
        return RunRecord.read_dir(self.out_dir)

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
        self._reported_death = False

    @classmethod
    def start(cls, source: JobSource, run_id: str | None = None, out_dir: str | Path | None = None,
              base_dir: str | Path | None = None) -> RunHandle:
        """Start a worker for a project, a TrainingJob or (document, dataset config, settings)."""
        run_id = run_id or default_run_id()
        own = out_dir is None
        folder = Path(tempfile.mkdtemp(prefix=f"layerloom-{run_id}-")) if own else Path(out_dir)
        base = Path(base_dir) if base_dir else None
        payload = json.dumps(job_payload(source, run_id, base)).encode("utf-8")
        ctx = mp.get_context("spawn")
        telemetry_in, telemetry_out = ctx.Pipe(duplex=False)
        commands_in, commands_out = ctx.Pipe(duplex=False)
        # not a daemon: a daemon may not start DataLoader workers; atexit below still ends it with us
        process = ctx.Process(target=_worker_main, args=(payload, telemetry_out, commands_in, str(folder)),
                              name=f"layerloom-train-{run_id}", daemon=False)
        process.start()
        _LIVE.add(process)
        telemetry_out.close()  # the worker holds the only writing end, so its death reads as EOF here
        commands_in.close()
        return cls(process, telemetry_in, commands_out, run_id, folder, own)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def _command(self, command: Command) -> None:
        with contextlib.suppress(OSError, ValueError):  # the worker is gone; poll() reports it
            self._commands.send_bytes(json.dumps(command).encode("utf-8"))

    def poll(self) -> list[dict[str, Any]]:
        """Messages waiting from the worker; never blocks. Reports a dead worker once."""
        messages: list[dict[str, Any]] = []
        eof = False
        try:
            while self._telemetry.poll():
                messages.append(t.decode(self._telemetry.recv_bytes()))
        except (EOFError, OSError):
            eof = True
        except t.TelemetryError as exc:
            note = t.Log(self.run_id, f"dropped a malformed telemetry frame: {exc}", "warning")
            messages.append(note.to_dict())
        self._note(messages)
        if not self.done and not self._reported_death and (eof or not self.process.is_alive()):
            messages += self._death_messages()
        return messages

    def _death_messages(self) -> list[dict[str, Any]]:
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
    """The worker loop in a thread of this process, talking over queues (for tests and tools)."""

    def __init__(self, source: JobSource, run_id: str | None = None, out_dir: str | Path | None = None,
                 base_dir: str | Path | None = None) -> None:
        self.run_id = run_id or default_run_id()
        self._own_dir = out_dir is None
        self.out_dir = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix=f"layerloom-{self.run_id}"))
        self.finished = None
        base = Path(base_dir) if base_dir else None
        # through JSON and back: the thread gets exactly what a worker process would
        self._payload = json.loads(json.dumps(job_payload(source, self.run_id, base)))
        self._messages: queue.Queue[bytes] = queue.Queue()
        self._commands = QueueCommands()
        self._thread = threading.Thread(target=self._run, name=f"layerloom-local-{self.run_id}", daemon=True)

    @classmethod
    def start(cls, source: JobSource, run_id: str | None = None, out_dir: str | Path | None = None,
              base_dir: str | Path | None = None) -> LocalRun:
        run = cls(source, run_id, out_dir, base_dir)
        run._thread.start()
        return run

    def _run(self) -> None:
        run_payload(self._payload, lambda m: self._messages.put(t.encode(m)), self._commands, self.out_dir)

    def _command(self, command: Command) -> None:
        self._commands.put(json.loads(json.dumps(command)))

    def poll(self) -> list[dict[str, Any]]:
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
