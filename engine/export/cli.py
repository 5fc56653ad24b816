"""`layerloom export FILE --format F [--run ID] [-o PATH]`: export with a run's weights, then check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.export.common import ExportError
from engine.export.exporters import EXPORTERS
from engine.export.project_export import RunChoiceError, export_project


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=sorted(EXPORTERS), action="append", required=True,
                        help="what to write (repeatable)")
    parser.add_argument("--run", help="take the weights of this run (default: the newest run; "
                                      "'none' exports freshly initialised weights)")
    parser.add_argument("--weights", choices=("best", "last"), default="best", help="which weights of the run")
    parser.add_argument("--part", choices=("generator", "discriminator", "encoder", "decoder"),
                        help="export only this part of the network: a GAN's generator or discriminator, an "
                             "autoencoder's encoder or decoder (as the project's training recipe has them)")
    parser.add_argument("-o", "--output", help="output path without suffix (default: beside the project)")


def run(args: argparse.Namespace) -> int:
    from engine.project import load_project

    project = load_project(Path(args.file))
    base = Path(args.output) if args.output else Path(args.file).with_suffix("")
    if args.part and not args.output:
        base = base.with_name(f"{base.name}_{args.part}")
    status = 0
    for fmt in args.format:
        try:
            report = export_project(project, fmt, base, args.run, args.weights, args.part)
        except RunChoiceError as exc:  # a missing run or unreadable weights fail every format alike
            print(f"layerloom export: {exc}", file=sys.stderr)
            return 2
        except ExportError as exc:
            print(f"layerloom export: {fmt}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(report.line())
        if report.extra_files:
            print(f"  note: {report.notes[0]}")
    return status
