"""``layerloom bench``: run the benchmark sections and print what they measured.

``layerloom bench [--only SECTION ...] [--rounds N] [--cases mlp:1,mlp:2,cnn:1,cnn:2] [--device cpu]
[--json]`` runs the sections of `studio.bench.sections` (all by default, in order) and prints
one block per section (one line per row), or one JSON object keyed by section with ``--json``.
A section that fails or cannot run here reports ``{"error": ...}`` and the others still run;
the exit status is 1 when any section failed, else 0. Also reachable as ``python -m studio.bench``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from studio.bench.fresh import BenchError
from studio.bench.sections import SECTIONS, get_section, section_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", choices=section_names(), action="append", metavar="SECTION",
                        help="run only this section (repeatable): " + ", ".join(section_names()))
    parser.add_argument("--device", default="cpu", help="training device for the training sections (cpu, cuda)")
    parser.add_argument("--precision", default="none", choices=("none", "bf16"),
                        help="autocast precision of the training section on CUDA (none or bf16)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="interleaved rounds of the training sections (fresh processes each; default 8)")
    parser.add_argument("--cases", default=None,
                        help="networks and torch threads of the training sections (default mlp:1,mlp:2,cnn:1,cnn:2)")
    parser.add_argument("--limit-adam", choices=("fused", "default"), default="fused",
                        help="the hand-written limit's Adam: fused (the engine's kernel; default) or torch's default")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the epochs of every training run")
    parser.add_argument("--repeats", type=int, default=3, help="presses of each kind in the train_start section")
    parser.add_argument("--nodes", type=int, default=500, help="network size for inference and canvas")
    parser.add_argument("--models", default=None,
                        help="torchvision models of the import section, comma-separated (default: all twelve)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerloom bench", description=(
        "Measure what users feel: shape inference, the canvas, and training against the limit "
        "(a hand-written loop), with telemetry, beside Lightning and Keras, and from the studio."))
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    names = args.only or [s.name for s in SECTIONS if s.default]
    results: dict[str, Any] = {}
    failed = False
    for name in names:
        try:
            results[name] = get_section(name).run(args)
        except (BenchError, ModuleNotFoundError, RuntimeError, ValueError) as exc:
            results[name] = {"error": str(exc)}
        failed |= isinstance(results[name], dict) and "error" in results[name]
        if not args.json:
            print_section(name, results[name])
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def print_section(name: str, result: Any) -> None:
    print(f"== {name}")
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()) if isinstance(row, dict) else f"  {row}")
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return run(args)
    except KeyboardInterrupt:
        print("layerloom bench: interrupted", file=sys.stderr)
        return 130
