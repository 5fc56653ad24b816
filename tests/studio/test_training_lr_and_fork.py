"""The learning-rate finder, the live learning rate and forking, driven from the studio as a person does
(the worker loop in-process, LocalRun): the sweep is drawn live and its rate used in one undo step; a rate
typed while training reaches the run and is marked on the plot; a run forked after widening a layer
reports exactly that layer and names its parent. Screenshots of the finder and the fork report."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from test_training_support import open_small, small_example, training_fixture  # noqa: F401

from engine.runner import LocalRun
from engine.runs import get_run
from engine.train.lr_find_config import rounded_rate


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def test_find_learning_rate_draws_the_sweep_live_and_uses_the_rate_in_one_undo_step(window, local, qtbot,
                                                                                      screenshots):
    project = open_small(window, qtbot, local, "lenet5", samples=600)
    stack = window.controller.undo_stack
    local.show_panel("training")
    tools = local.panels["training"].lr_tools
    qtbot.waitUntil(tools.find_button.isVisible)
    qtbot.mouseClick(tools.find_button, Qt.MouseButton.LeftButton)
    dialog = local.lr_finder
    assert dialog is not None and dialog.isVisible()
    seen: list[int] = []
    dialog.runs.lr_find_points_arrived.connect(lambda _batch: seen.append(len(dialog.curve.getData()[0])))
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=120_000)
    qtbot.waitUntil(lambda: not dialog.runs.active, timeout=30_000)
    assert len(set(seen)) >= 2  # the curve grew while the sweep ran
    x, y = dialog.curve.getData()
    assert len(x) == len(dialog.lrs) > 20 and all(math.isfinite(v) for v in y)
    assert dialog.plot.getPlotItem().ctrl.logXCheck.isChecked()  # a log learning-rate axis
    suggestion = dialog.suggestion
    assert suggestion is not None and dialog.line.isVisible()
    assert dialog.line.value() == pytest.approx(math.log10(suggestion))
    assert dialog.point.xData[0] == pytest.approx(suggestion)  # (getData gives the log-axis positions)
    assert f"Suggested learning rate: {rounded_rate(suggestion):g}" in dialog.summary.text()
    assert project.training["optimizer"]["lr"] == 0.005 and stack.count() == 0
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / "lr_finder.png"))

    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert project.training["optimizer"]["lr"] == rounded_rate(suggestion)
    assert stack.count() == 1 and stack.undoText() == f"Set learning rate to {rounded_rate(suggestion):g} (found)"
    assert window.isWindowModified()
    lr_field = local.panels["training"].editors[("optimizer", "lr")].field
    assert lr_field.value() == pytest.approx(rounded_rate(suggestion))
    stack.undo()
    assert project.training["optimizer"]["lr"] == 0.005
    assert project.attachments == {}  # a sweep is no run: nothing was added to the project
    dialog.close()


def test_a_learning_rate_typed_while_training_reaches_the_run_and_is_marked_on_the_plot(window, local, qtbot,
                                                                                         screenshots):
    project = open_small(window, qtbot, local, "lenet5", samples=600, epochs=200)
    assert local.train()
    local.show_panel("training")
    tools = local.panels["training"].lr_tools
    qtbot.waitUntil(lambda: local.runs.state == "running" and tools.rate.text() != "", timeout=120_000)
    assert tools.live.isEnabled() and not local.panels["training"].form_host.isEnabled()
    assert tools.rate.text() == "0.005" or float(tools.rate.text()) <= 0.005  # the cosine schedule's rate now
    tools.rate.clear()
    qtbot.keyClicks(tools.rate, "fast")
    qtbot.mouseClick(tools.set_button, Qt.MouseButton.LeftButton)
    assert "not a learning rate" in tools.note.text()
    tools.rate.setFocus()
    tools.rate.selectAll()
    qtbot.keyClicks(tools.rate, "0.02")
    qtbot.keyClick(tools.rate, Qt.Key.Key_Return)
    lr_panel = local.panels["learning_rate"]
    qtbot.waitUntil(lambda: len(lr_panel.changes) == 1, timeout=30_000)
    assert tools.note.text().startswith("Set to 0.02 after step")
    QApplication.processEvents()
    assert local.docks["training"].grab().save(str(screenshots / "lr_live_training_panel.png"))
    local.show_panel("learning_rate")
    steps = lr_panel.values.n
    qtbot.waitUntil(lambda: lr_panel.values.n > steps + 2 and not lr_panel.dirty, timeout=30_000)
    change = lr_panel.changes[0]
    xs, ys = lr_panel.markers.getData()
    assert list(ys) == [0.02] and xs[0] == pytest.approx(change.epoch + change.epoch_fraction)
    assert lr_panel.labels[0].toPlainText() == "set 0.02"
    QApplication.processEvents()
    assert local.docks["learning_rate"].grab().save(str(screenshots / "lr_live_change.png"))
    local.runs.stop()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=60_000)
    qtbot.waitUntil(lambda: local.panels["runs"].run_ids() == ["run-1"], timeout=30_000)
    (recorded,) = get_run(project, "run-1").lr_changes
    assert recorded["lr"] == 0.02 and recorded["step"] == change.step
    assert not tools.live.isVisible() and tools.find_button.isEnabled()


def test_forking_a_run_after_widening_a_layer_reports_that_layer_and_names_the_parent(window, local, qtbot,
                                                                                       screenshots):
    project = open_small(window, qtbot, local, "mlp_spirals", samples=400, epochs=3)
    assert local.train()
    qtbot.waitUntil(lambda: local.panels["runs"].run_ids() == ["run-1"], timeout=120_000)
    hidden1 = next(n.id for n in project.network.nodes.values() if n.name == "hidden1")
    assert window.controller.set_param(hidden1, "out_features", 96) is None  # the edit (one undo step)
    runs = local.panels["runs"]
    local.show_panel("runs")
    item = runs.tree.topLevelItem(0)
    rect = runs.tree.visualItemRect(item)
    viewport = runs.tree.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.RightButton, pos=rect.center())
    # a right click's context-menu event (QTest's click does not make one on the offscreen platform)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, rect.center(),
                                                       viewport.mapToGlobal(rect.center())))
    qtbot.waitUntil(lambda: runs.menu is not None and runs.menu.isVisible(), timeout=5000)
    (fork,) = runs.menu.actions()
    assert fork.text() == "Fork from Epoch…" and fork.isEnabled()
    fork.trigger()
    runs.menu.close()
    dialog = local.forks.dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=5000)
    assert [dialog.epoch.itemData(i) for i in range(dialog.epoch.count())] == ["1", "2", "3", "best", "last"]
    dialog.epoch.setCurrentIndex(1)
    QApplication.processEvents()
    assert dialog.grab().save(str(screenshots / "fork_dialog.png"))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: local.forks.report is not None and local.forks.report.isVisible(), timeout=120_000)
    report = local.forks.report
    text = report.text.toPlainText()
    assert "forked from run-1 at epoch 2: 3 of 6 weight tensors carried" in text
    assert "hidden1.weight 64×2 -> 96×2" in text and "hidden1.bias 64 -> 96" in text
    assert "hidden2.weight 64×64 -> 64×96" in text and "logits" not in text
    assert {r["key"] for r in report.report.reshaped} == {"hidden1.weight", "hidden1.bias", "hidden2.weight"}
    QApplication.processEvents()
    assert report.grab().save(str(screenshots / "fork_report.png"))
    qtbot.waitUntil(lambda: runs.run_ids() == ["run-1", "run-2"], timeout=120_000)
    parent = get_run(project, "run-2").parent
    assert parent["run_id"] == "run-1" and parent["epoch"] == "2" and parent["carried"] == 3
    assert runs.tree.topLevelItem(0).text(6).startswith("from run-1 @ epoch 2 · ")
    QApplication.processEvents()
    assert local.docks["runs"].grab().save(str(screenshots / "fork_runs_panel.png"))
    assert any("starting forked from run-1 (after epoch 2)" in line for line in local.panels["log"].lines)
    assert any("not carried, shape changed: hidden1.weight" in line for line in local.panels["log"].lines)
    report.close()


def test_the_finder_sweeps_in_the_studios_warm_worker_process_and_a_fresh_one_is_prepared(window, qtbot):
    """The real path: no in-process launcher; the warm worker (torch loaded) takes the sweep."""
    training = window.training
    window.open_project(small_example("mlp_spirals", samples=300))
    window.controller.flush_analysis()
    try:
        training.keep_worker_warm()
        spare = training.runs.spare
        qtbot.waitUntil(spare.poll_ready, timeout=180_000)
        training.show_panel("training")
        qtbot.mouseClick(training.panels["training"].lr_tools.find_button, Qt.MouseButton.LeftButton)
        dialog = training.lr_finder
        assert dialog is not None and dialog.runs.handle.pid == spare.pid  # the warm process took the sweep
        qtbot.waitUntil(lambda: dialog.result is not None, timeout=180_000)
        assert dialog.suggestion is not None and len(dialog.lrs) == dialog.result.points
        qtbot.waitUntil(lambda: training.runs.spare is not None and training.runs.spare is not spare,
                        timeout=30_000)  # the borrowed worker is replaced, so Train stays warm
        dialog.close()
        assert dialog.runs.handle is None and not spare.alive
    finally:
        training.shutdown()
