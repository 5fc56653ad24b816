"""Training recipes from the studio: the recipe is chosen in the generated Training form, the engine's own
checks answer in the panel, and the bundled DCGAN and autoencoder examples open, validate and train."""

from __future__ import annotations

import pytest
from test_training_support import open_small, training_fixture  # noqa: F401

from engine.runner import LocalRun
from engine.runs import get_run, list_runs


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def choose(panel, path: tuple[str, ...], text: str) -> None:
    combo = panel.editors[path].field
    index = combo.findText(text)
    assert index >= 0, f"{text!r} is not offered for {path}"
    combo.activated.emit(index)


def test_choosing_a_recipe_in_the_training_form_is_stored_checked_and_undoable(window, training, qtbot,
                                                                             screenshots):
    project = open_small(window, qtbot, training)  # LeNet-5, a classifier
    panel = training.panels["training"]
    assert panel.check() == []
    choose(panel, ("recipe", "kind"), "autoencoder")
    training.show_panel("training")
    qtbot.wait(50)
    assert training.docks["training"].grab().save(str(screenshots / "recipes_training_form.png"))
    assert project.training["recipe"]["kind"] == "autoencoder"
    assert window.controller.undo_stack.undoText() == "Set recipe to autoencoder"
    text = panel.problems_label.text()
    assert "Training cannot start" in text and "an autoencoder reconstructs its input" in text
    assert not training.train()
    window.controller.undo_stack.undo()
    assert "recipe" not in project.training and panel.check() == []  # as stored before: supervised
    assert panel.editors[("recipe", "kind")].field.currentText() == "supervised"


def test_the_dcgan_example_opens_validates_and_trains_from_the_studio(window, local, qtbot, screenshots):
    project = open_small(window, qtbot, local, "dcgan_shapes", samples=300, epochs=2)
    window.controller.flush_analysis()
    qtbot.wait(200)  # the auto-layout of a network whose nodes all sit at the origin
    assert window.grab().save(str(screenshots / "recipes_dcgan_example.png"))
    panel = local.panels["training"]
    assert panel.check() == [] and "Ready to train" in panel.problems_label.text()
    assert {"noise", "image", "generated", "verdict"} <= set(window.scene.nodes)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    qtbot.waitUntil(lambda: [r.run_id for r in list_runs(project)] == ["run-1"], timeout=30_000)
    record = get_run(project, "run-1")
    assert record.status == "completed" and len(record.epochs) == 2
    assert {"generator", "discriminator"} <= set(record.epochs[-1]["val"])
    local.show_panel("metrics")
    metrics = local.panels["metrics"]
    qtbot.waitUntil(lambda: ("generator", "val") in metrics.series, timeout=5000)
    assert metrics.series[("discriminator", "train")].n == 2


def test_the_autoencoder_example_trains_and_a_vae_without_sampling_is_refused(window, local, qtbot):
    project = open_small(window, qtbot, local, "conv_autoencoder", samples=300, epochs=1)
    panel = local.panels["training"]
    assert panel.check() == []
    choose(panel, ("recipe", "kind"), "vae")
    assert "needs a Sampling layer" in panel.problems_label.text()
    window.controller.undo_stack.undo()
    assert panel.check() == []
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    qtbot.waitUntil(lambda: len(list_runs(project)) == 1, timeout=30_000)
    record = get_run(project, list_runs(project)[0].run_id)
    assert record.status == "completed" and "reconstruction" in record.epochs[-1]["val"]


def test_export_part_writes_the_generator_alone_from_the_run_menu(window, local, qtbot, tmp_path, monkeypatch):
    import onnx
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    project = open_small(window, qtbot, local, "dcgan_shapes", samples=200, epochs=1)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active and bool(list_runs(project)), timeout=120_000)
    offered, captions = [], []

    def choose_part(parent, title, label, items, *rest, **kw):
        offered.extend(items)
        return "generator", True

    def save_dialog(parent, caption, *rest, **kw):
        captions.append(caption)
        return str(tmp_path / "generator.onnx"), ""

    monkeypatch.setattr(QInputDialog, "getItem", choose_part)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    assert "Export Part…" in [a.text().replace("&", "") for a in local.run_menu.actions()]
    local.exporter.part_action.trigger()
    qtbot.waitUntil(lambda: local.exporter.pending == 0, timeout=120_000)
    assert offered == ["generator", "discriminator"]
    assert captions == ["Export the generator with the best weights of run 'run-1'"]
    assert (tmp_path / "generator.onnx").exists(), local.panels["log"].lines[-3:]
    assert "onnxruntime" in window.statusBar().currentMessage()
    model = onnx.load(str(tmp_path / "generator.onnx"))
    assert [i.name for i in model.graph.input] == ["noise"]


def test_export_part_of_a_classifier_says_there_is_none(window, training, qtbot):
    open_small(window, qtbot, training)
    training.exporter.part_action.trigger()
    assert "No part to export" in training.error_banner.title.text()
