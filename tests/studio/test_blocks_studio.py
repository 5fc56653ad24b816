"""Blocks in the studio, driven like a person: select and Ctrl+G, double-click to open, the breadcrumb,
Ctrl+Shift+G, Make Unique, repeat in the inspector, the palette's Blocks section, block files.

Every operation is one undo step, and undoing it gives back exactly the saved form the network had.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt
from studio_gestures import node_id, node_pos, open_project
from studio_networks import lenet5, small_net
from test_palette_and_quick_add import drop

from engine.graph.block_file import read_block_file
from engine.graph.serialize import document_to_data
from studio.editor.canvas.block_item import BlockNodeItem

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def saved(window) -> str:
    return json.dumps(document_to_data(window.controller.network), sort_keys=True)


def click(window, qtbot, name: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, modifier, node_pos(window, name))


def select_names(window, qtbot, *names: str) -> None:
    click(window, qtbot, names[0])
    for name in names[1:]:
        click(window, qtbot, name, CTRL)
    assert set(window.scene.selected_node_ids()) == {node_id(window, n) for n in names}


def key(window, qtbot, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.view.setFocus()
    qtbot.keyClick(window.view, k, modifier)


def group_conv1_block(window, qtbot) -> str:
    """Select conv1, relu1, pool1 with the mouse and press Ctrl+G; returns the new instance's id."""
    select_names(window, qtbot, "conv1", "relu1", "pool1")
    key(window, qtbot, Qt.Key.Key_G, CTRL)
    [instance] = window.scene.selected_node_ids()
    return instance


def double_click(window, qtbot, instance: str) -> None:
    item = window.scene.nodes[instance]
    point = window.view.mapFromScene(item.scenePos() + item.boundingRect().center() * 0.5)
    qtbot.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_ctrl_g_groups_the_selection_into_one_block_and_undo_restores_exactly(window, qtbot):
    open_project(window, lenet5())
    before = saved(window)
    instance = group_conv1_block(window, qtbot)
    doc = window.controller.doc
    assert doc.is_block(instance) and isinstance(window.scene.nodes[instance], BlockNodeItem)
    assert not {"conv1", "relu1", "pool1"} & {n.name for n in doc.nodes.values()}
    body = doc.definition_of(instance).body
    assert {"conv1", "relu1", "pool1"} <= {n.name for n in body.nodes.values()}
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText().startswith("Group 3 nodes into")
    window.controller.flush_analysis()
    assert window.controller.analysis.ok  # the block still carries the image through: same network
    assert window.scene.nodes[instance].output_label == "N×6×14×14"
    key(window, qtbot, Qt.Key.Key_Z, CTRL)
    assert saved(window) == before
    assert {"conv1", "relu1", "pool1"} <= {n.name for n in window.controller.doc.nodes.values()}
    key(window, qtbot, Qt.Key.Key_Z, CTRL_SHIFT)
    assert window.controller.doc.is_block(instance)


def test_double_click_opens_a_block_in_place_and_the_breadcrumb_goes_back(window, qtbot):
    open_project(window, lenet5())
    instance = group_conv1_block(window, qtbot)
    window.controller.flush_analysis()
    double_click(window, qtbot, instance)
    controller = window.controller
    assert controller.block_path == [instance]
    assert {"conv1", "relu1", "pool1", "x", "y"} <= {i.name for i in window.scene.nodes.values()}
    bar = window.view.breadcrumb
    assert bar.isVisible() and bar.labels == [controller.project.name, controller.network.nodes[instance].name]
    # Inside, shapes are the instance's: conv1 sees the 1×28×28 image that feeds the block.
    conv1 = window.scene.nodes[controller.doc.node_by_name("conv1").id]
    assert conv1.output_label == "N×6×28×28"
    # Edit inside: the instance outside follows.
    click(window, qtbot, "conv1")
    spin = window.inspector.editors["out_channels"].field
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(spin, "8")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    controller.flush_analysis()
    assert conv1.output_label == "N×8×28×28"
    qtbot.mouseClick(bar.buttons[0], Qt.MouseButton.LeftButton)  # "lenet5": back to the network
    assert controller.block_path == [] and not bar.isVisible()
    controller.flush_analysis()
    assert window.scene.nodes[instance].output_label == "N×8×14×14"
    # conv2 now gets 8 channels: its parameter count follows the edit inside the block.
    assert controller.analysis.nodes[node_id(window, "conv2")].param_count == 16 * 8 * 25 + 16
    # Escape also goes back up.
    double_click(window, qtbot, instance)
    assert controller.block_path == [instance]
    key(window, qtbot, Qt.Key.Key_Escape)
    assert controller.block_path == []


def test_every_instance_follows_an_edit_of_the_definition_and_make_unique_detaches_one(window, qtbot):
    open_project(window, lenet5())
    first = group_conv1_block(window, qtbot)
    block = window.controller.doc.nodes[first].type_id
    second = window.view.add_block_at("project", block, window.view.mapToScene(QPoint(300, 420)))
    controller = window.controller
    assert controller.doc.nodes[second].type_id == block
    double_click(window, qtbot, first)
    conv1 = controller.doc.node_by_name("conv1").id
    controller.set_param(conv1, "kernel_size", 3)
    key(window, qtbot, Qt.Key.Key_Up, CTRL)
    assert controller.block_path == []
    doc = controller.doc
    assert doc.definition_of(first) is doc.definition_of(second)
    assert doc.definition_of(second).body.nodes[conv1].params["kernel_size"] == 3
    controller.flush_analysis()  # conv1 now 3x3 with padding 2: 30x30, pooled to 15x15, in both instances
    assert window.scene.nodes[first].output_label == "N×6×15×15"
    assert controller.analysis.nodes[second].inputs == ()  # the second is not wired: its shape is unknown
    controller.connect(node_id(window, "image"), "out", second, doc.spec(second).inputs[0].name)
    controller.flush_analysis()
    assert window.scene.nodes[second].output_label == "N×6×15×15"
    before = saved(window)
    click(window, qtbot, doc.nodes[second].name)
    window.make_unique_selection()
    assert doc.nodes[second].type_id != block and len(doc.library) == 2
    assert controller.undo_stack.undoText().startswith("Make")
    controller.go_up(0)
    double_click(window, qtbot, second)
    controller.set_param(conv1, "kernel_size", 7)  # only the detached copy changes
    controller.go_up()
    assert doc.definition_of(first).body.nodes[conv1].params["kernel_size"] == 3
    controller.undo_stack.undo()
    controller.undo_stack.undo()
    assert saved(window) == before


def test_ctrl_shift_g_ungroups_and_undo_brings_the_block_back(window, qtbot):
    open_project(window, lenet5())
    instance = group_conv1_block(window, qtbot)
    grouped = saved(window)
    key(window, qtbot, Qt.Key.Key_G, CTRL_SHIFT)
    doc = window.controller.doc
    assert instance not in doc.nodes and {"conv1", "relu1", "pool1"} <= {n.name for n in doc.nodes.values()}
    assert window.controller.undo_stack.undoText().startswith("Ungroup")
    key(window, qtbot, Qt.Key.Key_Z, CTRL)
    assert saved(window) == grouped and isinstance(window.scene.nodes[instance], BlockNodeItem)


def test_repeat_and_block_parameters_are_set_in_the_inspector(window, qtbot):
    open_project(window, lenet5())
    instance = group_conv1_block(window, qtbot)
    before = saved(window)
    click(window, qtbot, window.controller.doc.nodes[instance].name)
    editors = window.inspector.editors
    assert "repeat" in editors
    spin = editors["repeat"].field
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(spin, "3")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    doc = window.controller.doc
    assert doc.nodes[instance].params["repeat"] == 3
    item = window.scene.nodes[instance]
    assert item.cards() == 2 and item.texts()[0].endswith("×3")
    window.controller.undo_stack.undo()
    assert saved(window) == before and not window.scene.nodes[instance].texts()[0].endswith("×3")


def test_the_palette_blocks_section_places_bundled_and_own_blocks(window, qtbot):
    open_project(window, lenet5())
    palette = window.palette
    entries = palette.block_entries()
    bundled = {name for source, name in entries if source == "bundled"}
    assert {"ConvBnRelu", "BasicBlock", "Bottleneck", "InvertedResidual", "SqueezeExcite",
            "TransformerEncoderBlock"} <= bundled
    before = saved(window)
    mime = palette.tree.mimeData([entries[("bundled", "SqueezeExcite")]])  # what the palette's drag carries
    event = drop(window.view, mime, QPoint(420, 480))
    assert event.isAccepted()
    doc = window.controller.doc
    [placed] = window.scene.selected_node_ids()
    assert doc.nodes[placed].type_id == "SqueezeExcite" and "SqueezeExcite" in doc.library
    assert window.controller.undo_stack.count() == 1  # the definition and the instance: one step
    # The project now has the block: the palette lists it as the project's own.
    assert ("project", "SqueezeExcite") in palette.block_entries()
    window.controller.undo_stack.undo()
    assert saved(window) == before and ("project", "SqueezeExcite") not in palette.block_entries()


def test_a_block_saved_to_a_file_loads_into_another_project(window, qtbot, tmp_path):
    open_project(window, lenet5())
    instance = group_conv1_block(window, qtbot)
    name = window.controller.doc.nodes[instance].type_id
    written = window.save_block_dialog(tmp_path / "stem")
    assert written.name == "stem.loomblock" and [r["name"] for r in read_block_file(written)] == [name]
    open_project(window, small_net())  # another project
    assert name not in window.controller.network.library
    assert window.load_block_dialog(written) == name
    assert ("project", name) in window.palette.block_entries()
    window.palette.block_activated.emit("project", name)  # double-click on the entry
    assert any(n.type_id == name for n in window.controller.doc.nodes.values())
    window.controller.undo_stack.undo()
    window.controller.undo_stack.undo()
    assert name not in window.controller.network.library


def test_a_problem_inside_a_block_shows_a_count_badge_on_the_block(window, qtbot):
    open_project(window, lenet5())
    instance = group_conv1_block(window, qtbot)
    controller = window.controller
    double_click(window, qtbot, instance)
    body = controller.doc
    relu1 = body.node_by_name("relu1").id
    pool1 = body.node_by_name("pool1").id
    edge = body.edges_into(pool1)[0]
    controller.disconnect(edge)  # pool1 loses its input inside the block
    controller.go_up()
    controller.flush_analysis()
    item = window.scene.nodes[instance]
    inside = [p for p in controller.analysis.problems if p.node_id == instance]
    assert inside and item.badge.isVisible() and item.badge.label == str(len(inside))
    assert any(relu1 in p.path or pool1 in p.path for p in inside)


def test_inside_a_block_the_values_its_parameters_set_are_shown_and_edited_outside(window, qtbot):
    window.open_example("resnet18")
    controller = window.controller
    controller.flush_analysis()
    layer2 = node_id(window, "layer2")
    double_click(window, qtbot, layer2)
    assert controller.block_path == [layer2]
    conv1 = controller.doc.node_by_name("conv1").id
    item = window.scene.nodes[conv1]
    assert item.bound["out_channels"] == 128 and "128" in item.texts()  # layer2's channels, not the body's 64
    assert item.output_label == "N×128×4×4"
    window.scene.select_nodes([conv1])
    editor = window.inspector.editors["out_channels"]
    assert not editor.isEnabled() and "channels of layer2" in editor.toolTip()
    controller.go_up()
    click(window, qtbot, "layer2")
    spin = window.inspector.editors["channels"].field
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(spin, "96")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    double_click(window, qtbot, layer2)
    assert window.scene.nodes[conv1].bound["out_channels"] == 96
