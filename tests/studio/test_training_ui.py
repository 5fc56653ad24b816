"""The training UI on the main window: docks, menus and actions, saved layout, the edit lock, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QGraphicsItem
from test_training_support import ScriptedRun, finished, message, open_small, started, step, training_fixture  # noqa: F401

from studio.main_window import MainWindow
from studio.training.docks import show_row
from studio.training.panels.registry import PANELS, check_registry


def menu_titles(window) -> list[str]:
    return [a.text().replace("&", "") for a in window.menuBar().actions()]


def panels_menu(window):
    view = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    return next(a.menu() for a in view.actions() if a.menu() and a.text().replace("&", "") == "Panels")


def test_every_registered_panel_is_a_dock_listed_in_view_panels(window, training):
    check_registry()
    listed = {a.objectName() for a in panels_menu(window).actions()}
    for name, info in PANELS.items():
        dock = window.findChild(QDockWidget, info.dock_name)
        assert dock is training.docks[name] and dock.widget() is training.panels[name]
        assert dock.features() & QDockWidget.DockWidgetFeature.DockWidgetFloatable
        assert dock.features() & QDockWidget.DockWidgetFeature.DockWidgetClosable
        assert f"action_panel_{name}" in listed


def test_run_menu_toolbar_and_shortcuts(window, training):
    assert "Run" in menu_titles(window)
    actions = training.actions.all
    assert actions["train"].shortcut().toString() == "F5"
    assert actions["stop"].shortcut().toString() == "Shift+F5"
    assert actions["pause"].shortcut().toString() == "F6"
    assert all(a in window.toolbar.actions() for a in actions.values())
    assert actions["train"].isEnabled() and not actions["pause"].isEnabled() and not actions["stop"].isEnabled()
    assert not actions["train"].icon().isNull()


def test_a_closed_panel_comes_back_from_the_view_menu(window, training, qtbot):
    dock = training.docks["loss"]
    dock.close()
    assert not dock.isVisible()
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(dock.isVisible)


def test_the_dock_layout_is_saved_with_the_window_state(window, training, qtbot):
    show_row(training.docks)  # the row under the canvas opens with the first run (closed on a first start)
    training.docks["feature_maps"].setFloating(True)
    training.docks["runs"].close()
    window.save_layout()
    again = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(again)
    ui = again.training
    again.show()
    qtbot.waitExposed(again)
    assert ui.docks["feature_maps"].isFloating()
    assert not ui.docks["runs"].isVisible()
    assert ui.docks["loss"].isVisible() or again.tabifiedDockWidgets(ui.docks["loss"])
    ui.shutdown()


def test_training_locks_editing_and_says_so_then_unlocks(window, training, qtbot):
    open_small(window, qtbot, training)
    stack = window.controller.undo_stack
    node = window.scene.nodes["conv1"]
    run = ScriptedRun([[started()], [step(1)], [message("status", state="paused")], [], [finished()]])
    training.runs.attach(run, "scripted")
    assert training.lock_banner.isVisible()
    assert "editing is locked" in training.lock_banner.text()
    assert window.undo_group.activeStack() is None
    assert not window.actions.undo.isEnabled() and not window.actions.delete.isEnabled()
    assert not window.actions.paste.isEnabled() and not window.palette.isEnabled()
    assert not window.inspector.isEnabled()
    assert not node.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable
    assert not training.panels["dataset"].form_host.isEnabled()
    assert not training.panels["training"].form_host.isEnabled()
    qtbot.waitUntil(lambda: training.runs.state == "paused")
    assert "paused" in training.lock_banner.text().lower()
    assert training.actions.all["resume"].isEnabled() and not training.actions.all["pause"].isEnabled()
    qtbot.waitUntil(lambda: not training.runs.active)
    assert not training.lock_banner.isVisible()
    assert window.undo_group.activeStack() is stack
    assert window.actions.delete.isEnabled() and window.palette.isEnabled() and window.inspector.isEnabled()
    assert node.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable
    assert training.panels["training"].form_host.isEnabled()


def test_a_locked_canvas_refuses_wire_drags_but_still_selects(window, training, qtbot):
    open_small(window, qtbot, training)
    training.runs.attach(ScriptedRun([[started()]] + [[]] * 1000), "scripted")
    viewport = window.view.viewport()
    port = window.scene.nodes["relu1"].out_ports["out"]
    start = window.view.mapFromScene(port.scenePos())
    end = window.view.mapFromScene(window.scene.nodes["fc3"].in_ports["in"].scenePos())
    edges = len(window.controller.doc.edges)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert len(window.controller.doc.edges) == edges
    centre = window.view.mapFromScene(window.scene.nodes["pool1"].sceneBoundingRect().center())
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
    assert window.scene.selected_node_ids() == ["pool1"]
    assert window.controller.undo_stack.count() == 0
    training.runs.stop()


def test_a_network_with_errors_is_refused_with_the_node_shown(window, training, qtbot):
    project = open_small(window, qtbot, training)
    window.controller.delete([n for n, node in project.network.nodes.items() if node.name == "flatten"])
    assert not training.train()
    assert training.error_banner.isVisible()
    assert "network has errors" in training.error_banner.title.text()
    assert not training.runs.active


def test_a_project_without_a_dataset_is_refused_pointing_to_the_dataset_panel(window, training, qtbot):
    project = open_small(window, qtbot, training)
    project.dataset = {}
    assert not training.train()
    assert "no dataset" in training.error_banner.message.text()
    assert training.docks["dataset"].isVisible()


def test_editing_and_the_settings_forms_never_load_torch_and_previews_load_it_off_the_gui_thread(tmp_path):
    """An editing session never imports torch, and the Training and Dataset forms are complete without it
    (they are built from the engine's light schema layer); the dataset preview loads data (and torch) on a
    pool thread once its panel is seen, and the GUI thread never imports torch itself."""
    script = textwrap.dedent(f"""
        import os, sys, threading, time, importlib.abc
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        seen = []
        class Spy(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "torch":
                    seen.append(threading.current_thread() is threading.main_thread())
                return None
        sys.meta_path.insert(0, Spy())
        from PySide6.QtCore import QSettings
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, {str(tmp_path)!r})
        from studio.app import create_application
        app = create_application()
        from studio.main_window import MainWindow
        w = MainWindow(prompt_unsaved=False)
        ui = w.training
        w.show()
        w.open_example("lenet5")
        w.controller.add_node("Conv2d", (0.0, 300.0))
        end = time.time() + 1.0
        while time.time() < end:
            app.processEvents()
            time.sleep(0.01)
        ui.show_panel("training")
        app.processEvents()
        forms = len(ui.panels["training"].editors) > 30 and len(ui.panels["dataset"].editors) > 3
        print("editing", "torch" in sys.modules, "forms", forms)
        ui.show_panel("dataset")
        end = time.time() + 120
        while ui.preview.result is None and time.time() < end:
            app.processEvents()
            time.sleep(0.01)
        print("ready", ui.preview.result is not None, "torch imports on the GUI thread", seen)
        ui.shutdown()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    lines = [x for x in out.stdout.splitlines() if x.startswith(("editing", "ready"))]
    assert lines == ["editing False forms True", "ready True torch imports on the GUI thread [False]"], \
        out.stdout + out.stderr[-2000:]
