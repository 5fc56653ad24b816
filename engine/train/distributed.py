"""Data-parallel training with torch.distributed: under torchrun, or N processes spawned here.

`torchrun_env()` reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT when torchrun
started this process. `spawn_ranks(job, nproc, out_dir)` starts N processes itself with the
``spawn`` start method on 127.0.0.1 and a free port. Every rank calls `train_rank`: it joins the
process group (NCCL when every local rank gets its own GPU, else gloo on the CPU), builds the same
seeded network wrapped in DistributedDataParallel, trains on its shard of the shuffled indices
(see `engine.train.batches`) and evaluates the whole validation set, so every rank sees the same
metrics. Rank 0 alone reports and writes the run record; the caller reads it from `out_dir`.
`batch_size` is per process, as with torchrun scripts.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from engine.train.callbacks import Callback
from engine.train.device import resolve_device
from engine.train.job import TrainingJob
from engine.train.session import Placement, RunResult, run_job

Sink = Callable[[dict[str, Any]], None]


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


def train_rank(job: TrainingJob, env: DistEnv, sink: Sink, out_dir: Path | None = None,
               callbacks: Sequence[Callback] = ()) -> RunResult:
    """Join the process group, train this rank's shard, leave the group."""
    device = rank_device(job.settings.device, env)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"tcp://{env.master_addr}:{env.master_port}",
                            rank=env.rank, world_size=env.world)
    try:
        placement = Placement(env.rank, env.world, device)
        return run_job(job, sink, None, out_dir if env.rank == 0 else None, callbacks, placement)
    finally:
        dist.destroy_process_group()


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
