"""The headless command line: `layerloom validate | summary | train | sweep | lr-find | export | import`.

Each command loads a project with the same engine code the studio uses and
prints for people by default or JSON with ``--json``. Exit status: 0 on
success, 1 when the network or the run has errors, 2 for unusable input (a
missing or malformed file, bad flags). Opening the studio (``layerloom`` with
no command) is handled by `studio.launch`, which calls `main` here for the
headless commands; this module never imports Qt. ``layerloom bench`` lives in
`studio.bench` (some benchmarks drive the studio) and is routed there by `studio.launch`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.graph.errors import ProjectFileError

COMMANDS = ("validate", "summary", "train", "sweep", "lr-find", "export", "import")


def _load(path: str):  # -> Project
    from engine.project import load_project

    return load_project(Path(path))


def cmd_validate(args: argparse.Namespace) -> int:
    """The network's problems, then the dataset's and the training settings' (the rules `train` uses)."""
    from engine.graph.analysis import analyze
    from engine.memory import memory_warnings
    from engine.train.preflight import dataset_problems, settings_problems

    project = _load(args.file)
    doc = project.network
    result = analyze(doc)
    device = args.device or str(project.training.get("device", "auto"))
    batch = project.training.get("batch_size", 64)
    memory = memory_warnings(result, device, batch if isinstance(batch, int) and batch > 0 else 64)
    # the same pre-flight as `train`, short of loading the data (that needs the dataset itself)
    # a project without a dataset is a network still being drawn: said, but not an error here
    base = Path(args.file).resolve().parent  # relative dataset paths are the project folder's
    setup = (dataset_problems(project.dataset, base) if project.dataset else []) \
        + settings_problems(doc, project.training, result)
    notes = [] if project.dataset else ["no dataset chosen yet: training needs one"]
    ok = result.ok and not setup
    if args.json:
        print(json.dumps({
            "ok": ok,
            "problems": [
                {
                    "node_id": p.node_id,
                    "node": doc.nodes[p.node_id].name if p.node_id in doc.nodes else None,
                    "severity": p.severity,
                    "message": p.message,
                    "fix": p.fix.description if p.fix else None,
                    "path": list(p.path),
                }
                for p in result.problems
            ] + [{"node_id": None, "node": None, "severity": "warning", "message": m, "fix": None, "path": []}
                 for m in memory],
            "settings_problems": [p.to_json() for p in setup],
            "notes": notes,
        }, indent=2))
    else:
        for p in result.problems:
            where = f"{doc.nodes[p.node_id].name}: " if p.node_id in doc.nodes and not p.inside else ""
            fix = f"\n    fix: {p.fix.description}" if p.fix else ""
            print(f"{p.severity:7s} {where}{p.message}{fix}")
        for problem in setup:
            print(f"error   {problem.section}: {problem.text(doc)}")
        for message in memory:
            print(f"warning memory: {message}")
        for note in notes:
            print(f"note    {note}")
        errors, warnings = len(result.errors) + len(setup), len(result.warnings) + len(memory)
        verdict = "valid" if ok else "invalid"
        print(f"{args.file}: {verdict} ({errors} error(s), {warnings} warning(s), "
              f"{result.total_params:,} parameters)")
    return 0 if ok else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from engine.graph.analysis import analyze
    from engine.summary import flops_per_node, format_summary, summary_data

    project = _load(args.file)
    result = analyze(project.network)
    flops = None if args.no_flops else flops_per_node(project.network, result)
    if args.json:
        print(json.dumps(summary_data(project.network, result, flops), indent=2))
    else:
        print(format_summary(project.network, result, title=project.name, flops=flops))
    return 0 if result.ok else 1


def cmd_train(args: argparse.Namespace) -> int:
    from engine.train.cli import run

    return run(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from engine.sweep.cli import run

    return run(args)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from engine.train.lr_find_cli import run

    return run(args)


def cmd_export(args: argparse.Namespace) -> int:
    from engine.export.cli import run

    return run(args)


def cmd_import(args: argparse.Namespace) -> int:
    from engine.importing.cli import run

    return run(args)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen `command` imports its module for extra flags."""
    parser = argparse.ArgumentParser(
        prog="layerloom",
        description="Layerloom: build neural networks visually, train them with PyTorch. "
        "With no command (or a .loom file) the studio opens.",
        epilog="layerloom bench measures inference, canvas and training speed (see layerloom bench --help).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a project's network, dataset and training settings")
    p.add_argument("file", help="a .loom project")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--device", help="check that training fits this device's memory (auto, cpu, cuda:N, mps; "
                   "default: the project's training device)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("summary", help="print a per-node table of shapes, parameters and FLOPs")
    p.add_argument("file", help="a .loom project")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--no-flops", action="store_true", help="skip counting FLOPs (which builds the network)")
    p.set_defaults(handler=cmd_summary)

    p = sub.add_parser("train", help="train a project headless and save the run into it")
    p.add_argument("file", help="a .loom project")
    _add_optional("engine.train.cli", p, command)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("sweep", help="tune a project's settings and network with Optuna, saving each trial as a run")
    p.add_argument("file", help="a .loom project")
    _add_optional("engine.sweep.cli", p, command)
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser("lr-find", help="sweep the learning rate and print the suggested one (--apply saves it)")
    p.add_argument("file", help="a .loom project")
    _add_optional("engine.train.lr_find_cli", p, command)
    p.set_defaults(handler=cmd_lr_find)

    p = sub.add_parser("export", help="export a project's network (ONNX, torch.export, safetensors, code)")
    p.add_argument("file", help="a .loom project")
    _add_optional("engine.export.cli", p, command)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("import", help="import a PyTorch model, torch.export program or ONNX file as a project")
    p.add_argument("source", help="torchvision:NAME, package.module:NAME, path/to/file.py:NAME, FILE.pt2 or "
                   "FILE.onnx")
    _add_optional("engine.importing.cli", p, command)
    p.set_defaults(handler=cmd_import)

    return parser


def _add_optional(module_name: str, parser: argparse.ArgumentParser, command: str | None) -> None:
    """Let a command module add its own flags (imported lazily, so `validate` stays fast)."""
    import importlib

    if command != parser.prog.split()[-1]:
        return
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return
        raise
    module.add_arguments(parser)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ProjectFileError as exc:
        print(f"layerloom: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        print(f"layerloom {args.command}: not available in this installation ({exc})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("layerloom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
