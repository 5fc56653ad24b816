"""Selecting two runs in the Runs panel (clicks, as a person does) shows their diff: the networks on read-only
canvases with added, removed and changed nodes ringed, the changed parameters listed, the settings as a
table and the curves overlaid; screenshots go to the screenshots folder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.block_catalog import resnet18_network, resnet34_network
from engine.data import DatasetConfig
from engine.diff.network_diff import ADDED, CHANGED, INSIDE, REMOVED
from engine.examples import mlp_document
from engine.graph.serialize import document_to_data
from engine.project import Project
from engine.runs import RunRecord, add_run
from engine.train import TrainingJob, TrainingSettings
from engine.train.session import run_job
from studio.training.panels.diff_view.diff_canvas import STATUS_COLORS

SPIRALS = DatasetConfig("spirals", {"n_samples": 200})


def trained(hidden: tuple[int, ...], lr: float, run_id: str) -> RunRecord:
    settings = TrainingSettings.from_json({"epochs": 3, "batch_size": 64, "cpu_threads": 1, "device": "cpu",
                                           "optimizer": {"lr": lr}, "telemetry": {"enabled": False}})
    result = run_job(TrainingJob(mlp_document(2, hidden, 2), SPIRALS, settings, run_id), lambda m: None)
    assert result.status == "completed"
    return result.record


def open_with_runs(window, qtbot, network, records) -> None:
    project = Project(network, "diff", SPIRALS.to_json(), {})
    for record in records:
        add_run(project, record)
    window.open_project(project)
    window.training.show_panel("runs")
    runs = window.training.panels["runs"]
    qtbot.waitUntil(lambda: len(runs.run_ids()) == len(records))


def click_runs(qtbot, runs, run_ids) -> None:
    """Click the first run, Ctrl+click the others, in the Runs panel's table."""
    tree = runs.tree
    items = {tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): tree.topLevelItem(i)
             for i in range(tree.topLevelItemCount())}
    for i, run_id in enumerate(run_ids):
        rect = tree.visualItemRect(items[run_id])
        modifier = Qt.KeyboardModifier.ControlModifier if i else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, modifier, QPoint(rect.left() + 20,
                                                                                        rect.center().y()))


def float_large(panel, qtbot) -> None:
    dock = panel.parentWidget()
    dock.setFloating(True)
    dock.resize(1300, 820)
    qtbot.waitUntil(lambda: panel.width() > 1200)
    QApplication.processEvents()


def halo_statuses(canvas) -> dict[str, str]:
    return {node_id: halo.status for node_id, halo in canvas.halos.items()}


def wheel(view, pos: QPoint, delta: int) -> None:
    """One turn of a mouse wheel over `view`'s viewport at `pos`."""
    event = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), event)


def test_two_trained_runs_show_the_changed_layers_settings_and_curves(window, qtbot, screenshots):
    records = [trained((64, 64), 0.01, "run-1"), trained((64, 32, 16), 0.02, "run-2"), trained((32,), 0.02, "run-3")]
    open_with_runs(window, qtbot, mlp_document(), records)
    panel = window.training.panels["run_diff"]
    assert panel.stack.currentIndex() == 0  # nothing chosen yet: the hint
    runs = window.training.panels["runs"]
    click_runs(qtbot, runs, ["run-2", "run-1"])
    assert sorted(runs.selected_ids()) == ["run-1", "run-2"]
    qtbot.waitUntil(lambda: panel.stack.currentIndex() == 1)
    dock = panel.parentWidget()
    assert dock.isVisible() and dock.isFloating()  # too small among the pictures: a window of its own
    assert panel.width() >= 640 and panel.height() >= 420
    QApplication.processEvents()
    dock.grab().save(str(screenshots / "run_diff_floated.png"))
    assert panel.summary.text() == "run-1 → run-2: 2 nodes added · 2 nodes changed · 1 setting changed"

    # (a) the networks: run-2's new layers ringed as added, the two resized ones as changed on both sides
    assert halo_statuses(panel.before) == {"fc2": CHANGED, "fc3": CHANGED}
    assert halo_statuses(panel.after) == {"fc2": CHANGED, "fc3": CHANGED, "relu3": ADDED, "fc4": ADDED}
    assert panel.after.halos["fc4"].color == STATUS_COLORS[ADDED]
    assert panel.after.halos["fc2"].color == STATUS_COLORS[CHANGED]
    assert "weight: 2×64 → 16×32" in panel.after.halos["fc3"].toolTip()
    assert not panel.after.controller.editable and len(panel.after.scene.nodes) == len(records[1].network["nodes"])
    rows = [[panel.changes.topLevelItem(i).text(c) for c in range(4)] for i in range(panel.changes.topLevelItemCount())]
    assert rows == [["changed", "fc2", "Linear", "out_features: 64 → 32; weight: 64×64 → 32×64; bias: 64 → 32"],
                    ["changed", "fc3", "Linear", "out_features: 2 → 16; weight: 2×64 → 16×32; bias: 2 → 16"],
                    ["added", "relu3", "ReLU", ""], ["added", "fc4", "Linear", ""]]
    # (b) the settings diff
    table = panel.settings_table
    assert table.table.rowCount() == 1
    assert [table.table.item(0, c).text() for c in range(4)] == ["Learning rate", "optimizer.lr", "0.01", "0.02"]
    assert table.table.horizontalHeaderItem(2).text() == "run-1"
    table.only_differences.click()
    assert table.table.rowCount() > 30  # every setting, the equal ones too
    table.only_differences.click()
    # (c) the curves, one per run and split, three epochs each
    curves = panel.curves
    for run in (0, 1):
        for split in ("train", "val"):
            assert len(curves.curves[("loss", split, run)].getData()[0]) == 3
    assert curves.metric_name == "accuracy"
    val_b = curves.curves[("loss", "val", 1)].getData()[1]
    assert list(val_b) == [e["val"]["loss"] for e in records[1].epochs]

    float_large(panel, qtbot)
    panel.grab().save(str(screenshots / "run_diff_mlp_architecture.png"))
    panel.tabs.setCurrentIndex(1)
    panel.grab().save(str(screenshots / "run_diff_mlp_settings.png"))
    panel.tabs.setCurrentIndex(2)
    qtbot.wait(50)
    panel.grab().save(str(screenshots / "run_diff_mlp_curves.png"))
    panel.tabs.setCurrentIndex(0)

    # a smaller network after a bigger one: the layers it lost are ringed as removed on the before side
    click_runs(qtbot, runs, ["run-3", "run-2"])
    qtbot.waitUntil(lambda: panel.pair == ("run-2", "run-3"))
    removed = {"relu2": REMOVED, "fc3": REMOVED, "relu3": REMOVED, "fc4": REMOVED}
    assert halo_statuses(panel.before) == {"fc1": CHANGED, "fc2": CHANGED, **removed}
    assert halo_statuses(panel.after) == {"fc1": CHANGED, "fc2": CHANGED}
    assert panel.before.halos["fc4"].color == STATUS_COLORS[REMOVED]
    panel.grab().save(str(screenshots / "run_diff_mlp_removed.png"))

    # one run selected: back to the hint
    click_runs(qtbot, runs, ["run-1"])
    assert panel.stack.currentIndex() == 0


def test_resnet18_against_resnet34_rings_the_stages_that_gained_blocks(window, qtbot, screenshots):
    before = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    after = resnet34_network(num_classes=10, input_shape=(3, 32, 32))
    records = [RunRecord("run-1", started="2026-01-01T10:00:00+00:00", status="completed",
                         settings={"optimizer": {"lr": 0.001}}, network=document_to_data(before.doc)),
               RunRecord("run-2", started="2026-01-01T11:00:00+00:00", status="completed",
                         settings={"optimizer": {"lr": 0.001}}, network=document_to_data(after.doc))]
    open_with_runs(window, qtbot, before.doc, records)
    panel = window.training.panels["run_diff"]
    click_runs(qtbot, window.training.panels["runs"], ["run-1", "run-2"])
    qtbot.waitUntil(lambda: panel.stack.currentIndex() == 1)
    assert panel.summary.text() == "run-1 → run-2: 8 blocks added · same settings"
    stages = {f"layer{i}": INSIDE for i in range(1, 5)}
    assert halo_statuses(panel.after) == halo_statuses(panel.before) == stages
    assert panel.after.halos["layer3"].text == "+4"  # four blocks added inside
    listed = [panel.changes.topLevelItem(i).text(1) for i in range(panel.changes.topLevelItemCount())]
    assert {panel.changes.topLevelItem(i).text(3) for i in range(8)} == {"7 layers inside"}
    assert listed == ["layer1 ▸ 2", "layer2 ▸ 2", "layer2 ▸ 3", "layer3 ▸ 2", "layer3 ▸ 3", "layer3 ▸ 4",
                      "layer3 ▸ 5", "layer4 ▸ 2"]
    float_large(panel, qtbot)
    panel.changes.itemClicked.emit(panel.changes.topLevelItem(3), 0)  # centres both canvases on layer3
    assert panel.after.scene.selected_node_ids() == ["layer3"]
    panel.grab().save(str(screenshots / "run_diff_resnet18_resnet34.png"))
    # the wheel on one side zooms both alike (each had fitted its own network)
    view = panel.before.view
    wheel(view, view.viewport().rect().center(), 120)
    assert panel.before.view.zoom() > 0 and panel.after.view.zoom() == pytest.approx(panel.before.view.zoom())
    wheel(panel.after.view, panel.after.view.viewport().rect().center(), -240)
    assert panel.before.view.zoom() == pytest.approx(panel.after.view.zoom())


def test_a_block_double_clicked_opens_on_both_sides_with_the_changes_inside(window, qtbot, screenshots):
    before = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    after = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    after.doc.set_param("layer4", "channels", 256)
    records = [RunRecord(f"run-{i}", started=f"2026-01-01T1{i}:00:00+00:00", status="completed",
                         network=document_to_data(net.doc)) for i, net in ((1, before), (2, after))]
    open_with_runs(window, qtbot, before.doc, records)
    panel = window.training.panels["run_diff"]
    click_runs(qtbot, window.training.panels["runs"], ["run-1", "run-2"])
    qtbot.waitUntil(lambda: panel.stack.currentIndex() == 1)
    float_large(panel, qtbot)
    assert halo_statuses(panel.after) == {"layer4": CHANGED}
    view = panel.after.view
    item = panel.after.scene.nodes["layer4"]
    view.center_on_node("layer4")
    QApplication.processEvents()
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(item.sceneBoundingRect().center()))
    assert panel.after.block_path == panel.before.block_path == ["layer4"]  # the other side follows
    inside = {"conv1": CHANGED, "conv2": CHANGED, "downsample": CHANGED}
    assert halo_statuses(panel.after) == halo_statuses(panel.before) == inside
    assert "layer4 ▸ 1 ▸ conv1: out_channels: 512 → 256" in panel.after.halos["conv1"].toolTip()  # every copy
    assert view.breadcrumb.isVisible()
    panel.grab().save(str(screenshots / "run_diff_inside_block.png"))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert panel.after.block_path == panel.before.block_path == []
    assert halo_statuses(panel.after) == {"layer4": CHANGED}
