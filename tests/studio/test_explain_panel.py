"""The Explain panel, driven as a person does: train a small shapes CNN in-process, click a sample in Sample
Predictions or the dataset preview, pick the method and the node, and check what is drawn (Captum's maps laid
over the input). Screenshots go to the session's screenshot folder."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_training_support import open_small, training_fixture  # noqa: F401

from engine.explain import SampleRef
from engine.runner import LocalRun
from studio.training.panels.overlay import heat_overlay


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def _float_dock(ui, name: str, width: int = 560, height: int = 430) -> None:
    dock = ui.docks[name]
    dock.setFloating(True)
    dock.show()
    dock.resize(width, height)
    dock.raise_()


def _drawn(panel) -> np.ndarray:
    """What the overlay image item holds, as it is painted."""
    return np.asarray(panel.overlay_image.image)


def test_clicking_a_prediction_explains_it_with_the_runs_weights(window, local, qtbot, screenshots):
    open_small(window, qtbot, local, samples=1200, epochs=4)
    assert not local.docks["explain"].isVisible()  # nothing to explain yet: the dock is not in the way
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    qtbot.waitUntil(lambda: local.panels["runs"].run_ids() == ["run-1"], timeout=30_000)
    local.show_panel("predictions")
    predictions = local.panels["predictions"]
    qtbot.waitUntil(lambda: predictions.grid.visible_count() == 16, timeout=10_000)
    qtbot.mouseClick(predictions.grid.tiles[3], Qt.MouseButton.LeftButton)
    assert local.context.samples.sample == SampleRef("val", 3) and predictions.grid.selected == 3
    panel = local.panels["explain"]
    _float_dock(local, "explain")
    assert local.docks["explain"].isVisible()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    result = panel.result
    assert result.run_id == "run-1" and result.sample == SampleRef("val", 3) and result.node_id == "pool2"
    assert result.thread and result.thread != threading.main_thread().name  # computed off the GUI thread
    true_name = predictions.message.class_names[predictions.message.true[3]]
    assert "validation sample 4" in panel.header.text() and f"true {true_name}" in panel.header.text()
    # Grad-CAM at the last spatial node is what opens; the drawn picture is that map over the input
    assert panel.method.currentText() == "Grad-CAM" and panel.overlay_title.text == "Grad-CAM at pool2"
    grad_cam = result.by_method("grad_cam").heatmap
    expected = heat_overlay(result.image, grad_cam, panel._lut, panel.opacity.value() / 100.0)
    assert np.array_equal(_drawn(panel), expected)
    assert _drawn(panel).shape == (28, 28, 3) and not np.array_equal(_drawn(panel)[..., 0], result.image[..., 0])
    assert local.docks["explain"].grab().save(str(screenshots / "explain_grad_cam.png"))

    panel.method.setFocus()
    qtbot.keyClick(panel.method, Qt.Key.Key_Up)  # Grad-CAM -> Saliency, instantly (all three were computed)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.method_id == "saliency" and panel.overlay_title.text == "Saliency"
    saliency = result.by_method("saliency").heatmap
    assert np.array_equal(_drawn(panel), heat_overlay(result.image, saliency, panel._lut, 0.65))
    assert local.docks["explain"].grab().save(str(screenshots / "explain_saliency.png"))
    qtbot.keyClick(panel.method, Qt.Key.Key_Down)
    qtbot.keyClick(panel.method, Qt.Key.Key_Down)  # integrated gradients
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.overlay_title.text == "Integrated gradients"
    assert local.docks["explain"].grab().save(str(screenshots / "explain_integrated_gradients.png"))

    # another node: the spatial nodes are offered, the choice recomputes there
    assert [panel.node.itemText(i) for i in range(panel.node.count())] == [
        "last spatial node (pool2)", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    panel.method.setCurrentIndex(1)
    panel.node.setFocus()
    qtbot.keyClick(panel.node, Qt.Key.Key_Down)  # conv1
    assert panel.node_id == "conv1"
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.node_id == "conv1", timeout=60_000)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.overlay_title.text == "Grad-CAM at conv1"
    # selecting a spatial node on the canvas picks it too
    window.scene.select_nodes(["relu2"])
    assert panel.node_id == "relu2" and panel.node.currentText() == "relu2"
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.node_id == "relu2", timeout=60_000)


def test_a_sample_chosen_in_the_preview_gets_grad_cam_every_epoch_while_training(window, local, qtbot, screenshots):
    open_small(window, qtbot, local, samples=900, epochs=200)
    local.show_panel("dataset")
    grid = local.panels["dataset"].samples
    qtbot.waitUntil(lambda: grid.visible_count() == 16, timeout=10_000)
    qtbot.mouseClick(grid.tiles[5], Qt.MouseButton.LeftButton)
    panel = local.panels["explain"]
    _float_dock(local, "explain")
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert "training sample 6" in panel.header.text()
    assert "Train the network first" in panel.status.text()
    arrived: list[tuple[int, str]] = []
    local.runs.explanation_arrived.connect(lambda m: arrived.append((int(m.epoch), m.node_id)))
    assert local.train()
    qtbot.waitUntil(lambda: len({e for e, _n in arrived}) >= 3, timeout=120_000)  # refreshed as epochs end
    live = panel.live
    assert (live.split, live.sample_index, live.node_id, live.method) == ("train", 5, "pool2", "grad_cam")
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert "live, after epoch" in panel.header.text() and panel.overlay_title.text == "Grad-CAM at pool2"
    assert f"true {local.panels['dataset'].samples.tiles[5].caption.text()}" in panel.header.text()
    assert np.array_equal(_drawn(panel), heat_overlay(live.input, live.heatmap, panel._lut, 0.65))
    assert local.docks["explain"].grab().save(str(screenshots / "explain_live.png"))
    # another node while training: the worker follows without a restart
    panel.node.setFocus()
    qtbot.keyClick(panel.node, Qt.Key.Key_Down)
    assert panel.node_id == "conv1"
    qtbot.waitUntil(lambda: panel.live is not None and panel.live.node_id == "conv1", timeout=60_000)
    run_id = local.runs.run_id
    local.runs.stop()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=60_000)
    assert run_id == "run-1"
    # when the run is stored, the panel explains the sample with the finished run's weights
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.result.sample == SampleRef("train", 5) and "weights of run-1" in panel.header.text()
    assert panel.result.node_id == "conv1"
    assert np.array_equal(panel.result.image, live.input)  # the worker and the studio found the same sample
    assert local.docks["explain"].grab().save(str(screenshots / "explain_after_training.png"))


def test_another_project_forgets_the_chosen_sample(window, local, qtbot):
    open_small(window, qtbot, local)
    local.context.samples.select("val", 2)
    assert local.panels["explain"].sample == SampleRef("val", 2)
    open_small(window, qtbot, local, name="mlp_spirals")
    assert local.context.samples.sample is None and local.panels["explain"].sample is None
    assert "Click a sample" in local.panels["explain"].header.text()
