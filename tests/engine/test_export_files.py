"""Exported files: ONNX in one self-contained file below 2 GB, the user's usual file modes, and the run named."""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from engine.build import build_module, example_inputs
from engine.export import export_network, export_project
from engine.export import exporters as exporters_module
from engine.project import load_project
from engine.resources import example_path
from engine.runs import RunRecord, add_run


def spirals():
    return load_project(example_path("mlp_spirals"))


def check_with_onnxruntime(path, project, module) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = example_inputs(project.network, batch=4)
    got = session.run(None, {session.get_inputs()[0].name: x[0].numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(got), module(*x).detach(), atol=1e-4, rtol=1e-4)


def test_onnx_below_the_limit_is_one_self_contained_file(tmp_path):
    project = spirals()
    module = build_module(project.network).eval()
    report = export_network(project.network, "onnx", tmp_path / "out" / "model", module.state_dict())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.onnx"]
    assert report.extra_files == [] and report.bytes == report.path.stat().st_size
    alone = tmp_path / "elsewhere" / "copied.onnx"  # what a user does: send the one file on
    alone.parent.mkdir()
    shutil.copy(report.path, alone)
    check_with_onnxruntime(alone, project, module)


def test_onnx_above_the_limit_writes_external_data_and_names_both_files(tmp_path, monkeypatch):
    monkeypatch.setattr(exporters_module, "ONNX_SINGLE_FILE_LIMIT", 1000)  # the spirals MLP's weights are 17 KB
    project = spirals()
    module = build_module(project.network).eval()
    report = export_network(project.network, "onnx", tmp_path / "model", module.state_dict())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and "model.onnx" in names
    data = next(p for p in tmp_path.iterdir() if p.name != "model.onnx")
    assert report.extra_files == [data]
    assert "model.onnx" in report.line() and data.name in report.line()
    assert any(data.name in note and "model.onnx" in note and "2 GB" in note for note in report.notes)
    check_with_onnxruntime(report.path, project, module)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_exported_files_get_the_usual_permissions(tmp_path, umask):
    project = spirals()
    old = os.umask(umask)
    try:
        paths = [export_network(project.network, fmt, tmp_path / "model").path
                 for fmt in ("onnx", "pt2", "safetensors", "code")]
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {oct(0o666 & ~umask)}


def trained_project():
    from safetensors.torch import save

    project = spirals()
    module = build_module(project.network)
    torch.nn.init.constant_(module.hidden1.weight, 0.25)
    weights = save({k: v.contiguous() for k, v in module.state_dict().items()})
    add_run(project, RunRecord("run-1", started="2026-01-01T00:00:00Z", status="completed",
                               weights={"best": weights, "last": weights}))
    return project


def test_export_project_says_which_runs_weights_it_wrote(tmp_path):
    from safetensors.torch import load_file

    report = export_project(trained_project(), "safetensors", tmp_path / "trained")
    assert report.run_id == "run-1" and report.weights_from == "run 'run-1' (best epoch)"
    assert "weights: run 'run-1' (best epoch)" in report.line()
    assert torch.all(load_file(str(report.path))["hidden1.weight"] == 0.25)

    fresh = export_project(spirals(), "safetensors", tmp_path / "fresh")
    assert fresh.run_id is None and fresh.weights_from.startswith("freshly initialised")
