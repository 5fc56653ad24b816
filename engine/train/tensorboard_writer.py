"""The TensorBoard events writer: a small process of its own that turns a run's numbers into an events file.

Why a process: the training process then only holds numbers. Building the protobufs, checksumming every
record (TensorBoard's record writer does that byte by byte in Python) and writing the file happen here, on
another core, and never hold the training loop's interpreter lock; the training process imports neither
the tensorboard package nor protobuf. This process imports neither torch nor the rest of the engine:
tensorboard's own `EventFileWriter` writes the file and its hparams plugin builds the hparams summaries.

The protocol (`WriterProcess` is the training side): the parent writes frames on this process's stdin,
each a 4-byte big-endian length and a JSON object:

- first ``{"hparams": {path: value}, "metrics": [tag, ...], "start": wall}`` (the run's settings, the
  tags the HParams view compares runs by, and when the run started);
- then ``{"events": [[kind, step, wall, payload], ...]}``, where kind ``"scalars"`` has
  ``{tag: value}`` (one event, non-finite values left out) and ``"histogram"`` has the `histogram_numbers`
  of one tensor (its tag, min, max, num, sum, sum_squares, bucket limits and counts).

Once ready (its imports done, its file open) it prints ``ready``. The end of its input (the parent
closes the pipe, or ends) flushes and closes the file, and the process prints one JSON line,
``{"events": n, "cpu_seconds": s}``. A frame it cannot read ends it with a message on stderr and exit
status 1; the parent says so in the run's log and trains on.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

MAX_FRAME = 64 * 1024 * 1024  # bytes: a frame larger than this is not from a Layerloom run
READY = "ready"  # the writer's first line on stdout
CLOSE_SECONDS = 60.0  # how long the run's end waits for the writer to write what it was sent
# The writer starts with `-c` and this bootstrap, never `-m`: the working directory (a project folder, say)
# must not be on its import path, or a file there named like a module it imports would run.
BOOTSTRAP = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
             "sys.path.insert(0, sys.argv.pop(1)); "
             "from engine.train.tensorboard_writer import main; sys.exit(main(sys.argv[1:]))")


def frame(message: Mapping[str, Any]) -> bytes:
    """One message as the parent writes it: its length, then its JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return len(body).to_bytes(4, "big") + body


def read_frames(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The messages on `stream` until it ends; a cut or oversized frame raises ValueError."""
    while header := stream.read(4):
        if len(header) < 4:
            raise ValueError("the events stream ended inside a frame's length")
        size = int.from_bytes(header, "big")
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes is larger than {MAX_FRAME}")
        body = stream.read(size)
        if len(body) < size:
            raise ValueError("the events stream ended inside a frame")
        message = json.loads(body)
        if not isinstance(message, dict):
            raise ValueError("a frame is not a JSON object")
        yield message


def scalar_summary(values: Mapping[str, float]) -> Any:
    """Several scalars of one moment as one TensorBoard summary; None when none is finite."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))
                             for tag, value in values.items() if math.isfinite(value)])
    return summary if summary.value else None


def histogram_summary(numbers: Mapping[str, Any]) -> Any:
    """A histogram counted in the training process (`tensorboard_log.histogram_numbers`) as a summary."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary

    proto = HistogramProto(min=numbers["min"], max=numbers["max"], num=numbers["num"], sum=numbers["sum"],
                           sum_squares=numbers["sum_squares"], bucket_limit=numbers["limits"],
                           bucket=numbers["buckets"])
    return Summary(value=[Summary.Value(tag=numbers["tag"], histo=proto)])


def hparams_summaries(hparams: Mapping[str, float | str | bool], metrics: list[str], start: float) -> list[Any]:
    """The HParams view's two summaries: the experiment (which settings and metrics) and this run's values."""
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2, summary_v2

    experiment = summary_v2.hparams_config_pb(hparams=[summary_v2.HParam(name) for name in hparams],
                                              metrics=[summary_v2.Metric(tag) for tag in metrics],
                                              time_created_secs=start)
    # The config takes each setting's type from a domain, and a run has none (it knows only its own values):
    # the types are set here, or TensorBoard can neither sort nor filter those columns.
    types = {bool: api_pb2.DATA_TYPE_BOOL, float: api_pb2.DATA_TYPE_FLOAT64, int: api_pb2.DATA_TYPE_FLOAT64,
             str: api_pb2.DATA_TYPE_STRING}
    plugin = experiment.value[0].metadata.plugin_data
    data = plugin_data_pb2.HParamsPluginData.FromString(plugin.content)
    for info in data.experiment.hparam_infos:
        info.type = types[type(hparams[info.name])]
    plugin.content = data.SerializeToString()
    return [experiment, summary_v2.hparams_pb(dict(hparams), start_time_secs=start)]


class WriterFailed(RuntimeError):
    """The writer process ended without writing everything (its own message, or why it could not start)."""


class WriterProcess:
    """The training side: starts the writer process, sends it messages, and at the end waits for its report."""

    def __init__(self, log_dir: Path, flush_seconds: float) -> None:
        import engine

        root = str(Path(engine.__file__).resolve().parents[1])  # where this engine is imported from
        self.process = subprocess.Popen([sys.executable, "-c", BOOTSTRAP, root, str(log_dir), str(flush_seconds)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))  # no console
        self._printed: tuple[bytes, bytes] | None = None

    def wait_ready(self) -> None:
        """Wait until the writer has imported what it needs and opened its file (a few tenths of a second, before
        the first epoch rather than during it); raises WriterFailed when it could not."""
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != READY.encode():
            raise WriterFailed(self.abandon() or "the events writer did not start")

    def send(self, message: Mapping[str, Any]) -> None:
        """Hand one message over; raises WriterFailed when the writer has ended."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(frame(message))
            stdin.flush()
        except (OSError, ValueError) as exc:  # it ended (a broken pipe), or its input was already closed
            raise WriterFailed(self.abandon() or "the events writer ended") from exc

    def close(self, timeout: float = CLOSE_SECONDS) -> dict[str, Any]:
        """End the input and wait for the writer to write everything: its report (events, cpu_seconds)."""
        assert self.process.stdin is not None
        with contextlib.suppress(OSError, ValueError):  # it may have ended already: what it says tells why
            self.process.stdin.close()
        try:
            self.process.wait(timeout)  # it writes one line, or a short error: its pipes never fill
        except subprocess.TimeoutExpired:
            self.abandon()
            raise WriterFailed(f"the events writer did not finish within {timeout:.0f} s") from None
        out, err = self._outputs()
        if self.process.returncode != 0:
            raise WriterFailed(_last_line(err) or f"the events writer ended with status {self.process.returncode}")
        try:
            return json.loads(_last_line(out))
        except ValueError:
            raise WriterFailed("the events writer ended without its report") from None

    def abandon(self) -> str:
        """Stop the writer now (after a failure), keeping what it wrote; its last word on stderr, if any."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return _last_line(self._outputs()[1])

    def _outputs(self) -> tuple[bytes, bytes]:
        """What the ended writer printed on stdout and stderr (read once; its pipes then closed)."""
        if self._printed is None:
            process = self.process
            assert process.stdin is not None and process.stdout is not None and process.stderr is not None
            with contextlib.suppress(OSError, ValueError):  # a broken pipe still closes
                process.stdin.close()
            with process.stdout, process.stderr:
                self._printed = (process.stdout.read(), process.stderr.read())
        return self._printed

    def cpu_seconds(self) -> float:
        """The running writer's CPU seconds so far, read from /proc where there is one (0.0 where the platform
        cannot say; once it has ended, its report says)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in ticks


def _last_line(data: bytes | None) -> str:
    lines = (data or b"").decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


SUMMARIES = {"scalars": scalar_summary, "histogram": histogram_summary}


def write_events(log_dir: str, stream: IO[bytes], flush_seconds: float) -> int:
    """Write every event read from `stream` into a new events file in `log_dir`; the number written."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(log_dir, max_queue_size=1_000_000, flush_secs=flush_seconds)
    print(READY, flush=True)  # imports done, the file open: the run's parent may start training
    written = 0
    try:
        for message in read_frames(stream):
            if "hparams" in message:
                for summary in hparams_summaries(message["hparams"], message["metrics"], message["start"]):
                    writer.add_event(Event(wall_time=message["start"], summary=summary))
                    written += 1
            for kind, step, wall, payload in message.get("events", ()):
                summary = SUMMARIES[kind](payload)
                if summary is not None:
                    writer.add_event(Event(wall_time=wall, step=step, summary=summary))
                    written += 1
    finally:
        writer.close()  # what was read is written, even when a later frame was not readable
    return written


def main(argv: list[str]) -> int:
    log_dir, flush_seconds = argv[0], float(argv[1])
    try:
        written = write_events(log_dir, sys.stdin.buffer, flush_seconds)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"events": written, "cpu_seconds": time.process_time()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
