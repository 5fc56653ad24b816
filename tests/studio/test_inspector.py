"""The inspector edits the selected node through widgets generated from its parameter schema."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox
from studio_gestures import node_id, node_pos, open_project
from studio_networks import lenet5, small_net


def select(window, qtbot, name: str) -> None:
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, name))
    assert window.inspector.node_id == node_id(window, name)


def retype(qtbot, widget, text: str) -> None:
    """Click into a field, select what is there, type `text` and press Enter."""
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_editors_follow_the_schema(window, qtbot):
    open_project(window, lenet5())
    select(window, qtbot, "conv1")
    editors = window.inspector.editors
    spec = window.controller.doc.spec(node_id(window, "conv1"))
    assert list(editors) == [p.name for p in spec.params]
    out = editors["out_channels"].field
    assert isinstance(out, QSpinBox) and out.value() == 6
    param = spec.param("out_channels")
    assert out.minimum() == param.minimum and out.maximum() == param.maximum
    assert isinstance(editors["bias"].field, QCheckBox)
    assert isinstance(editors["padding_mode"].field, QComboBox)
    assert isinstance(editors["kernel_size"].field, QLineEdit) and editors["kernel_size"].field.text() == "5"
    padding = editors["padding"].field
    assert isinstance(padding, QComboBox) and padding.isEditable()
    inspector = window.inspector
    assert inspector.shape_labels["inputs"].text() == "N×1×28×28"
    assert inspector.shape_labels["output"].text() == "N×6×28×28"
    assert inspector.shape_labels["params"].text() == "156"
    assert inspector.name_edit.text() == "conv1"


def test_typing_in_a_spin_box_is_one_merged_undo_step(window, qtbot):
    open_project(window, small_net())
    select(window, qtbot, "fc1")
    spin = window.inspector.editors["out_features"].field
    retype(qtbot, spin, "128")
    fc1 = node_id(window, "fc1")
    assert window.controller.doc.nodes[fc1].params["out_features"] == 128
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Set fc1.out_features to 128"
    window.controller.flush_analysis()
    assert window.inspector.shape_labels["output"].text() == "N×128"
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.doc.nodes[fc1].params["out_features"] == 16
    assert spin.value() == 16
    retype(qtbot, spin, "32")
    assert stack.count() == 1 and stack.undoText() == "Set fc1.out_features to 32"


def test_float_spin_box_reads_and_writes_small_numbers(window, qtbot):
    open_project(window, lenet5())
    doc = window.controller.doc
    bn = window.controller.add_node("BatchNorm2d", (0.0, 400.0))
    window.scene.select_nodes([bn])
    eps = window.inspector.editors["eps"].field
    assert isinstance(eps, QDoubleSpinBox) and eps.text() == "1e-05"
    retype(qtbot, eps, "0.001")
    assert doc.nodes[bn].params["eps"] == 0.001


def test_shape_editor_refuses_bad_values_with_the_reason(window, qtbot):
    open_project(window, lenet5())
    select(window, qtbot, "image")
    inspector = window.inspector
    field = inspector.editors["shape"].field
    image = node_id(window, "image")
    retype(qtbot, field, "1, 0, 28")
    assert window.controller.doc.nodes[image].params["shape"] == (1, 28, 28)
    assert window.controller.undo_stack.count() == 0
    error = inspector.errors["shape"]
    assert error.isVisible() and error.text() == "shape must be at least 1, got 0"
    assert window.statusBar().currentMessage() == "shape must be at least 1, got 0"
    assert field.property("invalid") is True
    retype(qtbot, field, "1, a")
    assert "whole numbers" in error.text()
    retype(qtbot, field, "3, 32, 32")
    assert window.controller.doc.nodes[image].params["shape"] == (3, 32, 32)
    assert not error.isVisible() and field.text() == "3, 32, 32"
    assert window.controller.undo_stack.undoText() == "Set image.shape to (3, 32, 32)"


def test_pair_padding_choice_and_bool_editors(window, qtbot):
    open_project(window, lenet5())
    select(window, qtbot, "conv2")
    editors = window.inspector.editors
    conv2 = node_id(window, "conv2")
    params = window.controller.doc.nodes[conv2].params
    retype(qtbot, editors["kernel_size"].field, "3, 5")
    assert params["kernel_size"] == (3, 5)
    retype(qtbot, editors["padding"].field.lineEdit(), "same")
    assert params["padding"] == "same"
    combo = editors["padding_mode"].field
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert params["padding_mode"] == combo.currentText() != "zeros"
    box = editors["bias"].field
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert params["bias"] is False
    assert window.controller.undo_stack.count() == 4


def test_rename_in_the_inspector(window, qtbot):
    open_project(window, small_net())
    select(window, qtbot, "fc1")
    inspector = window.inspector
    retype(qtbot, inspector.name_edit, "relu1")
    assert inspector.name_error.isVisible() and "already used" in inspector.name_error.text()
    retype(qtbot, inspector.name_edit, "encoder")
    assert window.controller.doc.nodes[node_id(window, "encoder")].name == "encoder"
    assert window.controller.undo_stack.undoText() == "Rename fc1 to encoder"
    assert not inspector.name_error.isVisible()


def test_selection_states(window, qtbot):
    open_project(window, small_net())
    inspector = window.inspector
    assert inspector.node_id is None
    window.scene.select_nodes([node_id(window, "fc1"), node_id(window, "fc2")])
    assert inspector.node_id is None
    window.scene.select_nodes([node_id(window, "relu1")])
    assert inspector.node_id == node_id(window, "relu1") and inspector.editors == {}
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert inspector.node_id is None


def test_editing_keys_in_a_field_do_not_reach_the_canvas(window, qtbot):
    open_project(window, small_net())
    select(window, qtbot, "fc1")
    spin = window.inspector.editors["out_features"].field
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_End)
    qtbot.keyClick(spin, Qt.Key.Key_Backspace)
    qtbot.keyClick(spin, Qt.Key.Key_Delete)
    assert window.controller.doc.node_by_name("fc1") is not None
    assert window.controller.doc.node_by_name("fc1").params["out_features"] == 1
