"""The training section: the engine against the true limit, a hand-written loop.

The limit is the loop a person writes when nothing else matters: the whole data set as two
tensors on the device, a `torch.randperm` per epoch, index batches, forward, loss, backward,
optimiser step; no metrics, no validation, no progress, nothing read back. It runs the engine's
own layers (copies of the built network's modules in an `nn.Sequential`, same initial weights),
the same data, seed, batch size, epochs and torch threads, and by default the same optimiser
kernel (Adam with torch's fused kernel, which the engine also uses, so the ratio measures the loop
and not the optimiser; ``--limit-adam default`` gives the limit torch's default Adam instead, as
most hand-written loops have it). The engine runs as ``layerloom train`` does (`engine.train.run_job`, telemetry detail
off, default metrics and settings, no validation split since the limit has none).

Each run is a fresh process (`studio.bench.fresh`); the two alternate over at least 8 rounds and
each round gives a ratio engine / limit. The first epoch of every run is a warm-up and is not
timed. Rows: one per network and thread count (``mlp`` and ``cnn`` at 1 and 2 threads by
default), with the median times and the ratio's min, median, max and spread. Target: median
ratio ≤ 1.05.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from typing import Any

import torch
from torch import nn

from engine.build import build_module
from engine.data import load_dataset
from engine.train import Callback, EpochRecord, Trainer, TrainingJob, TrainingSettings, run_job
from engine.train.device import synchronize
from studio.bench.fresh import Spec, interleaved, ratio_stats
from studio.bench.networks import DEFAULT_CASES, TRAINING, parse_cases, prepare_data

TARGET_RATIO = 1.05


class EpochTimer(Callback):
    """Times epochs 2..N (the first is a warm-up), waiting for the device at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.start, self.end, self.steps, self._first_step = device, 0.0, 0.0, 0, 0

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if epoch == 1:
            synchronize(self.device)
            self.start, self._first_step = time.perf_counter(), trainer.step

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        synchronize(self.device)
        self.end, self.steps = time.perf_counter(), trainer.step - self._first_step


def limit_run(spec: Spec) -> dict[str, Any]:
    """The hand-written loop (in a fresh process): seconds for epochs 2..N."""
    net = TRAINING[spec["network"]]
    torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    data = load_dataset(net.dataset(spec["data_dir"]))
    torch.manual_seed(0)
    model = nn.Sequential(*(copy.deepcopy(m) for m in build_module(net.document()).children())).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=spec.get("limit_adam", "fused") == "fused")
    loss_fn = nn.CrossEntropyLoss()
    x, y = (t.to(device) for t in data.train)
    n, bs = len(x), net.batch_size
    autocast = torch.autocast(device.type, torch.bfloat16) if spec.get("precision") == "bf16" else None
    start, steps = 0.0, 0
    for epoch in range(spec["epochs"]):
        if epoch == 1:
            synchronize(device)
            start, steps = time.perf_counter(), 0
        order = torch.randperm(n, device=device)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            if autocast is None:
                loss = loss_fn(model(x[idx]), y[idx])
            else:
                with autocast:
                    loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
    synchronize(device)
    return {"seconds": time.perf_counter() - start, "steps": steps}


def engine_run(spec: Spec) -> dict[str, Any]:
    """The engine as `layerloom train` runs it (in a fresh process): seconds for epochs 2..N."""
    net = TRAINING[spec["network"]]
    settings = TrainingSettings.from_json({
        "epochs": spec["epochs"], "batch_size": net.batch_size, "device": spec["device"],
        "cpu_threads": spec["threads"], "seed": 0, "precision": spec.get("precision", "none"),
        "optimizer": {"kind": "adam", "lr": 1e-3}, "telemetry": {"enabled": spec.get("telemetry", False)}})
    timer = EpochTimer(torch.device(spec["device"]))
    job = TrainingJob(net.document(), net.dataset(spec["data_dir"]), settings, "bench")
    result = run_job(job, lambda message: None, callbacks=[timer])
    if result.status != "completed":
        raise RuntimeError(f"the engine's run {result.status}: {result.problems or result.failure}")
    return {"seconds": timer.end - timer.start, "steps": timer.steps}


def bench_limit(cases: tuple[tuple[str, int], ...] = DEFAULT_CASES, rounds: int = 8, device: str = "cpu",
                scale: float = 1.0, precision: str = "none", limit_adam: str = "fused") -> list[dict[str, Any]]:
    """Engine against the hand-written limit, one row per (network, threads)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="layerloom-bench-") as data_dir:
        prepare_data(data_dir)
        for name, threads in cases:
            net = TRAINING[name]
            spec = {"network": name, "threads": threads, "device": device, "data_dir": data_dir,
                    "epochs": max(2, round(net.epochs * scale)), "precision": precision, "limit_adam": limit_adam}
            results = interleaved([("limit", limit_run, spec), ("engine", engine_run, spec)], rounds)
            limit = [r["seconds"] for r in results["limit"]]
            engine = [r["seconds"] for r in results["engine"]]
            steps = results["limit"][0]["steps"]
            rows.append({"network": name, "device": device, "threads": threads, "precision": precision,
                         "limit_adam": limit_adam,
                         "rounds": rounds, "timed_steps": steps, "engine_steps": results["engine"][0]["steps"],
                         "limit_s": round(statistics.median(limit), 4),
                         "engine_s": round(statistics.median(engine), 4),
                         "limit_step_ms": round(statistics.median(limit) / max(steps, 1) * 1000, 4),
                         **ratio_stats(engine, limit), "target": TARGET_RATIO})
    return rows


def run_section(args: argparse.Namespace) -> list[dict[str, Any]]:
    return bench_limit(parse_cases(args.cases), args.rounds, args.device, args.scale, args.precision,
                       args.limit_adam)
