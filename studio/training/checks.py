"""The checks a run must pass before it starts, in the same words as the CLI.

`settings_problems` parses the project's dataset and training sections with the engine's own
`DatasetConfig.from_json` / `TrainingSettings.from_json` and returns `TrainingSettings.validate`'s
problems, with the dataset summary (from the preview, when there is one) and the network's output
shape, so the Training panel shows what ``layerloom train`` would refuse. `network_errors`
returns the editor's own analysis errors as (node id, message). Import once the engine is loaded.
"""

from __future__ import annotations

from typing import Any

from engine.data import DatasetConfig, DatasetError
from engine.train.settings import SettingsError, TrainingSettings


def output_spec(project: Any, analysis: Any) -> Any:
    """The network's output tensor spec (or None when there is not exactly one Output node)."""
    doc = project.network
    outputs = [n for n in doc.nodes.values() if doc.spec_of(n).is_output]
    return analysis.output_of(outputs[0].id) if len(outputs) == 1 and analysis is not None else None


def dataset_problem(project: Any) -> str | None:
    """Why the project's dataset section cannot be used, or None."""
    if not project.dataset:
        return "the project has no dataset: choose one in the Dataset panel"
    try:
        DatasetConfig.from_json(project.dataset)
    except DatasetError as exc:
        return f"dataset: {exc}"
    return None


def settings_problems(project: Any, analysis: Any = None, summary: Any = None) -> list[str]:
    """Every problem with the project's training settings (empty when a run can start)."""
    try:
        settings = TrainingSettings.from_json(project.training)
    except SettingsError as exc:
        return [str(exc)]
    output = output_spec(project, analysis) if summary is not None else None
    return settings.validate(summary, output, list(project.network.nodes))


def network_errors(analysis: Any) -> list[tuple[str | None, str]]:
    """The network's errors as (node id, message)."""
    return [(p.node_id, p.message) for p in analysis.errors] if analysis is not None else []
