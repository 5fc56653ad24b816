"""The editor-session seam and read-only mode.

Read-only mode lives in the `DocumentController`: every method that changes the project is marked
and refuses while read-only, leaving the project exactly as it was. The table below holds one real
call per mutator; a test walks the class so a new mutator without the guard (or without a row
here) fails. The window and the canvas follow the one `editable_changed` signal, and the training
UI hears about the editor only through the `EditorSession`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QGraphicsItem
from studio_gestures import drag, node_id, node_pos, open_project, port_pos
from studio_networks import lenet5, mlp_with_missing_flatten

from engine.block_catalog import bundled_definitions
from engine.graph.document import Edge
from engine.graph.hierarchy import group_into_block
from engine.project import project_to_data
from studio.editor.document_controller import DocumentController
from studio.editor.session import EditorSession

# Public methods of the controller that only read (or only talk): everything else must be marked.
READS = {"close", "flush_analysis", "analysis_pending", "editable", "set_editable", "hint", "check_param",
         "wire_problem", "copy_data", "open_block", "go_up", "level_names", "frozen_by"}


def _ids(c: DocumentController, *names: str) -> list[str]:
    return [c.doc.node_by_name(n).id for n in names]


def _first_edge(c: DocumentController) -> Edge:
    return c.doc.edges[0]


def _drag_fc1(c: DocumentController) -> tuple[dict, dict]:
    fc1 = _ids(c, "fc1")[0]
    x, y = c.doc.nodes[fc1].position
    return {fc1: (x, y)}, {fc1: (x + 60.0, y + 80.0)}


def _fix(c: DocumentController):
    return next(p.fix for p in c.flush_analysis().problems if p.fix is not None)


# mutator name -> one real call that changes the project when it is editable
MUTATIONS: dict[str, Callable[[DocumentController], object]] = {
    "push": lambda c: c.push([QUndoCommand("Set something")]),
    "add_node": lambda c: c.add_node("ReLU", (500.0, 500.0)),
    "delete": lambda c: c.delete(_ids(c, "relu1")),
    "rename": lambda c: c.rename(_ids(c, "fc1")[0], "hidden"),
    "set_param": lambda c: c.set_param(_ids(c, "fc1")[0], "out_features", 17),
    "set_frozen": lambda c: c.set_frozen(_ids(c, "fc1")[0], True),
    "move_nodes": lambda c: c.move_nodes(*_drag_fc1(c)),
    "auto_arrange": lambda c: c.auto_arrange({n: (120.0, 60.0) for n in c.doc.nodes}),
    "connect": lambda c: c.connect(*_ids(c, "relu1"), "out", *_ids(c, "spare"), "in"),
    "disconnect": lambda c: c.disconnect(_first_edge(c)),
    "reconnect": lambda c: c.reconnect(c.doc.edges_into(*_ids(c, "output"), "in")[0], *_ids(c, "spare"), "in"),
    "paste": lambda c: c.paste(c.copy_data(_ids(c, "fc1")), (40.0, 40.0)),
    "duplicate": lambda c: c.duplicate(_ids(c, "fc1")),
    "apply_fix": lambda c: c.apply_fix(_fix(c)),
    "group_into_block": lambda c: c.group_into_block(_ids(c, "relu1")),
    "ungroup": lambda c: c.ungroup(_ids(c, "extra_block")[0]),
    "make_unique": lambda c: c.make_unique(_ids(c, "extra_block")[0]),
    "place_block": lambda c: c.place_block("bundled", "ConvBnRelu", (0.0, 600.0)),
    "add_blocks": lambda c: c.add_blocks(bundled_definitions("SqueezeExcite")),
    "add_after": lambda c: c.add_after(_ids(c, "relu1")[0], "Dropout"),
}


@pytest.fixture
def controller(qapp):
    project = mlp_with_missing_flatten()
    project.network.add_node("ReLU", name="spare", position=(600.0, 300.0))  # a free input to wire into
    project.network.add_node("ReLU", name="extra", position=(600.0, 500.0))
    group_into_block(project.network, ["extra"], name="Extra", instance_name="extra_block")  # a block to edit
    c = DocumentController(project)
    c.flush_analysis()
    yield c
    c.close()


def state(c: DocumentController) -> tuple[str, int]:
    return json.dumps(project_to_data(c.project), sort_keys=True, default=str), c.undo_stack.count()


def test_every_public_controller_method_is_a_read_or_a_guarded_edit():
    public = {name for name, value in vars(DocumentController).items() if not name.startswith("_")
              and not isinstance(value, Signal) and (callable(value) or isinstance(value, property))}
    marked = {name for name in public if getattr(getattr(DocumentController, name), "edits_project", False)}
    assert public - marked == READS, "a new controller method must be marked @_edits or listed as a read"
    assert marked == set(MUTATIONS), "every guarded mutator needs a row in MUTATIONS"


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_read_only_controller_refuses_every_edit_and_keeps_the_project(controller, name):
    said: list[str] = []
    controller.status_message.connect(said.append)
    before = state(controller)
    MUTATIONS[name](controller)
    assert state(controller) != before, f"{name} must change an editable project (the row is no test otherwise)"
    controller.undo_stack.undo()
    assert state(controller)[0] == before[0]

    changes: list[bool] = []
    controller.editable_changed.connect(changes.append)
    controller.set_editable(False, "locked for the test")
    assert changes == [False] and not controller.editable
    said.clear()
    before = state(controller)
    result = MUTATIONS[name](controller)
    assert state(controller) == before
    assert said == ["locked for the test"]
    assert result in ("locked for the test", None, [])
    controller.set_editable(True)
    assert changes == [False, True] and controller.editable


def test_the_session_reports_opening_selection_edits_and_edit_mode(window, qtbot):
    session: EditorSession = window.session
    opened, selections, edits, modes = [], [], [], []
    session.project_opened.connect(opened.append)
    session.selection_changed.connect(selections.append)
    session.document_changed.connect(lambda: edits.append(True))
    session.editable_changed.connect(modes.append)
    open_project(window, lenet5())
    assert opened == [window.controller] and modes == [True]
    assert session.controller is window.controller and session.editable

    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, "conv2"))
    assert selections[-1] == [node_id(window, "conv2")] == session.selected()
    window.controller.rename(node_id(window, "conv2"), "conv_b")
    assert edits == [True]
    window.controller.undo_stack.undo()
    assert edits == [True, True]

    revealed: list[str] = []
    session.reveal_requested.connect(revealed.append)
    session.reveal_node(node_id(window, "fc1"))
    assert revealed == [node_id(window, "fc1")] and window.scene.selected_node_ids() == revealed

    session.set_editable(False, "busy")
    assert modes == [True, False] and not window.controller.editable
    old = window.controller
    open_project(window, lenet5())  # a new project opens editable, and says so
    assert opened[-1] is window.controller is not old and modes[-1] is True


def _editing_actions(window) -> list:
    a = window.actions
    return [a.new, a.open, a.cut, a.paste, a.duplicate, a.delete, a.quick_add, a.arrange,
            a.examples_menu.menuAction()]


def test_the_window_and_canvas_follow_read_only_mode(window, qtbot):
    open_project(window, lenet5())
    controller, scene = window.controller, window.scene
    window.session.set_editable(False, "The network is locked while it trains")

    for widget in (window.palette, window.inspector, window.problems, window.history):
        assert not widget.isEnabled()
    assert not any(action.isEnabled() for action in _editing_actions(window))
    assert window.actions.copy.isEnabled() and window.actions.select_all.isEnabled()
    assert window.undo_group.activeStack() is None and not window.actions.undo.isEnabled()
    conv = scene.nodes[node_id(window, "conv1")]
    assert not conv.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable

    # A person's gestures: dragging a node, dragging a wire, Tab and a double-click change nothing.
    before = json.dumps(project_to_data(controller.project), sort_keys=True, default=str)
    drag(qtbot, window.view.viewport(), node_pos(window, "conv1"), node_pos(window, "conv1", 140, 160))
    drag(qtbot, window.view.viewport(), port_pos(window, "relu1", "out", False), port_pos(window, "fc3", "in", True))
    assert conv.pos().toTuple() == controller.doc.nodes[conv.node_id].position
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    qtbot.mouseDClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=window.view.viewport().rect().topLeft()
                      + window.view.viewport().rect().center() / 4)
    assert window.view.quick_add is None or not window.view.quick_add.isVisible()
    assert json.dumps(project_to_data(controller.project), sort_keys=True, default=str) == before
    assert controller.undo_stack.count() == 0
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, "conv1"))
    assert window.scene.selected_node_ids() == [conv.node_id]  # selecting still works

    window.session.set_editable(True)
    for widget in (window.palette, window.inspector, window.problems, window.history):
        assert widget.isEnabled()
    assert all(action.isEnabled() for action in _editing_actions(window))
    assert window.undo_group.activeStack() is controller.undo_stack
    assert conv.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable
    drag(qtbot, window.view.viewport(), node_pos(window, "conv1"), node_pos(window, "conv1", 140, 160))
    assert controller.undo_stack.count() == 1  # the same drag is one move now


def test_training_learns_about_the_editor_only_through_the_session():
    """No menu looked up by its text, no undo-group watching, no reaching into the window's editor, and
    a lock made of no event filters, in the training UI."""
    root = Path(__file__).resolve().parents[2] / "studio" / "training"
    offending = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("menuBar().actions()", ".text().replace(", "xample", "undo_group", "window.controller",
                       "window.scene", "window.palette", "window.inspector"):
            if needle in text:
                offending.append(f"{path.relative_to(root)}: {needle}")
    assert offending == []
    assert "eventFilter" not in (root / "edit_lock.py").read_text(encoding="utf-8")
