"""Wires drawn, refused, re-routed and deleted with the mouse and keyboard on the real canvas."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from studio_gestures import drag, names_of_edges, node_id, open_project, port_pos
from studio_networks import small_net

from engine.graph.document import Edge
from studio.editor.canvas.edge_item import EdgeItem, WirePreview
from studio.editor.canvas.port_item import INVALID, VALID


def test_drag_from_output_to_input_makes_one_undoable_wire(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    drag(qtbot, viewport, port_pos(window, "relu1", "out", False), port_pos(window, "fc2", "in", True))
    doc = window.controller.doc
    assert ("relu1", "fc2") in names_of_edges(window)
    edge = Edge(node_id(window, "relu1"), "out", node_id(window, "fc2"), "in")
    assert isinstance(window.scene.edges[edge], EdgeItem)
    assert window.controller.undo_stack.undoText() == "Connect relu1 → fc2"
    assert not [i for i in window.scene.items() if isinstance(i, WirePreview)]
    window.controller.undo_stack.undo()
    assert edge not in doc.edges and edge not in window.scene.edges


def test_wire_label_shows_the_tensor_shape(window, qtbot):
    open_project(window, small_net())
    edge = window.controller.doc.edges[0]  # x -> fc1
    assert window.scene.edges[edge].label == "N×8" and window.scene.edges[edge].label_shown()
    qtbot.waitUntil(lambda: window.scene.edges[window.controller.doc.edges[1]].label == "N×16")


def test_hovering_a_refused_port_rings_it_red_and_says_why(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    start = port_pos(window, "fc2", "out", False)
    target = port_pos(window, "fc1", "in", True)  # already fed by x
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(30, 0))
    qtbot.mouseMove(viewport, target)
    port = window.scene.nodes[node_id(window, "fc1")].in_ports["in"]
    assert port.highlight == INVALID
    assert "already fed by 'x'" in window.statusBar().currentMessage()
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=target)
    assert ("fc2", "fc1") not in names_of_edges(window)
    assert window.controller.undo_stack.count() == 0
    assert port.highlight == 0


def test_hovering_an_accepting_port_rings_it_green(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    start = port_pos(window, "fc2", "out", False)
    target = port_pos(window, "cat", "in", True)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(30, 10))
    qtbot.mouseMove(viewport, target)
    assert window.scene.nodes[node_id(window, "cat")].in_ports["in"].highlight == VALID
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=target)
    assert ("fc2", "cat") in names_of_edges(window)


def test_a_cycle_is_refused(window, qtbot):
    open_project(window, small_net())
    drag(qtbot, window.view.viewport(), port_pos(window, "relu1", "out", False), port_pos(window, "fc1", "in", True))
    assert ("relu1", "fc1") not in names_of_edges(window)
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot connect") and ("cycle" in message or "already fed" in message)


def test_dragging_a_wire_end_to_another_input_reroutes_it_in_one_step(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    drag(qtbot, viewport, port_pos(window, "relu1", "in", True), port_pos(window, "cat", "in", True))
    edges = names_of_edges(window)
    assert ("fc1", "cat") in edges and ("fc1", "relu1") not in edges
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Reconnect fc1 → relu1 to cat"
    stack.undo()
    assert ("fc1", "relu1") in names_of_edges(window) and ("fc1", "cat") not in names_of_edges(window)


def test_dragging_a_wire_end_into_empty_canvas_deletes_it(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    start = port_pos(window, "out", "in", True)
    drag(qtbot, viewport, start, start + QPoint(0, 150))
    assert ("relu1", "out") not in names_of_edges(window)
    assert window.controller.undo_stack.undoText() == "Disconnect relu1 → out"


def test_select_a_wire_and_press_delete(window, qtbot):
    open_project(window, small_net())
    doc = window.controller.doc
    edge = doc.edges[1]  # fc1 -> relu1
    item = window.scene.edges[edge]
    point = window.view.mapFromScene(item.path().pointAtPercent(0.25))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert item.isSelected()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert edge not in doc.edges
    assert window.controller.undo_stack.undoText() == "Delete wire fc1 → relu1"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.edges[1] == edge


def test_drop_on_node_body_picks_its_input(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    start = port_pos(window, "fc2", "out", False)
    body = window.view.mapFromScene(window.scene.nodes[node_id(window, "cat")].sceneBoundingRect().center())
    drag(qtbot, viewport, start, body)
    assert ("fc2", "cat") in names_of_edges(window)


def test_multi_input_order_is_restored_exactly_by_undo_redo(window, qtbot):
    open_project(window, small_net())
    viewport = window.view.viewport()
    for source in ("fc2", "relu1"):
        drag(qtbot, viewport, port_pos(window, source, "out", False), port_pos(window, "cat", "in", True))
    doc = window.controller.doc
    cat = node_id(window, "cat")
    order = [e.source for e in doc.edges_into(cat)]
    assert order == [node_id(window, "fc2"), node_id(window, "relu1")]
    before = list(doc.edges)
    window.scene.select_nodes([node_id(window, "fc2")])
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert len(doc.edges) == len(before) - 1
    window.controller.undo_stack.undo()
    assert doc.edges == before
    window.controller.undo_stack.redo()
    window.controller.undo_stack.undo()
    assert doc.edges == before
