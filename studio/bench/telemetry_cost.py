"""The telemetry section: what live telemetry costs a run, measured the way the studio runs it.

Each run is a real worker process (`engine.runner.RunHandle`, spawned fresh), read from this
process every 33 ms as the studio's run controller does, so encoding, the pipe and the sender
thread cost what they cost in the studio. Two ways alternate over the rounds: telemetry on (step
messages, feature maps of the first layer every 0.5 s, weight/gradient/activation statistics
every 2 s, confusion matrices and sample predictions each epoch) and off (lifecycle and epoch
messages only). Both train on the same data with a validation split (as a studio project has).
The time compared is the worker's own time from the end of the first epoch to the end of the
last, read from the worker's clock on its epoch messages: epochs 2..N with their validation and
everything done at epoch ends (pictures, confusion matrices, projections), which the user waits for
as much as for the steps; process start-up and the first epoch (a warm-up) do not dilute the
ratio. Target: median ratio ≤ 1.02.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from typing import Any

from engine.runner import RunHandle
from engine.train import TrainingJob, TrainingSettings
from studio.bench.fresh import Spec, interleaved, ratio_stats
from studio.bench.networks import TRAINING, parse_cases, prepare_data

POLL_S = 0.033  # the studio's run controller drains the worker at about 30 Hz
TARGET_RATIO = 1.02
VAL_FRACTION = 0.15


def worker_run(spec: Spec) -> dict[str, Any]:
    """One run in a spawned worker, read from this process; the worker's time for epochs 2..N."""
    net = TRAINING[spec["network"]]
    doc = net.document()
    probe = next(n.id for n in doc.nodes.values() if n.type_id in ("Conv2d", "Linear"))
    settings = TrainingSettings.from_json({
        "epochs": spec["epochs"], "batch_size": net.batch_size, "device": spec["device"],
        "cpu_threads": spec["threads"], "seed": 0, "optimizer": {"kind": "adam", "lr": 1e-3},
        "telemetry": {"enabled": spec["telemetry"]}, "probes": [probe] if spec["telemetry"] else []})
    dataset = dataclasses.replace(net.dataset(spec["data_dir"]), val_fraction=VAL_FRACTION)
    handle = RunHandle.start(TrainingJob(doc, dataset, settings, "bench"), run_id="bench")
    messages: list[dict[str, Any]] = []
    try:
        while not handle.done:
            messages += handle.poll()
            time.sleep(POLL_S)
    finally:
        handle.close()
    finished = handle.finished or {}
    if finished.get("status") != "completed":
        errors = [m.get("message") for m in messages if m.get("type") == "error"]
        raise RuntimeError(f"the benchmark run did not complete: {errors or finished}")
    ends = [float(m["time"]) for m in messages if m.get("type") == "epoch"]
    if len(ends) < 2:
        raise RuntimeError("the benchmark run needs at least two epochs")
    # from the first epoch's message to the last's: epochs 2..N and all their epoch-end work
    return {"seconds": ends[-1] - ends[0], "messages": len(messages)}


def _here(fn: Any, spec: Spec) -> dict[str, Any]:
    return fn(spec)


def bench_telemetry(networks: tuple[str, ...] = ("mlp", "cnn"), rounds: int = 8, device: str = "cpu",
                    threads: int = 1, scale: float = 1.0) -> list[dict[str, Any]]:
    """Telemetry on against off, one row per network."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="layerloom-bench-") as data_dir:
        prepare_data(data_dir)
        for name in networks:
            net = TRAINING[name]
            spec = {"network": name, "threads": threads, "device": device, "data_dir": data_dir,
                    "epochs": max(2, round(net.epochs * scale))}
            results = interleaved([("on", worker_run, {**spec, "telemetry": True}),
                                   ("off", worker_run, {**spec, "telemetry": False})], rounds, run=_here)
            on = [r["seconds"] for r in results["on"]]
            off = [r["seconds"] for r in results["off"]]
            rows.append({"network": name, "device": device, "threads": threads, "rounds": rounds,
                         "on_s": round(statistics.median(on), 4), "off_s": round(statistics.median(off), 4),
                         "messages_on": results["on"][0]["messages"], "messages_off": results["off"][0]["messages"],
                         **ratio_stats(on, off), "target": TARGET_RATIO})
    return rows


def run_section(args: argparse.Namespace) -> list[dict[str, Any]]:
    networks = tuple(dict.fromkeys(name for name, _ in parse_cases(args.cases)))
    return bench_telemetry(networks, args.rounds, args.device, 1, args.scale)
