"""`layerloom import SOURCE -o OUT.loom [--weights FILE] [--input-shape ...] [--arg key=value ...]`.

Prints the import report. Exit status 0 when the network was imported and
saved, 1 when something could not be mapped or the result does not match the
source (nothing is written then), 2 when the source or a file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCE_HELP = ("torchvision:NAME, package.module:NAME, path/to/file.py:NAME (a module, class or factory), "
               "a torch.export program (.pt2) or an ONNX file (.onnx)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="the project to write (.loom)")
    parser.add_argument("--weights", help="weights to import instead of the source's own: .safetensors, or a "
                        "state dict saved with torch.save (.pt/.pth; read weights-only, never unpickled)")
    parser.add_argument("--input-shape", action="append", default=[], metavar="D,D,...",
                        help="one input sample's shape without the batch, e.g. 3,224,224 (once per input)")
    parser.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                        help="a keyword argument for the class or factory (a Python literal or text)")
    parser.add_argument("--no-weights", action="store_true", help="do not store the weights in the project")
    parser.add_argument("--no-check", action="store_true",
                        help="skip running the source and the network to compare their outputs")


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"an input shape is whole numbers separated by commas, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"an input shape needs positive sizes, got {text!r}")
    return shape


def run(args: argparse.Namespace) -> int:
    from engine.importing.report import ImportFailed
    from engine.importing.sources import SourceError, import_source, parse_kwargs, project_from_import
    from engine.importing.weights import WeightsError
    from engine.project import save_project

    try:
        shapes = [parse_shape(s) for s in args.input_shape] or None
        result = import_source(args.source, parse_kwargs(args.arg), shapes, args.weights,
                               check=not args.no_check)
    except ImportFailed as exc:
        print(exc.report.text())
        return 1
    except (SourceError, WeightsError, argparse.ArgumentTypeError, OSError) as exc:
        print(f"layerloom import: {exc}", file=sys.stderr)
        return 2
    print(result.report.text())
    target = Path(args.output)
    name = target.stem if target.suffix == ".loom" else target.name
    saved = save_project(project_from_import(result, name, with_weights=not args.no_weights), target)
    print(f"saved {saved}")
    return 0
