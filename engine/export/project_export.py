"""Exporting a project's network with one of its runs' weights, saying whose weights were written.

`export_project(project, fmt, path, run_id=None, which="best")` picks the run (the newest when
`run_id` is None; ``"none"`` for no run's), loads its best or last weights from
the project (safetensors, never pickle), exports and checks with `export_network`, and returns the
`ExportReport` with ``run_id`` and ``weights_from`` filled in, so the CLI and the studio can tell
the user exactly which run's weights a file holds. Without a run, an imported project's initial
weights are written (where they still fit the network), else freshly initialised ones. A missing
run or unreadable weights raise `RunChoiceError` (an `ExportError`) with a message for the user.
With `part` (generator, discriminator, encoder, decoder: what the project's training recipe has)
only that part of the network is exported, with its own layers' weights (`engine.export.parts`).
"""

from __future__ import annotations

import os
from typing import Any

from engine.export.common import ExportError, ExportReport
from engine.export.exporters import export_network

NO_RUN = "none"


class RunChoiceError(ExportError):
    """The chosen run does not exist or its weights cannot be read: every format fails alike."""

_WHICH = {"best": "best epoch", "last": "last epoch"}


def export_project(project: Any, fmt: str, path: str | os.PathLike[str], run_id: str | None = None,
                   which: str = "best", part: str | None = None) -> ExportReport:
    """Export `project`'s network (or one `part` of it) with the weights of `run_id` (default: the newest run)."""
    from engine.runs import RunError, list_runs, load_run_weights

    def export(weights: Any, weights_from: str) -> ExportReport:
        if part is None:
            return export_network(project.network, fmt, path, weights, weights_from=weights_from)
        from engine.export.parts import export_part
        from engine.train.preflight import recipe_kind

        return export_part(project.network, recipe_kind(project.training), part, fmt, path, weights,
                           weights_from=weights_from)

    chosen = None if run_id == NO_RUN else _choose_run(project, run_id, list_runs)
    if chosen is None:
        weights, source = start_weights(project)
        report = export(weights, source + (" (the project has no runs yet)" if run_id != NO_RUN else ""))
        report.run_id = None
        return report
    try:
        weights = load_run_weights(project, chosen, which)
    except RunError as exc:
        raise RunChoiceError(str(exc)) from None
    report = export(weights, f"run '{chosen}' ({_WHICH.get(which, which)})")
    report.run_id = chosen
    return report


def start_weights(project: Any) -> tuple[dict[str, Any] | None, str]:
    """The weights a project starts training from, and their description: its initial (imported) weights
    where it has them, else None for freshly initialised ones."""
    from engine.train.fine_tune import initial_state

    start = initial_state(project.network, project.attachments)
    if start is None:
        return None, "freshly initialised"
    weights, loaded = start
    return weights, "the project's initial weights" + ("" if loaded.complete else " where they still fit")


def _choose_run(project: Any, run_id: str | None, list_runs: Any) -> str | None:
    runs = list_runs(project)
    if run_id is None:
        return runs[-1].run_id if runs else None
    if run_id not in {r.run_id for r in runs}:
        known = ", ".join(r.run_id for r in runs) or "none"
        raise RunChoiceError(f"the project has no run {run_id!r} (its runs: {known})")
    return run_id
