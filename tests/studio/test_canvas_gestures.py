"""Moving, selecting, zooming and panning on the canvas, and what the node items show."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from studio_gestures import drag, node_id, node_pos, open_project
from studio_networks import lenet5, mlp_with_missing_flatten, small_net

from studio.editor.canvas.node_item import NodeItem


def wheel(view, pos: QPoint, delta: int) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), event)


def test_node_shows_name_type_key_params_shape_and_param_count(window):
    open_project(window, lenet5())
    item = window.scene.nodes[node_id(window, "conv1")]
    texts = item.texts()
    assert texts[:2] == ["conv1", "Conv2d"]
    assert {"out_channels", "6", "kernel_size", "5"} <= set(texts)
    assert "N×6×28×28" in texts and "156 params" in texts
    assert set(item.in_ports) == {"in"} and set(item.out_ports) == {"out"}


def test_dragging_a_node_is_one_move_step_snapped_to_the_grid(window, qtbot):
    open_project(window, small_net())
    item = window.scene.nodes[node_id(window, "fc2")]
    start = node_pos(window, "fc2")
    drag(qtbot, window.view.viewport(), start, start + QPoint(67, 33), steps=6)
    doc_pos = window.controller.doc.nodes[item.node_id].position
    assert doc_pos != (260.0, 240.0)
    assert doc_pos[0] % 20 == 0 and doc_pos[1] % 20 == 0
    assert (item.x(), item.y()) == doc_pos
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Move fc2"
    stack.undo()
    assert window.controller.doc.nodes[item.node_id].position == (260.0, 240.0)
    assert (item.x(), item.y()) == (260.0, 240.0)


def test_wires_follow_a_moving_node(window, qtbot):
    open_project(window, small_net())
    edge = window.controller.doc.edges[0]
    wire = window.scene.edges[edge]
    before = wire.path().pointAtPercent(1.0)
    start = node_pos(window, "fc1")
    drag(qtbot, window.view.viewport(), start, start + QPoint(0, 80))
    assert wire.path().pointAtPercent(1.0) != before


def test_rubber_band_then_ctrl_and_shift_clicks(window, qtbot):
    open_project(window, small_net())
    scene, view = window.scene, window.view
    top_left = view.mapFromScene(QPointF(-30, -30))
    bottom_right = view.mapFromScene(QPointF(500, 150))
    drag(qtbot, view.viewport(), top_left, bottom_right)
    assert set(scene.selected_node_ids()) == {node_id(window, n) for n in ("x", "fc1")}
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     node_pos(window, "fc2"))
    assert node_id(window, "fc2") in scene.selected_node_ids() and len(scene.selected_node_ids()) == 3
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     node_pos(window, "x"))
    assert node_id(window, "x") not in scene.selected_node_ids()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, "cat"))
    assert scene.selected_node_ids() == [node_id(window, "cat")]


def test_wheel_zooms_around_the_cursor(window):
    open_project(window, small_net())
    view = window.view
    view.set_zoom(1.0)
    anchor = node_pos(window, "relu1")
    under = view.mapToScene(anchor)
    wheel(view, anchor, 240)
    assert view.zoom() > 1.3
    after = view.mapToScene(anchor)
    assert abs(after.x() - under.x()) < 2 and abs(after.y() - under.y()) < 2
    wheel(view, anchor, -480)
    assert view.zoom() < 1.0


def test_middle_drag_and_space_drag_pan(window, qtbot):
    open_project(window, small_net())
    view = window.view
    centre = view.center()
    start = QPoint(300, 300)
    drag(qtbot, view.viewport(), start, start + QPoint(100, 50), button=Qt.MouseButton.MiddleButton)
    moved = view.center()
    assert abs((centre.x() - moved.x()) - 100 / view.zoom()) < 3
    view.setFocus()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    drag(qtbot, view.viewport(), start, start + QPoint(-60, 0))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert view.center().x() > moved.x() + 40 / view.zoom()
    assert not window.scene.selected_node_ids() and window.controller.undo_stack.count() == 0


def test_fit_to_view_shows_every_node(window, qtbot):
    open_project(window, lenet5())
    window.view.set_zoom(3.0)
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    for item in window.scene.nodes.values():
        assert visible.contains(item.sceneBoundingRect())


def test_zoom_shortcuts(window, qtbot):
    open_project(window, small_net())
    window.view.set_zoom(1.0)
    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.view.zoom() > 1.1
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.view.zoom() < 1.0
    assert window.zoom_label.text() == f"{round(window.view.zoom() * 100)}%"


def test_minimap_shows_and_moves_the_view(window, qtbot):
    open_project(window, lenet5())
    minimap = window.view.minimap
    assert minimap.isVisible()
    before = window.view.center()
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPoint(minimap.width() - 10, minimap.height() // 2))
    assert window.view.center().x() > before.x()
    window.view.fit_to_view()  # everything in view: nothing to navigate, so no overview over the nodes
    assert not minimap.isVisible()
    window.actions.minimap.setChecked(False)
    window.view.set_zoom(2.0)
    assert not minimap.isVisible()
    window.actions.minimap.setChecked(True)
    assert minimap.isVisible()


def test_error_and_warning_badges_carry_the_messages(window, qtbot):
    open_project(window, mlp_with_missing_flatten())
    fc1 = window.scene.nodes[node_id(window, "fc1")]
    assert fc1.badge.isVisible() and fc1.badge.severity == "error"
    assert "flatten" in fc1.badge.toolTip().lower()
    relu = window.scene.nodes[node_id(window, "relu1")]
    assert not relu.badge.isVisible()
    # A wired ReLU that reaches no Output: a warning badge.
    new_id = window.view.add_layer_at("ReLU", QPointF(300, 400))
    window.controller.connect(node_id(window, "relu1"), "out", new_id, "in")
    window.controller.flush_analysis()
    new = window.scene.nodes[new_id]
    assert new.badge.isVisible() and new.badge.severity == "warning"
    assert "reaches no Output" in new.badge.toolTip()


def test_scene_items_follow_the_document(window):
    open_project(window, small_net())
    doc = window.controller.doc
    assert {i.node_id for i in window.scene.items() if isinstance(i, NodeItem)} == set(doc.nodes)
    assert set(window.scene.edges) == set(doc.edges)
    window.controller.rename(node_id(window, "fc1"), "hidden")
    assert window.scene.nodes[node_id(window, "hidden")].texts()[0] == "hidden"
