"""Every bundled example: committed file equals the generator, validates clean, builds and runs forward."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine.templates
from engine.build import build_module, example_inputs
from engine.examples import EXAMPLE_BUILDERS
from engine.graph.analysis import analyze
from engine.project import load_project, project_to_bytes
from engine.resources import example_names, example_path

NAMES = sorted(EXAMPLE_BUILDERS)


def test_every_example_is_bundled():
    assert example_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_bundled_file_matches_its_generator(name):
    assert example_path(name).read_bytes() == project_to_bytes(EXAMPLE_BUILDERS[name]()), (
        f"resources/examples/{name}.loom is stale: run python -m engine.examples"
    )


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_clean_and_builds(name):
    project = load_project(example_path(name))
    result = analyze(project.network)
    assert result.ok and not result.warnings, result.problems
    module = build_module(project.network, result)
    assert sum(p.numel() for p in module.parameters()) == result.total_params
    out = module.eval()(*example_inputs(project.network, batch=3))
    outs = out if isinstance(out, tuple) else (out,)  # a GAN's two networks give one output each
    outputs = [n for n in project.network.nodes.values() if n.type_id == "Output"]
    assert len(outs) == len(outputs)
    for tensor, node in zip(outs, outputs):
        assert tuple(tensor.shape[1:]) == result.nodes[node.id].output.shape
        assert torch.isfinite(tensor).all()
    assert project.dataset["kind"] and project.training["epochs"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_example_trains_for_an_epoch(name):
    """Each example trains with its own settings, on a small slice of its (generated) data."""
    import numpy as np

    from engine.data import DatasetConfig
    from engine.train.job import TrainingJob
    from engine.train.session import run_job

    project = load_project(example_path(name))
    job = TrainingJob.from_project(project, "smoke")
    params = dict(job.dataset.params)
    params["n_samples"] = 120
    job.dataset = DatasetConfig(job.dataset.kind, params, seed=0)
    job.settings.epochs, job.settings.cpu_threads = 1, 1
    messages: list[dict] = []
    result = run_job(job, messages.append)
    assert result.status == "completed", result.failure
    assert result.record.epochs and np.isfinite(result.record.epochs[0]["train"]["loss"])
    assert {m["type"] for m in messages} >= {"run_started", "epoch", "finished"}


TEMPLATES = {template.key: template.build for template in engine.templates.TEMPLATES}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_template_validates_is_available_offline_and_trains_for_an_epoch(key):
    """The New gallery's templates are starting points a person trains at once: no download, no error."""
    import numpy as np

    from engine.data import DatasetConfig, dataset_availability
    from engine.train.job import TrainingJob
    from engine.train.preflight import preflight
    from engine.train.session import run_job

    project = TEMPLATES[key]()
    assert analyze(project.network).ok
    assert dataset_availability(project.dataset).ready
    problems = preflight(project.network, project.dataset, project.training, base=Path.cwd())
    assert not problems, problems
    job = TrainingJob.from_project(project, "smoke")
    params = dict(job.dataset.params)
    params["n_samples"] = 120
    job.dataset = DatasetConfig(job.dataset.kind, params, seed=0)
    job.settings.epochs, job.settings.cpu_threads = 1, 1
    result = run_job(job, lambda message: None)
    assert result.status == "completed", result.failure
    assert np.isfinite(result.record.epochs[0]["train"]["loss"])
