"""The workspace at laptop and desktop sizes: the canvas gets most of the window, the Inspector comes
forward on selection, Problems wrap, the minimap is small and can be hidden, fixes and quick-add place
and wire nodes without overlaps, and plots stay readable in the dark theme. Screenshots of each size
and theme are saved for a person to look at (``build/screenshots/`` or ``$LAYERLOOM_SCREENSHOTS``)."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPoint, Qt
from studio_gestures import names_of_edges, node_id, node_pos, open_project
from studio_networks import lenet5, mlp_with_missing_flatten, small_net

from studio.main_window import MainWindow
from studio.theme import theme

SIZES = [(1366, 768), (1920, 1080)]


def fresh_window(qtbot, size: tuple[int, int]) -> MainWindow:
    """A first start at `size` (no saved layout: the isolated settings are empty)."""
    w = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)  # the default dock sizes are applied once the window is on screen
    return w


def no_overlaps(window) -> bool:
    rects = [item.sceneBoundingRect() for item in window.scene.nodes.values()]
    return not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))


@pytest.mark.parametrize("theme_name", ["light", "dark"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_canvas_gets_most_of_the_window(app, qtbot, screenshots, size, theme_name):
    window = fresh_window(qtbot, size)
    window.set_theme(theme_name, remember=False)
    open_project(window, mlp_with_missing_flatten())
    qtbot.wait(20)
    view = window.view.geometry()
    share = view.width() * view.height() / (size[0] * size[1])
    assert share >= 0.5, share
    for name, dock in {**window.docks, **window.training.docks}.items():
        if dock.isVisible():
            assert dock.width() * dock.height() < view.width() * view.height() / 2, name
    # every dock tab title is whole (tab bars scroll rather than elide) and no stray tab bar covers a dock
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        if bar.isVisible() and bar.parent() is window:
            assert bar.elideMode() == Qt.TextElideMode.ElideNone
            assert not bar.geometry().intersects(window.docks["palette"].geometry())
            assert not bar.geometry().intersects(view)
    image = window.grab()
    assert (image.width(), image.height()) == size
    assert image.save(str(screenshots / f"workspace_{size[0]}x{size[1]}_{theme_name}.png"))
    window.set_theme("light", remember=False)


def test_selecting_a_node_brings_the_inspector_to_the_front(window, qtbot):
    open_project(window, small_net())
    window.training.show_panel("training")
    inspector = window.docks["inspector"]
    assert inspector.visibleRegion().isEmpty()  # behind the Training tab
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=node_pos(window, "fc1"))
    assert window.scene.selected_node_ids() == [node_id(window, "fc1")]
    assert not inspector.visibleRegion().isEmpty()
    assert window.inspector.isVisible()


def test_problems_wrap_in_a_narrow_dock(app, qtbot):
    window = fresh_window(qtbot, SIZES[0])
    open_project(window, mlp_with_missing_flatten())
    tree = window.problems.tree
    item = tree.topLevelItem(0)
    assert item.text(1) == "fc1" and item.text(0) == f"fc1: {item.text(2)}"
    assert len(item.text(2)) > 60  # a long message, in a dock about 200 px wide
    rect = tree.visualItemRect(item)
    line = tree.fontMetrics().height()
    assert rect.right() <= tree.viewport().width() and rect.height() >= 2 * line  # wrapped, not cut off
    button = window.problems.fix_buttons()[0]
    assert button.isVisible() and button.geometry().right() <= tree.viewport().width()


def test_the_minimap_is_small_and_can_be_hidden(app, qtbot):
    window = fresh_window(qtbot, SIZES[0])
    open_project(window, lenet5())
    window.view.set_zoom(1.5)
    minimap = window.view.minimap
    minimap.refresh()
    assert minimap.isVisible()
    viewport = window.view.viewport()
    assert minimap.width() * minimap.height() <= 0.05 * viewport.width() * viewport.height()
    qtbot.mouseClick(minimap.close_button, Qt.MouseButton.LeftButton)
    assert not minimap.isVisible() and not window.actions.minimap.isChecked()
    window.view.set_zoom(1.6)
    minimap.refresh()
    assert not minimap.isVisible()
    window.close()
    again = fresh_window(qtbot, SIZES[0])  # remembered
    assert not again.actions.minimap.isChecked() and not again.view.minimap.wanted
    again.actions.minimap.trigger()
    assert again.view.minimap.wanted


def test_the_fix_on_the_badge_inserts_a_node_that_overlaps_nothing(window, qtbot):
    open_project(window, mlp_with_missing_flatten())
    fc1 = window.scene.nodes[node_id(window, "fc1")]
    badge = fc1.badge
    assert badge.isVisible() and badge.fix is not None and "Click to fix" in badge.toolTip()
    where = window.view.mapFromScene(badge.sceneBoundingRect().center())
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    window.controller.flush_analysis()
    assert ("image", "flatten1") in names_of_edges(window) and ("flatten1", "fc1") in names_of_edges(window)
    assert window.controller.analysis.ok and not fc1.badge.isVisible()
    assert no_overlaps(window)
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.text(0).startswith("Insert Flatten")
    stack.undo()
    assert window.controller.doc.node_by_name("flatten1") is None
    assert window.controller.doc.node_by_name("fc1").position == (260.0, 0.0)  # the room made is undone too


def test_the_fix_from_problems_makes_room_in_a_tight_chain(window, qtbot):
    project = mlp_with_missing_flatten()
    doc = project.network
    doc.move_nodes({n: (i * 170.0, 0.0) for i, n in enumerate(doc.nodes)})  # shoulder to shoulder
    open_project(window, project)
    assert no_overlaps(window)
    qtbot.mouseClick(window.problems.fix_buttons()[0], Qt.MouseButton.LeftButton)
    assert window.controller.doc.node_by_name("flatten1") is not None
    assert no_overlaps(window)


def test_quick_add_with_a_node_selected_wires_the_new_node_after_it(window, qtbot):
    open_project(window, small_net())
    window.scene.select_nodes([node_id(window, "relu1")])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view.quick_add
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "Dropout")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    edges = names_of_edges(window)
    assert ("relu1", "dropout1") in edges and ("dropout1", "out") in edges and ("relu1", "out") not in edges
    assert window.scene.selected_node_ids() == [node_id(window, "dropout1")]
    assert no_overlaps(window)
    stack = window.controller.undo_stack
    assert stack.count() == 1 and stack.text(0) == "Add Dropout after relu1"
    # with nothing selected, quick-add drops a free node where the box was opened
    window.scene.clearSelection()
    window.view.open_quick_add(QPoint(40, 40))
    qtbot.keyClicks(window.view.quick_add.search, "Linear")
    qtbot.keyClick(window.view.quick_add.search, Qt.Key.Key_Return)
    new = window.controller.doc.node_by_name("fc3")
    assert new is not None and not [e for e in window.controller.doc.edges if new.id in (e.source, e.target)]


def test_plot_legends_and_axes_are_readable_in_the_dark_theme(window, qtbot):
    window.set_theme("dark", remember=False)
    dark = theme("dark")
    for name in ("loss", "metrics", "learning_rate", "gradient_flow"):
        plot = getattr(window.training.panels[name], "plot", None)
        if plot is None:
            continue
        item = plot.getPlotItem()
        for axis in ("left", "bottom"):
            assert item.getAxis(axis).textPen().color().name() == dark.text
        if item.legend is not None:
            for _sample, label in item.legend.items:
                assert dark.text.lower() in label.item.toHtml().lower(), (name, label.text)
    window.set_theme("light", remember=False)
