"""Lockstep pairs: two fresh processes train side by side and take turns, one epoch each, on one CPU.

On a shared virtual machine the same run varies by 15-30% from one process to the next (the
machine's speed drifts over seconds), so interleaved rounds in fresh processes (`studio.bench.fresh`)
cannot tell a 1% cost from none in any reasonable time. Two processes that hand a token to each other
at every epoch's end, with their training threads pinned to the same CPU, meet the same machine at
moments 20 ms apart: what one process does differently (imports, threads, hooks, memory) shows in the
sum of its epoch times over the other's; adding one percent of CPU to every epoch of one shows.

`lockstep(fn, spec_a, spec_b, first)` runs ``fn(spec, turns)`` in two spawned processes, where ``fn``
trains with ``turns`` (a `Turns` callback) as its last callback and returns a JSON-able result that
includes ``turns.epoch_seconds``; it returns both results. After their last epochs the two wait for each
other, so neither's run end (a test pass, saving weights) falls in the other's timed epochs: with that
wait, two identical MLP processes came out at 1.000 ± 0.002 (first over second, six rounds). A child
that fails ends the pair with `BenchError`, and the other is stopped. Engine only: no Qt.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from engine.train import Callback
from studio.bench.fresh import BenchError, Result, Spec

if TYPE_CHECKING:
    from engine.train import EpochRecord, Trainer

TURN_TIMEOUT_S = 600.0  # a partner silent this long has stopped
TOKEN = b"t"


class Turns(Callback):
    """Waits for the token before each epoch, times the epoch (its end-of-epoch hooks included, this being
    the last callback) and passes the token on; the training thread runs on `cpu` when the platform allows."""

    def __init__(self, mine: Connection, theirs: Connection, cpu: int | None) -> None:
        self.mine, self.theirs, self.cpu = mine, theirs, cpu
        self.epoch_seconds: list[float] = []
        self.last_epoch_ended = self.released = 0.0  # wall times: the last epoch's end, and leaving for the run's end
        self._start = 0.0

    def on_run_start(self, trainer: Trainer) -> None:
        # this thread only: threads and processes made before (an events writer) keep every CPU, as in a real run
        if self.cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {self.cpu})

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if not self.mine.poll(TURN_TIMEOUT_S):
            raise BenchError("the other process of the lockstep pair stopped taking turns")
        self.mine.recv_bytes()
        self._start = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._start)
        last = record.epoch == trainer.settings.epochs - 1
        if last:
            self.last_epoch_ended = time.time()
        with contextlib.suppress(OSError):  # the other finished its last epoch and has gone
            self.theirs.send_bytes(TOKEN)
        if last:
            self._meet_at_the_end()
            self.released = time.time()

    def _meet_at_the_end(self) -> None:
        """After the last epoch, wait until the other has ended its own. Otherwise the first to finish does its
        run's end (the test pass, final histograms, saving weights) on the CPU during the other's last epoch,
        and whoever goes first looks faster: by about 1% on the MLP, and 5-15% on the CNN's 16 epochs."""
        with contextlib.suppress(EOFError, OSError):  # the other has gone: nothing to wait for
            if self.mine.poll(TURN_TIMEOUT_S):
                self.mine.recv_bytes()  # the first to finish: the other's last epoch has ended
        with contextlib.suppress(OSError):  # the second to finish is released by this token
            self.theirs.send_bytes(TOKEN)


def _child(result: Connection, fn: Callable[[Spec, Turns], Result], spec: Spec, mine: Connection,
           theirs: Connection, cpu: int | None) -> None:
    try:
        reply: dict[str, Any] = {"ok": True, "result": fn(spec, Turns(mine, theirs, cpu))}
    except BaseException as exc:  # reported to the parent, whatever it was
        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    result.send_bytes(json.dumps(reply).encode("utf-8"))
    result.close()


def shared_cpu() -> int | None:
    """The CPU both training threads share: the first this process may use (None where that is unknown)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return min(os.sched_getaffinity(0))


def lockstep(fn: Callable[[Spec, Turns], Result], spec_a: Spec, spec_b: Spec, first: str = "a",
             timeout: float = TURN_TIMEOUT_S) -> tuple[Result, Result]:
    """Run ``fn`` on both specs in two fresh processes taking turns epoch by epoch; (result a, result b)."""
    ctx = mp.get_context("spawn")
    to_a_read, to_a_write = ctx.Pipe(duplex=False)
    to_b_read, to_b_write = ctx.Pipe(duplex=False)
    cpu = shared_cpu()
    readers, processes = [], []
    for spec, mine, theirs in ((spec_a, to_a_read, to_b_write), (spec_b, to_b_read, to_a_write)):
        reader, writer = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(writer, fn, spec, mine, theirs, cpu), name="layerloom-bench-pair")
        process.start()
        writer.close()
        readers.append(reader)
        processes.append(process)
    (to_a_write if first == "a" else to_b_write).send_bytes(TOKEN)
    replies: dict[int, dict[str, Any]] = {}
    try:
        while len(replies) < 2:
            ready = wait([r for i, r in enumerate(readers) if i not in replies], timeout)
            if not ready:
                raise BenchError(f"a lockstep pair took longer than {timeout:.0f} s between epochs")
            for reader in ready:
                index = readers.index(reader)
                try:
                    reply = json.loads(reader.recv_bytes().decode("utf-8"))
                except EOFError:
                    raise BenchError(f"{fn.__name__} died (exit code {processes[index].exitcode})") from None
                if not reply["ok"]:
                    raise BenchError(f"{fn.__name__}: {reply['error']}")
                replies[index] = reply["result"]
    finally:
        for process in processes:
            process.join(10.0 if len(replies) == 2 else 0.1)
            if process.is_alive():
                process.kill()
                process.join()
        for connection in (*readers, to_a_read, to_a_write, to_b_read, to_b_write):
            connection.close()
    return replies[0], replies[1]
