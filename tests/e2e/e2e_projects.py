"""Small versions of the bundled examples for end-to-end runs (fast on two cores, telemetry often)."""

from __future__ import annotations

from engine.project import Project, load_project
from engine.resources import example_path


def example(name: str, samples: int, epochs: int) -> Project:
    project = load_project(example_path(name))
    project.dataset["params"]["n_samples"] = samples
    project.training.update(epochs=epochs)
    project.training.setdefault("telemetry", {}).update(feature_map_interval=0.1, stats_interval=0.3)
    return project
