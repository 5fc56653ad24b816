"""Every bundled example: committed file equals the generator, validates clean, builds and runs forward."""

from __future__ import annotations

import pytest
import torch

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
    outputs = [n for n in project.network.nodes.values() if n.type_id == "Output"]
    assert tuple(out.shape[1:]) == result.nodes[outputs[0].id].output.shape
    assert torch.isfinite(out).all()
    assert project.dataset["kind"] and project.training["epochs"] > 0
