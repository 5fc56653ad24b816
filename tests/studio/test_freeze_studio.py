"""Freezing in the studio: the inspector's Frozen box sets the document's flag in one undo step and
the canvas draws a lock badge on the node (and on a block), which undo takes away again."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from studio_gestures import node_id, node_pos, open_project
from studio_networks import lenet5

from studio.editor.canvas.overview import LOCK_MAX_RADIUS


def _select(window, qtbot, name: str) -> None:
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, name))
    assert window.inspector.node_id == node_id(window, name)


def _click_box(qtbot, box) -> None:
    box.ensurePolished()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def _badge_pixel(window, item) -> QColor:
    """The colour drawn at the centre of the node's lock badge, read from the view's pixels."""
    window.view.viewport().repaint()
    image: QImage = window.view.viewport().grab().toImage()
    centre = window.view.mapFromScene(item.mapToScene(QPointF(item.lock_badge.pos()) + QPointF(0, 6)))
    return image.pixelColor(centre)  # the badge's fill, just under the padlock


def test_the_inspector_freezes_a_node_in_one_undo_step_and_the_canvas_shows_a_lock(window, qtbot, screenshots):
    open_project(window, lenet5())
    _select(window, qtbot, "conv1")
    box = window.inspector.frozen_box
    assert box is not None and box.isVisible() and not box.isChecked()
    conv1 = node_id(window, "conv1")
    item = window.scene.nodes[conv1]
    background = _badge_pixel(window, item)

    _click_box(qtbot, box)
    doc = window.controller.doc
    assert doc.node(conv1).frozen and box.isChecked()
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Freeze conv1"
    assert item.lock_badge.isVisible()
    drawn = _badge_pixel(window, item)
    selection = QColor(window.scene.colors.selection)
    assert drawn != background
    assert abs(drawn.red() - selection.red()) + abs(drawn.green() - selection.green()) + abs(
        drawn.blue() - selection.blue()) < 30, (drawn.name(), selection.name())
    window.grab().save(str(screenshots / "freeze_conv1.png"))

    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not doc.node(conv1).frozen and not box.isChecked() and not item.lock_badge.isVisible()
    assert _badge_pixel(window, item) == background
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.node(conv1).frozen and item.lock_badge.isVisible()


def _overview_lock_pixel(window, item) -> QColor:
    """The colour of the lock the zoomed-out overview draws over the box's corner (under the padlock)."""
    window.view.viewport().repaint()
    image: QImage = window.view.viewport().grab().toImage()
    corner = window.view.mapFromScene(item.scenePos())
    radius = min(LOCK_MAX_RADIUS, item.size()[1] * window.view.zoom() / 3)
    return image.pixelColor(corner + QPoint(round(radius), round(-radius - 1 + radius * 0.7)))


def test_a_block_freezes_and_its_lock_shows_in_the_zoomed_out_network(window, qtbot, screenshots):
    assert window.open_example("resnet18")
    window.controller.flush_analysis()
    window.view.fit_to_view()
    assert window.scene.overview_mode  # ResNet-18 fitted: the overview draws the boxes
    layer3 = window.scene.nodes[node_id(window, "layer3")]
    before = _overview_lock_pixel(window, layer3)
    for name in ("conv1", "bn1", "layer1", "layer2", "layer3"):
        _select(window, qtbot, name)
        _click_box(qtbot, window.inspector.frozen_box)
    doc = window.controller.doc
    assert [n.name for n in doc.nodes.values() if n.frozen] == ["conv1", "bn1", "layer1", "layer2", "layer3"]
    assert window.controller.undo_stack.count() == 5
    assert layer3.frozen and not window.scene.nodes[node_id(window, "layer4")].frozen
    window.scene.clearSelection()
    selection = QColor(window.scene.colors.selection)
    assert before != selection and _overview_lock_pixel(window, layer3) == selection
    window.grab().save(str(screenshots / "freeze_resnet18_features.png"))


def test_a_node_inside_an_open_block_freezes_in_the_definition(window, qtbot):
    assert window.open_example("resnet18")
    window.controller.flush_analysis()
    window.view.fit_to_view()
    layer1 = node_id(window, "layer1")
    view, scene = window.view, window.scene
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(scene.nodes[layer1].sceneBoundingRect().center()))
    assert window.controller.block_path == [layer1]
    window.controller.flush_analysis()
    view.fit_to_view()
    window.scene.select_nodes([node_id(window, "conv1")])
    assert window.inspector.node_id == node_id(window, "conv1")
    _click_box(qtbot, window.inspector.frozen_box)
    definition = window.controller.network.library.get(window.controller.network.node(layer1).type_id)
    assert definition.body.node(node_id(window, "conv1")).frozen
    assert window.scene.nodes[node_id(window, "conv1")].frozen
    window.controller.undo_stack.undo()
    assert not definition.body.node(node_id(window, "conv1")).frozen


def test_inside_a_frozen_block_every_node_shows_a_lock_and_cannot_be_thawed_alone(window, qtbot, screenshots):
    assert window.open_example("resnet18")
    window.controller.flush_analysis()
    layer1 = node_id(window, "layer1")
    window.controller.set_frozen(layer1, True)
    window.controller.open_block(layer1)
    window.controller.flush_analysis()
    layers = [i for n, i in window.scene.nodes.items() if not window.controller.doc.spec(n).is_input
              and not window.controller.doc.spec(n).is_output]
    assert layers and all(item.frozen and item.lock_badge.isVisible() for item in layers)
    assert "Frozen with its block 'layer1'" in layers[0].lock_badge.toolTip()
    window.scene.select_nodes([layers[0].node_id])
    box = window.inspector.frozen_box
    assert box.isChecked() and not box.isEnabled()
    assert not window.controller.doc.node(layers[0].node_id).frozen  # the flag is the block's, not the node's
    window.grab().save(str(screenshots / "freeze_inside_frozen_layer1.png"))
