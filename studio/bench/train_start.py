"""The train_start section: from pressing Train to the first step metric, with a warm worker and cold.

What the studio does when Train is pressed, without Qt: the pre-flight on the project
(`engine.train.preflight`), then the job handed to a worker, then polling until the first
``step`` message arrives. *Warm*: the worker was spawned and said it is ready (torch imported)
before the press, as the studio keeps one. *Cold*: the worker is spawned at the press. Each is
repeated and reported as the median and the worst, in seconds, with the pre-flight's share; the
studio adds at most one poll interval (33 ms) on top. Run it with ``layerloom bench --only
train_start``. Imports no torch in this process (the workers do).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.project import Project, load_project
from engine.resources import example_path
from engine.runner import RunHandle, Worker
from engine.train.preflight import preflight

EXAMPLE = "mlp_spirals"
TARGET_WARM_S = 1.0


def _press(project: Project, worker: Worker | None, folder: Path, run_id: str) -> tuple[float, float, bool]:
    """One press: (seconds to the first step, seconds of pre-flight, whether the warm worker was used)."""
    started = time.perf_counter()
    problems = preflight(project.network, project.dataset, project.training)
    checked = time.perf_counter()
    if problems:
        raise RuntimeError(f"the {EXAMPLE} example cannot train: {problems[0].message}")
    if worker is None:
        handle = RunHandle.start(project, run_id=run_id, out_dir=folder / run_id)
    else:
        handle = worker.start(project, run_id=run_id, out_dir=folder / run_id)
    try:
        while True:
            messages = handle.poll()
            if any(m.get("type") == "step" for m in messages):
                first = time.perf_counter() - started
                break
            if handle.done:
                raise RuntimeError(f"the run ended before its first step: {handle.finished}")
            time.sleep(0.002)
        warm = bool(handle.worker_ready and handle.worker_ready.get("torch_loaded")) and worker is not None
    finally:
        handle.stop()
        handle.close(timeout=30)
    return first, checked - started, warm


def bench_train_start(repeats: int = 3, example: str = EXAMPLE) -> dict[str, Any]:
    """Press-to-first-step latency, warm and cold (seconds)."""
    project = load_project(example_path(example))
    project.training = {**project.training, "epochs": 1000}  # the run must still be going at its first step
    warm: list[float] = []
    cold: list[float] = []
    checks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="layerloom-bench-start-") as tmp:
        folder = Path(tmp)
        for i in range(repeats):
            worker = Worker.spawn()
            try:
                if not worker.wait_ready(180):
                    raise RuntimeError("the warm worker never became ready")
                seconds, check, used = _press(project, worker, folder, f"warm-{i}")
            finally:
                worker.close()
            if not used:
                raise RuntimeError("the warm worker was not the one that trained")
            warm.append(seconds)
            checks.append(check)
            seconds, check, _ = _press(project, None, folder, f"cold-{i}")
            cold.append(seconds)
            checks.append(check)
    return {"example": example, "repeats": repeats,
            "warm_median_s": statistics.median(warm), "warm_worst_s": max(warm),
            "cold_median_s": statistics.median(cold), "cold_worst_s": max(cold),
            "preflight_median_ms": statistics.median(checks) * 1000.0, "target_warm_s": TARGET_WARM_S}


def run_section(args: Any) -> dict[str, Any]:
    """The section's entry point (`studio.bench.sections`)."""
    return bench_train_start(repeats=int(getattr(args, "repeats", 3) or 3))
