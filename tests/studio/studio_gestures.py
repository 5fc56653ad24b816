"""Gesture helpers for studio tests: drive the real widgets the way a person does."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt

from studio.main_window import MainWindow


def open_project(window: MainWindow, project) -> None:
    window.open_project(project)
    window.controller.flush_analysis()


def view_pos(window: MainWindow, scene_point) -> QPoint:
    """The viewport position of a scene point."""
    return window.view.mapFromScene(scene_point)


def drag(qtbot, widget, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton,
         modifier=Qt.KeyboardModifier.NoModifier, steps: int = 4) -> None:
    """Press at `start`, move in a few steps to `end`, release: a person's drag."""
    qtbot.mousePress(widget, button, modifier, start)
    for i in range(1, steps + 1):
        point = start + (end - start) * i / steps
        qtbot.mouseMove(widget, point)
    qtbot.mouseRelease(widget, button, modifier, end)


def port_pos(window: MainWindow, node_name: str, port: str, is_input: bool) -> QPoint:
    """The viewport position of a node's port."""
    scene = window.scene
    node = window.controller.doc.node_by_name(node_name)
    item = scene.nodes[node.id]
    ports = item.in_ports if is_input else item.out_ports
    return view_pos(window, ports[port].anchor())


def node_pos(window: MainWindow, node_name: str, dx: float = 40, dy: float = 40) -> QPoint:
    """A viewport point inside a node's body (away from its ports)."""
    node = window.controller.doc.node_by_name(node_name)
    item = window.scene.nodes[node.id]
    return view_pos(window, item.scenePos() + QPointF(dx, dy))


def node_id(window: MainWindow, name: str) -> str:
    return window.controller.doc.node_by_name(name).id


def names_of_edges(window: MainWindow) -> list[tuple[str, str]]:
    nodes = window.controller.doc.nodes
    return [(nodes[e.source].name, nodes[e.target].name) for e in window.controller.doc.edges]
