"""`layerloom export FILE --format F [--run ID] [-o PATH]`: export with a run's weights, then check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.export.common import ExportError
from engine.export.exporters import EXPORTERS, export_network


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=sorted(EXPORTERS), action="append", required=True,
                        help="what to write (repeatable)")
    parser.add_argument("--run", help="take the weights of this run (default: the newest run; "
                                      "'none' exports freshly initialised weights)")
    parser.add_argument("--weights", choices=("best", "last"), default="best", help="which weights of the run")
    parser.add_argument("-o", "--output", help="output path without suffix (default: beside the project)")


def run(args: argparse.Namespace) -> int:
    from engine.project import load_project

    project = load_project(Path(args.file))
    weights = None
    if args.run != "none":
        try:
            weights = _run_weights(project, args.run, args.weights)
        except ValueError as exc:  # RunError: unreadable or missing weights, named by the run store
            print(f"layerloom export: {exc}", file=sys.stderr)
            return 2
        if weights is None and args.run:
            print(f"layerloom export: the project has no run {args.run!r}", file=sys.stderr)
            return 2
        if weights is None:
            print("layerloom export: the project has no runs yet; exporting freshly initialised weights",
                  file=sys.stderr)
    base = Path(args.output) if args.output else Path(args.file).with_suffix("")
    status = 0
    for fmt in args.format:
        try:
            report = export_network(project.network, fmt, base, weights)
        except ExportError as exc:
            print(f"layerloom export: {fmt}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(report.line())
    return status


def _run_weights(project, run_id: str | None, which: str):  # -> dict[str, Tensor] | None
    try:
        from engine.runs import list_runs, load_run_weights
    except ImportError:
        return None
    runs = list_runs(project)
    if not runs:
        return None
    if run_id is None:
        run_id = runs[-1].run_id
    if run_id not in {r.run_id for r in runs}:
        return None
    return load_run_weights(project, run_id, which)
