"""Run ▸ Export Network…: the trained run's weights go out as a checked file, off the GUI thread."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtWidgets import QFileDialog
from test_training_support import open_small, training_fixture  # noqa: F401

from engine.build import build_module
from engine.runner import LocalRun
from engine.runs import list_runs, load_run_weights


def test_export_a_trained_run_to_onnx_from_the_run_menu(window, training, qtbot, tmp_path, monkeypatch):
    import onnxruntime as ort

    training.launcher = LocalRun.start
    project = open_small(window, qtbot, training, "mlp_spirals", samples=300, epochs=2)
    assert training.train()
    qtbot.waitUntil(lambda: not training.runs.active and bool(list_runs(project)), timeout=120_000)
    target = tmp_path / "spirals.onnx"
    captions = []

    def save_dialog(parent, caption, *rest, **kw):
        captions.append(caption)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    menu_entries = [a.text().replace("&", "") for a in training.run_menu.actions()]
    assert "Export Network…" in menu_entries
    training.exporter.action.trigger()
    qtbot.waitUntil(lambda: training.exporter.pending == 0, timeout=120_000)
    assert target.exists(), training.panels["log"].lines[-3:]
    assert "onnxruntime" in window.statusBar().currentMessage()
    run_id = list_runs(project)[-1].run_id
    assert captions == [f"Export Network with the best weights of run '{run_id}'"]  # said before choosing a file
    assert f"the best weights of run '{run_id}'" in window.statusBar().currentMessage()
    module = build_module(project.network).eval()
    module.load_state_dict(load_run_weights(project, list_runs(project)[-1].run_id))
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    x = torch.randn(5, 2)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(got), module(x).detach(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["weights.tflite"])
def test_an_unknown_format_is_refused_with_the_reason(window, training, qtbot, tmp_path, name):
    open_small(window, qtbot, training, "mlp_spirals", samples=300, epochs=1)
    assert not training.exporter.export(tmp_path / name)
    assert training.error_banner.isVisible() and "choose a name ending in .onnx" in training.error_banner.message.text()
    assert not (tmp_path / name).exists()


def test_weights_that_no_longer_fit_the_edited_network_fail_loudly(window, training, qtbot, tmp_path):
    training.launcher = LocalRun.start
    project = open_small(window, qtbot, training, "mlp_spirals", samples=300, epochs=1)
    assert training.train()
    qtbot.waitUntil(lambda: not training.runs.active and bool(list_runs(project)), timeout=120_000)
    project.network.set_param("hidden1", "out_features", 16)  # edited after training
    assert training.exporter.export(tmp_path / "model.pt2")
    qtbot.waitUntil(lambda: training.exporter.pending == 0, timeout=120_000)
    assert training.error_banner.isVisible()
    assert "Export failed" in training.error_banner.title.text()
    assert "the weights do not fit this network" in training.error_banner.message.text()
    assert not (tmp_path / "model.pt2").exists()


def test_an_imported_project_without_a_run_exports_its_imported_weights(window, training, qtbot, tmp_path,
                                                                          monkeypatch):
    from collections import OrderedDict

    from safetensors.torch import load_file
    from torch import nn

    from engine.importing.importer import import_module
    from engine.importing.sources import project_from_import

    source = nn.Sequential(OrderedDict(fc1=nn.Linear(2, 8), relu=nn.ReLU(), fc2=nn.Linear(8, 3)))
    window.open_project(project_from_import(import_module(source, [(2,)]), "imported"))
    target = tmp_path / "imported.safetensors"
    captions = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, caption, *r, **k: (
        captions.append(caption), (str(target), ""))[1])
    training.exporter.action.trigger()
    qtbot.waitUntil(lambda: training.exporter.pending == 0, timeout=120_000)
    assert captions == ["Export Network with the project's initial (imported) weights (no run yet)"]
    written = load_file(str(target))
    assert all(torch.equal(written[k], v) for k, v in source.state_dict().items())
