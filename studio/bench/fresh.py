"""Fresh processes and interleaved rounds: how the training sections take their measurements.

`in_fresh_process(fn, spec)` runs ``fn(spec)`` in a newly spawned Python process (no state shared
with the caller: imports, thread pools, allocator caches and torch's autotuning all start cold, as
they do for a user) and returns its JSON-able result; an exception in the child comes back as
`BenchError` with the child's message. The function travels by reference (module and name), so
the import contracts see the dependency.

`interleaved(contestants, rounds)` runs every contestant once per round, alternating the order
from round to round, so that load drifting on a shared machine hits all of them alike (each
result is also written to stderr as it arrives, so a long series shows its progress), and
`ratio_stats` summarises the per-round ratios of two contestants as min, median, max and spread
(max - min): the median is the figure, the spread says how much to trust it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import statistics
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

Spec = dict[str, Any]
Result = dict[str, Any]
DEFAULT_TIMEOUT_S = 900.0


class BenchError(RuntimeError):
    """A benchmark child failed; the message is the child's own."""


def _child(conn: Connection, fn: Callable[[Spec], Result], spec: Spec) -> None:
    try:
        reply: dict[str, Any] = {"ok": True, "result": fn(spec)}
    except BaseException as exc:  # reported to the parent, whatever it was
        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    conn.send_bytes(json.dumps(reply).encode("utf-8"))
    conn.close()


def in_fresh_process(fn: Callable[[Spec], Result], spec: Spec, timeout: float = DEFAULT_TIMEOUT_S) -> Result:
    """``fn(spec)`` in a new spawned process; its result (JSON types only)."""
    ctx = mp.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(writer, fn, spec), name=f"layerloom-bench-{fn.__name__}")
    process.start()
    writer.close()
    try:
        if not reader.poll(timeout):
            raise BenchError(f"{fn.__name__} took longer than {timeout:.0f} s")
        reply = json.loads(reader.recv_bytes().decode("utf-8"))
    except EOFError:
        process.join(5.0)
        raise BenchError(f"{fn.__name__} died (exit code {process.exitcode})") from None
    finally:
        reader.close()
        process.join(10.0)
        if process.is_alive():
            process.kill()
            process.join()
    if not reply["ok"]:
        raise BenchError(f"{fn.__name__}: {reply['error']}")
    return reply["result"]


Contestant = tuple[str, Callable[[Spec], Result], Spec]


def interleaved(contestants: Sequence[Contestant], rounds: int,
                run: Callable[[Callable[[Spec], Result], Spec], Result] = in_fresh_process,
                ) -> dict[str, list[Result]]:
    """Each contestant's results, one per round; the order alternates from round to round."""
    results: dict[str, list[Result]] = {name: [] for name, _, _ in contestants}
    for r in range(rounds):
        order = list(contestants) if r % 2 == 0 else list(reversed(contestants))
        for name, fn, spec in order:
            results[name].append(run(fn, spec))
            print(f"layerloom bench: round {r + 1}/{rounds} {name} {spec.get('network', '')}: "
                  f"{json.dumps(results[name][-1])}", file=sys.stderr, flush=True)
    return results


def ratio_stats(numerators: Sequence[float], denominators: Sequence[float]) -> dict[str, float]:
    """Min, median, max and spread (max - min) of the per-round ratios."""
    ratios = sorted(n / d for n, d in zip(numerators, denominators))
    return {"ratio_min": round(ratios[0], 4), "ratio_median": round(statistics.median(ratios), 4),
            "ratio_max": round(ratios[-1], 4), "ratio_spread": round(ratios[-1] - ratios[0], 4)}
