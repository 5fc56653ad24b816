"""The palette lists the whole catalog; dropping an entry or quick-adding puts a node where asked."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from studio_gestures import open_project
from studio_networks import small_net

from engine.layers.registry import default_registry
from studio.editor.canvas.node_item import HEADER_H


def drop(view, mime: QMimeData, pos: QPoint) -> QDropEvent:
    """Enter, move over and drop on the canvas, as a drag from the palette does."""
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(view.viewport(), enter)
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(pos, *args))
    event = QDropEvent(QPointF(pos), *args)
    QApplication.sendEvent(view.viewport(), event)
    return event


def test_palette_lists_every_layer_grouped_by_category_with_icons(window):
    palette = window.palette
    registry = default_registry()
    assert set(palette.entries()) == {spec.type_id for spec in registry}
    groups = [palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())]
    assert [g.text(0) for g in groups] == list(registry.categories())
    assert all(not g.icon(0).isNull() for g in groups)
    conv = palette.entries()["Conv2d"]
    assert conv.parent().text(0) == "Convolution" and "filters" in conv.toolTip(0)


def test_palette_search_filters_by_name(window, qtbot):
    palette = window.palette
    qtbot.keyClicks(palette.search, "conv")
    assert set(palette.visible_types()) == {"Conv1d", "Conv2d", "ConvTranspose2d"}
    palette.search.clear()
    qtbot.keyClicks(palette.search, "norm batch")
    assert set(palette.visible_types()) == {"BatchNorm1d", "BatchNorm2d"}
    palette.search.clear()
    assert len(palette.visible_types()) == len(default_registry())


def test_dropping_a_palette_entry_adds_the_node_where_it_was_dropped(window):
    open_project(window, small_net())
    palette = window.palette
    item = palette.entries()["Conv2d"]
    mime = palette.tree.mimeData([item])  # exactly what the palette's drag carries
    pos = QPoint(400, 500)
    event = drop(window.view, mime, pos)
    assert event.isAccepted()
    doc = window.controller.doc
    node = list(doc.nodes.values())[-1]
    assert node.type_id == "Conv2d"
    target = window.view.mapToScene(pos)
    assert abs(node.position[0] - (target.x() - 20)) <= 10
    assert abs(node.position[1] - (target.y() - HEADER_H / 2)) <= 10
    assert window.scene.selected_node_ids() == [node.id]
    assert window.controller.undo_stack.undoText() == f"Add Conv2d '{node.name}'"


def test_drop_of_foreign_data_is_ignored(window):
    open_project(window, small_net())
    mime = QMimeData()
    mime.setText("hello")
    count = len(window.controller.doc.nodes)
    drop(window.view, mime, QPoint(300, 300))
    assert len(window.controller.doc.nodes) == count


def test_double_click_on_a_palette_entry_adds_at_the_view_centre(window, qtbot):
    open_project(window, small_net())
    palette = window.palette
    item = palette.entries()["Dropout"]
    rect = palette.tree.visualItemRect(item)
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    node = list(window.controller.doc.nodes.values())[-1]
    assert node.type_id == "Dropout" and len(window.controller.doc.nodes) == 7
    centre = window.view.center()
    assert abs(node.position[0] + 20 - centre.x()) <= 10


def test_double_click_on_empty_canvas_opens_quick_add_at_the_cursor(window, qtbot):
    open_project(window, small_net())
    view = window.view
    pos = view.mapFromScene(QPointF(100, 600))
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    popup = view.quick_add
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "maxpool")
    assert popup.visible_types() == ["MaxPool2d"]
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    node = list(window.controller.doc.nodes.values())[-1]
    assert node.type_id == "MaxPool2d"
    assert abs(node.position[0] - 80) <= 10 and abs(node.position[1] - (600 - HEADER_H / 2)) <= 10


def test_tab_and_ctrl_space_open_quick_add_and_arrows_choose(window, qtbot):
    open_project(window, small_net())
    view = window.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    popup = view.quick_add
    assert popup.isVisible()
    qtbot.keyClicks(popup.search, "relu")
    assert popup.visible_types() == ["ReLU", "ReLU6", "LeakyReLU", "PReLU"]
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert list(window.controller.doc.nodes.values())[-1].type_id == "LeakyReLU"
    qtbot.keyClick(window, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert popup.isVisible()
    qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible()
