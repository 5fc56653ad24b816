"""`layerloom bench`: one run that measures what users feel.

Sections (choose with ``--only``):
  - inference: validate + infer a 500-node network from scratch, and re-infer after one edit;
  - canvas: load and first paint of a 500-node network in the studio, redraw while panning and
    zooming (run in a subprocess, ``python -m studio.bench_canvas``, so this module stays Qt-free);
  - training: the engine against a plain hand-written PyTorch loop on the same data and seed,
    reported as ratios measured in the same run;
  - train_start: from pressing Train to the first step metric, with a warm worker and cold
    (`engine.bench_train_start`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

SECTIONS = ("inference", "canvas", "training", "studio_training", "train_start")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable)")
    parser.add_argument("--device", default="cpu", help="device for the training section (cpu, cuda, ...)")
    parser.add_argument("--nodes", type=int, default=500, help="network size for inference and canvas")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _inference(args: argparse.Namespace) -> dict[str, Any]:
    from engine.bench_inference import bench_inference

    r = bench_inference(args.nodes)
    return {**r, "target_full_ms": 50.0, "target_incremental_ms": 5.0}


def _subprocess_json(module: str, *extra: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", module, "--json", *extra], capture_output=True, text=True,
                          timeout=900)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return {"error": f"{module} failed: {tail[0]}"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"{module} printed no JSON: {lines[-1][:200]}"}


def _canvas(args: argparse.Namespace) -> dict[str, Any]:
    return _subprocess_json("studio.bench_canvas", "--nodes", str(args.nodes))


def _training(args: argparse.Namespace) -> Any:
    from engine.train.bench import bench_training

    return bench_training(device=args.device)


def _studio_training(args: argparse.Namespace) -> dict[str, Any]:
    return _subprocess_json("studio.bench_training", "--device", args.device)


def _train_start(args: argparse.Namespace) -> dict[str, Any]:
    from engine.bench_train_start import run_section

    return run_section(args)


RUNNERS = {"inference": _inference, "canvas": _canvas, "training": _training,
           "studio_training": _studio_training, "train_start": _train_start}


def run(args: argparse.Namespace) -> int:
    sections = args.only or list(SECTIONS)
    results: dict[str, Any] = {}
    for name in sections:
        try:
            results[name] = RUNNERS[name](args)
        except ModuleNotFoundError as exc:
            results[name] = {"error": f"not available: {exc}"}
        if not args.json:
            _print_section(name, results[name])
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _print_section(name: str, result: Any) -> None:
    print(f"== {name}")
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        if not isinstance(row, dict):
            print(f"  {row}")
            continue
        print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
