"""The `layerloom` command: headless subcommands, or the studio on a file.

``layerloom validate|summary|train|lr-find|export ...`` (and any option such as
``--help``) runs `engine.cli.main`, imported only then, so the headless commands
never load Qt. ``layerloom bench ...`` runs `studio.bench.cli.main` (the benchmarks
live under `studio` because some of them drive the studio; `engine` never imports
`studio`). ``layerloom`` and ``layerloom FILE`` open the studio, after
`display_check.display_problem` has made sure Qt can open a window here; when it
cannot, the reason (no display, or the missing system packages and the
``apt-get install`` line for them) is printed and the exit status is 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADLESS_COMMANDS = ("validate", "summary", "train", "sweep", "lr-find", "export", "import")
USAGE = ("usage: layerloom [FILE.loom]\n"
         "       layerloom {validate,summary,train,sweep,lr-find,export,import,bench} ...\n"
         "       (headless; see layerloom --help)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `layerloom` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "bench":
        from studio.bench import cli as bench_cli

        return int(bench_cli.main(args[1:]) or 0)
    if args and (args[0] in HEADLESS_COMMANDS or args[0].startswith("-")):
        from engine import cli

        result = cli.main(args)
        return int(result or 0)
    if len(args) > 1:
        print(USAGE, file=sys.stderr)
        return 2
    path = args[0] if args else None
    if path is not None and not Path(path).is_file():
        print(f"layerloom: {path}: no such file", file=sys.stderr)
        return 2
    from studio.display_check import display_problem

    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from studio.app import run_studio

    return run_studio(path)


if __name__ == "__main__":
    sys.exit(main())
