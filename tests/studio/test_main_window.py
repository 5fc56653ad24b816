"""The main window: menus, shortcuts, clipboard across windows, history, files, settings, themes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from studio_dialogs import answer_dialog
from studio_gestures import names_of_edges, node_id, node_pos, open_project
from studio_networks import lenet5, resnet_small, small_net

from engine.project import load_project
from engine.resources import example_names
from studio.editor.clipboard import MIME_TYPE
from studio.main_window import MainWindow


def press(qtbot, window, key, modifiers=Qt.KeyboardModifier.ControlModifier) -> None:
    qtbot.keyClick(window, key, modifiers)


def test_menus_hold_the_usual_actions_with_shortcuts(window):
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Edit", "View", "Run"]
    edit = [a.text().replace("&", "") for a in menus["Edit"].actions() if a.text()]
    for wanted in ("Cut", "Copy", "Paste", "Duplicate", "Delete", "Select All", "Auto-arrange", "History"):
        assert wanted in edit
    shortcuts = {name: [s.toString() for s in a.shortcuts()] for name, a in window.actions.all.items()}
    assert shortcuts["undo"] == ["Ctrl+Z"] and "Ctrl+Shift+Z" in shortcuts["redo"]
    assert shortcuts["save"] == ["Ctrl+S"] and shortcuts["save_as"] == ["Ctrl+Shift+S"]
    assert shortcuts["duplicate"] == ["Ctrl+D"] and "Del" in shortcuts["delete"]
    assert all(not a.icon().isNull() for a in window.toolbar.actions() if not a.isSeparator())


def test_undo_redo_through_shortcuts_and_the_history_view(window, qtbot):
    open_project(window, small_net())
    window.scene.select_nodes([node_id(window, "relu1")])
    window.view.setFocus()
    press(qtbot, window, Qt.Key.Key_D)
    press(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    stack = window.controller.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == ["Duplicate relu2", "Delete ReLU 'relu2'"]
    press(qtbot, window, Qt.Key.Key_Z)
    press(qtbot, window, Qt.Key.Key_Z)
    assert stack.index() == 0 and window.controller.doc.node_by_name("relu2") is None
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.controller.doc.node_by_name("relu2") is not None
    press(qtbot, window, Qt.Key.Key_H)
    history = window.history
    assert window.docks["history"].isVisible()
    model = history.model()
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == \
        ["<opened>", "Duplicate relu2", "Delete ReLU 'relu2'"]
    assert window.actions.undo.text() == "&Undo Duplicate relu2"


def test_copy_paste_between_two_windows_keeps_inner_wires_and_renames(window, qtbot, app):
    open_project(window, small_net())
    window.scene.select_nodes([node_id(window, n) for n in ("fc1", "relu1")])
    window.view.setFocus()
    press(qtbot, window, Qt.Key.Key_C)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(MIME_TYPE)
    other = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(other)
    other.resize(1200, 800)
    other.show()
    qtbot.waitExposed(other)
    open_project(other, small_net())
    other.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other)
    other.view.setFocus()
    press(qtbot, other, Qt.Key.Key_V)
    doc = other.controller.doc
    assert doc.node_by_name("fc3") is not None and doc.node_by_name("relu2") is not None
    assert ("fc3", "relu2") in names_of_edges(other)
    assert sorted(other.scene.selected_node_ids()) == sorted([doc.node_by_name("fc3").id,
                                                              doc.node_by_name("relu2").id])
    assert other.controller.undo_stack.count() == 1
    other.close()


def test_cut_then_paste_in_the_same_window(window, qtbot):
    open_project(window, small_net())
    window.scene.select_nodes([node_id(window, "fc2")])
    window.view.setFocus()
    press(qtbot, window, Qt.Key.Key_X)
    assert window.controller.doc.node_by_name("fc2") is None
    assert window.controller.undo_stack.undoText() == "Cut Linear 'fc2'"
    press(qtbot, window, Qt.Key.Key_V)
    assert window.controller.doc.node_by_name("fc2") is not None  # the name is free again


def test_select_all_and_delete_is_one_step(window, qtbot):
    open_project(window, small_net())
    window.view.setFocus()
    press(qtbot, window, Qt.Key.Key_A)
    assert len(window.scene.selected_node_ids()) == 6
    press(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    assert not window.controller.doc.nodes and not window.scene.nodes
    assert window.controller.undo_stack.undoText() == "Delete 6 nodes"
    press(qtbot, window, Qt.Key.Key_Z)
    assert len(window.scene.nodes) == 6 and len(window.scene.edges) == 3


def test_auto_arrange_from_the_menu(window, qtbot):
    open_project(window, small_net())
    press(qtbot, window, Qt.Key.Key_L)
    doc = window.controller.doc
    assert window.controller.undo_stack.undoText().startswith("Auto-arrange")
    for e in doc.edges:
        assert doc.nodes[e.source].position[0] < doc.nodes[e.target].position[0]


def test_save_and_reopen_keeps_network_and_view(window, qtbot, tmp_path):
    open_project(window, lenet5())
    window.controller.set_param(node_id(window, "fc1"), "out_features", 100)
    assert window.isWindowModified()
    window.view.set_zoom(1.25)
    window.view.center_on_point(QPointF(500, 40))
    path = tmp_path / "mine.loom"
    assert window.save_to(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("mine.loom")
    project = load_project(path)
    assert project.network.node_by_name("fc1").params["out_features"] == 100
    assert project.ui["canvas"]["zoom"] == 1.25
    other = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(other)
    other.resize(1400, 900)
    other.show()
    assert other.open_path(path)
    assert abs(other.view.zoom() - 1.25) < 1e-6
    assert abs(other.view.center().x() - 500) < 2
    other.close()


def test_opening_a_broken_file_reports_it_and_keeps_the_open_project(window, tmp_path):
    open_project(window, small_net())
    bad = tmp_path / "bad.loom"
    bad.write_text("not a zip")
    assert not window.open_path(bad)
    assert "not a Layerloom project" in window.statusBar().currentMessage()
    assert window.controller.doc.node_by_name("fc1") is not None


def test_new_document_and_bundled_example(window, qtbot):
    answer_dialog(qtbot, "galleryDialog", lambda d: (d.select("blank"), d.accept()))
    assert window.new_document()
    types = sorted(n.type_id for n in window.controller.doc.nodes.values())
    assert types == ["Input", "Output"]
    if "lenet5" in example_names():
        assert window.open_example("lenet5")
        assert len(window.scene.nodes) == len(window.controller.doc.nodes) > 10
        assert window.controller.path is None  # never saved over the bundled file


def test_geometry_dock_layout_and_theme_are_remembered(window, qtbot):
    window.resize(701, 555)  # the offscreen screen is small; restoreGeometry keeps windows on it
    window.docks["problems"].hide()
    window.set_theme("dark")
    window.close()
    again = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(again)
    again.show()
    assert again.size().width() == 701 and again.size().height() == 555
    assert not again.docks["problems"].isVisible()
    assert again.theme_name == "dark" and again.actions.themes["dark"].isChecked()
    again.set_theme("light")
    again.close()


def test_theme_switch_restyles_canvas_and_widgets(window, qtbot, app):
    open_project(window, small_net())
    window.actions.themes["dark"].trigger()
    assert window.scene.colors.background == "#1a1d22"
    assert app.palette().window().color().name() == "#1e2127"
    assert "QToolBar" in app.styleSheet()
    window.actions.themes["light"].trigger()
    assert window.scene.colors.background == "#eef0f3"


def test_snap_toggle(window, qtbot):
    open_project(window, small_net())
    window.actions.snap.setChecked(False)
    start = node_pos(window, "fc2")
    from studio_gestures import drag

    drag(qtbot, window.view.viewport(), start, start + start.__class__(7, 3))
    x, y = window.controller.doc.nodes[node_id(window, "fc2")].position
    assert (x % 20, y % 20) != (0, 0)


def test_a_muddled_layout_is_arranged_as_it_opens_without_an_undo_step(window):
    project = resnet_small()
    doc = project.network
    doc.move_nodes({n: (0.0, 0.0) for n in doc.nodes})
    open_project(window, project)
    assert len({n.position for n in doc.nodes.values()}) == len(doc.nodes)
    for e in doc.edges:
        assert doc.nodes[e.source].position[0] < doc.nodes[e.target].position[0]
    assert window.controller.undo_stack.count() == 0 and not window.isWindowModified()
