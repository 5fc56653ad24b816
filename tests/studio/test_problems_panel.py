"""Live validation: the Problems panel, one-click fixes, and the status bar totals."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from studio_gestures import names_of_edges, node_id, open_project
from studio_networks import lenet5, mlp_with_missing_flatten

from engine.graph.analysis import analyze
from studio.number_format import format_count, validity_text


def rows(window) -> list[tuple[str, str]]:
    tree = window.problems.tree
    return [(tree.topLevelItem(i).text(1), tree.topLevelItem(i).text(2)) for i in range(tree.topLevelItemCount())]


def test_status_bar_shows_parameter_count_and_validity(window):
    project = lenet5()
    expected = analyze(project.network).total_params
    open_project(window, project)
    assert window.params_label.text() == f"{format_count(expected)} parameters"
    assert "," in window.params_label.text()
    assert window.validity_label.text() == "✓ valid"
    assert window.problems.empty.isVisible() and not window.problems.tree.isVisible()


def test_validity_texts():
    assert validity_text(0, 0) == "✓ valid"
    assert validity_text(2, 1) == "2 errors, 1 warning"
    assert validity_text(1, 0) == "1 error"
    assert format_count(61706) == "61,706"


def test_problems_are_listed_and_update_after_each_edit(window, qtbot):
    open_project(window, mlp_with_missing_flatten())
    assert rows(window)[0][0] == "fc1" and "flatten" in rows(window)[0][1]
    assert window.validity_label.text() == "1 error"
    assert window.params_label.text() == "— parameters"  # nothing after the error has a size yet
    assert window.docks["problems"].windowTitle() == "Problems (1)"
    # An edit elsewhere: a dangling ReLU is a new problem, listed after the analysis runs.
    window.view.add_layer_at("ReLU", QPointF(0, 400))
    qtbot.waitUntil(lambda: len(rows(window)) == 3)
    assert [r[0] for r in rows(window)] == ["fc1", "relu2", "relu2"]
    assert window.validity_label.text() == "2 errors, 1 warning"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(rows(window)) == 1)


def test_fix_button_inserts_flatten_as_one_undo_step(window, qtbot):
    open_project(window, mlp_with_missing_flatten())
    buttons = window.problems.fix_buttons()
    assert [b.text() for b in buttons] == ["Insert Flatten"]
    assert "between 'image' and 'fc1'" in buttons[0].toolTip()
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.validity_label.text() == "✓ valid")
    assert ("image", "flatten1") in names_of_edges(window) and ("flatten1", "fc1") in names_of_edges(window)
    assert window.controller.undo_stack.count() == 1
    assert window.scene.nodes[node_id(window, "flatten1")]
    assert not window.scene.nodes[node_id(window, "fc1")].badge.isVisible()
    assert window.params_label.text() == f"{format_count(784 * 32 + 32 + 32 * 10 + 10)} parameters"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.validity_label.text() == "1 error")
    assert window.controller.doc.node_by_name("flatten1") is None
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.validity_label.text() == "✓ valid")


def test_double_click_on_a_problem_selects_and_centres_its_node(window, qtbot):
    open_project(window, mlp_with_missing_flatten())
    window.view.center_on_point(QPointF(3000, 3000))
    tree = window.problems.tree
    rect = tree.visualItemRect(tree.topLevelItem(0))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    fc1 = node_id(window, "fc1")
    assert window.scene.selected_node_ids() == [fc1]
    centre = window.view.center()
    node_centre = window.scene.nodes[fc1].sceneBoundingRect().center()
    assert abs(centre.x() - node_centre.x()) < 5 and abs(centre.y() - node_centre.y()) < 5
