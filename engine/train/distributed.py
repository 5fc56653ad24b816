"""Data-parallel training with torch.distributed: under torchrun, or N processes spawned here.

`torchrun_env()` reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT when torchrun
started this process. `spawn_ranks(job, nproc, out_dir)` starts N processes itself with the
``spawn`` start method on 127.0.0.1 and a free port. Every rank calls `train_rank`: it joins the
process group (NCCL when every local rank gets its own GPU, else gloo on the CPU), builds the same
seeded network wrapped in DistributedDataParallel, trains on its shard of the shuffled indices
(see `engine.train.batches`) and evaluates the whole validation set, so every rank sees the same
metrics. Rank 0 alone reports and writes the run record; the caller reads it from `out_dir`.
`batch_size` is per process, as with torchrun scripts.

Every rank leaves together and with the same exit code (`RankOutcome.code`, the worst of all
ranks'): after training, and after rank 0's `finish` (the CLI saves the run into the project
there), the ranks agree on the outcome in one last collective, then leave the group. Every wait on
another rank is bounded by `group_timeout()` (LAYERLOOM_DIST_TIMEOUT seconds, default 600), so a
rank that dies or hangs makes the others end with an error instead of waiting for gloo's 30 minutes.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from engine.train.callbacks import Callback
from engine.train.device import resolve_device
from engine.train.job import TrainingJob
from engine.train.session import Placement, RunResult, run_job

Sink = Callable[[dict[str, Any]], None]

TIMEOUT_VARIABLE = "LAYERLOOM_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0


@dataclass
class DistEnv:
    rank: int
    world: int
    local_rank: int
    master_addr: str = "127.0.0.1"
    master_port: int = 29500


def torchrun_env() -> DistEnv | None:
    """The rendezvous torchrun set up for this process, or None when not launched by torchrun."""
    env = os.environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    return DistEnv(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", env["RANK"])),
                   env.get("MASTER_ADDR", "127.0.0.1"), int(env.get("MASTER_PORT", "29500")))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rank_device(requested: str, env: DistEnv) -> torch.device:
    """This rank's device: its own GPU when there is one per local rank, else the CPU."""
    device = resolve_device(requested)
    if device.type == "cuda":
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", env.world))
        if torch.cuda.device_count() >= local_world:
            return torch.device("cuda", env.local_rank)
    return torch.device("cpu")


def group_timeout() -> timedelta:
    """How long a rank waits for the others, in joining the group and in every collective.

    LAYERLOOM_DIST_TIMEOUT seconds (default 600, at least 1): long enough for rank 0's work between
    collectives (its epoch-end callbacks, saving the project), far shorter than gloo's 30 minutes.
    """
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        seconds = DEFAULT_TIMEOUT_S
    if not math.isfinite(seconds):
        seconds = DEFAULT_TIMEOUT_S
    return timedelta(seconds=max(seconds, 1.0))


@dataclass
class RankOutcome:
    """How one rank's part of a data-parallel run ended."""

    result: RunResult
    code: int  # the exit code all ranks agreed on: the worst (highest) of every rank's own


def exit_code(result: RunResult) -> int:
    """A rank's own exit code: 1 when its run failed, else 0 (the CLI's convention)."""
    return 1 if result.status == "failed" else 0


def train_rank(job: TrainingJob, env: DistEnv, sink: Sink, out_dir: Path | None = None,
               callbacks: Sequence[Callback] = (),
               finish: Callable[[RunResult], int] | None = None) -> RankOutcome:
    """Join the process group, train this rank's shard, finish, agree on the outcome, leave the group.

    Args:
        finish: run on this rank after training while the group is still up (the CLI's rank 0 prints
            the metrics and saves the run there); returns this rank's exit code. Without it the code
            is `exit_code(result)`. An exception in it is printed and counts as exit code 1.
    """
    device = rank_device(job.settings.device, env)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"tcp://{env.master_addr}:{env.master_port}",
                            rank=env.rank, world_size=env.world, timeout=group_timeout())
    try:
        placement = Placement(env.rank, env.world, device)
        result = run_job(job, sink, None, out_dir if env.rank == 0 else None, callbacks, placement)
        try:
            code = finish(result) if finish is not None else exit_code(result)
        except Exception:  # e.g. rank 0 could not save the project: every rank must still learn of it
            traceback.print_exc()
            code = 1
        return RankOutcome(result, _agree_on_exit(code, device))
    finally:
        _leave_group()


def _leave_group() -> None:
    """Destroy the process group on every path, so no rank carries it (its threads and sockets) into
    interpreter exit; a failure here is printed, not raised, since the outcome is already agreed."""
    try:
        dist.destroy_process_group()
    except Exception as exc:
        print(f"layerloom: leaving the process group failed: {exc}", file=sys.stderr)


def _agree_on_exit(code: int, device: torch.device) -> int:
    """The worst exit code of all ranks, on every rank (each rank's own where they cannot agree).

    Why every rank must leave with the same code: torchrun's agent on a node whose workers all
    succeeded waits in its exit barrier (300 s, not settable from torchrun's command line) for every
    other node's agent, but the agent of a node with a failed worker skips that barrier and leaves.
    Node 0's agent hosts the store that barrier lives in, so a worker on another node ending 1
    while rank 0 ended 0 (each rank used to take its code from its own state alone, rank 0 from its
    own save) keeps node 0's torchrun alive for five minutes after the run was saved: the hang after
    training once seen in CI (made to happen by ending one rank of node 1 with 1). Agreeing here
    makes every node succeed together (the barrier passes at once) or fail together (no node waits
    in it). The wait itself is bounded by the group's timeout: a rank that died or hangs makes this
    raise, and this rank then ends with an error.
    """
    flag = torch.tensor([code], dtype=torch.int64, device=device)
    try:
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    except Exception as exc:  # a rank died or did not come in time (DistError, RuntimeError)
        print(f"layerloom: the other training processes did not finish with this one: {exc}", file=sys.stderr)
        return max(code, 1)
    return int(flag.item())


def _rank_main(index: int, world: int, port: int, payload: str, out_dir: str,
               make_callbacks: Callable[[], Sequence[Callback]] | None) -> None:
    env = DistEnv(index, world, index, "127.0.0.1", port)
    job = TrainingJob.from_json(json.loads(payload))
    callbacks = make_callbacks() if make_callbacks is not None and index == 0 else ()
    train_rank(job, env, _ignore, Path(out_dir), callbacks)


def _ignore(message: dict[str, Any]) -> None:
    """Spawned ranks report through their callbacks and the record they write."""


def spawn_ranks(job: TrainingJob, nproc: int, out_dir: Path,
                make_callbacks: Callable[[], Sequence[Callback]] | None = None) -> None:
    """Train `job` on `nproc` spawned processes; rank 0 writes the run record to `out_dir`.

    Args:
        make_callbacks: a picklable, module-level function that builds rank 0's extra callbacks
            (a progress printer, say) inside that process.
    """
    import torch.multiprocessing as tmp

    payload = json.dumps(job.to_json(out_dir))
    tmp.start_processes(_rank_main, args=(nproc, free_port(), payload, str(out_dir), make_callbacks),
                        nprocs=nproc, join=True, start_method="spawn")
