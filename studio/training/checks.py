"""The checks a run must pass before it starts: the engine's pre-flight, in the same words as the CLI.

Thin views of `engine.train.preflight` (the one pre-flight the CLI, the worker and the studio
share) for the Training panel and the Train action: `settings_problems` gives the training
settings' problems (checked against the dataset preview's summary and the network's output when
they are known), `dataset_problem` why the dataset section cannot be used, `network_errors` the
editor's analysis errors as (node id, message). Light: no torch, so the checks run on every edit.
"""

from __future__ import annotations

from engine.data.config import DatasetSummary
from engine.graph.analysis import Analysis
from engine.project import Project
from engine.train import preflight
from engine.train.preflight import StartProblem


def start_problems(project: Project, analysis: Analysis | None = None,
                   summary: DatasetSummary | None = None) -> list[StartProblem]:
    """Every problem that keeps the project from training, with node ids."""
    return preflight.preflight(project.network, project.dataset, project.training, analysis, summary)


def dataset_problem(project: Project) -> str | None:
    """Why the project's dataset section cannot be used, or None."""
    problems = preflight.dataset_problems(project.dataset)
    if not problems:
        return None
    if not project.dataset:
        return "the project has no dataset: choose one in the Dataset panel"
    return problems[0].message


def settings_problems(project: Project, analysis: Analysis | None = None,
                      summary: DatasetSummary | None = None) -> list[str]:
    """Every problem with the project's training settings (empty when a run can start)."""
    problems = preflight.settings_problems(project.network, project.training, analysis, summary)
    return [p.text(project.network) if p.node_id else p.message for p in problems]


def network_errors(analysis: Analysis | None) -> list[tuple[str | None, str]]:
    """The network's errors as (node id, message)."""
    return [(p.node_id, p.message) for p in analysis.errors] if analysis is not None else []
