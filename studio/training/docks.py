"""The training panels as dock widgets: made from the registry, laid out once, listed in the View menu.

`make_docks(window, context)` creates one `QDockWidget` per registered panel (movable, floatable,
closable, named ``dock_<panel name>`` so the window state saved in QSettings restores them),
places them beside the editor's docks (settings tabbed with the Inspector and pictures under
them on the right; the curves, Runs and the log tabbed in the row under the canvas; see
`studio.window_layout` for the proportions) and
adds their toggle actions to View ▸ Panels, which is how a closed panel comes back.
The row under the canvas starts closed and opens with the first run (`show_row`).
`restore_state(window)` re-applies the saved window state once the docks exist (the main window
restored it before they did).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.registry import GROUPS, PANELS

FEATURES = (QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable)


def make_docks(window: QMainWindow, context: PanelContext) -> tuple[dict[str, Panel], dict[str, QDockWidget]]:
    """Create, place and list the training docks; returns (panels, docks) by panel name."""
    panels: dict[str, Panel] = {}
    docks: dict[str, QDockWidget] = {}
    for name, info in PANELS.items():
        panel = info.cls(context)
        dock = QDockWidget(info.title, window)
        dock.setObjectName(info.dock_name)
        dock.setFeatures(FEATURES)
        dock.setWidget(panel)
        dock.visibilityChanged.connect(panel.set_on_screen)
        dock.topLevelChanged.connect(lambda _floating, p=panel: p.set_on_screen(True))
        panels[name], docks[name] = panel, dock
    _arrange(window, docks)
    _list_in_view_menu(window, docks)
    return panels, docks


def _arrange(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Settings tabbed with the Inspector and pictures under them on the right; the curves, Runs and
    the log tabbed under the canvas.

    Docks are placed side by side before anything is tabbed onto them: Qt adds a dock that is
    split off a tabbed dock as one more tab.
    """
    editor = getattr(window, "docks", {})
    groups = {g: [docks[n] for n, info in PANELS.items() if info.group == g] for g in GROUPS}
    right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
    inspector = editor.get("inspector")
    window.addDockWidget(right, groups["pictures"][0], Qt.Orientation.Vertical)
    window.addDockWidget(bottom, groups["curves"][0], Qt.Orientation.Horizontal)
    # Runs and the log share the row under the canvas with the curves (Problems lives under the palette)
    anchors = {"settings": inspector, "history": groups["curves"][0], "curves": groups["curves"][0],
               "pictures": groups["pictures"][0]}
    areas = {"settings": right, "history": bottom, "curves": bottom, "pictures": right}
    for group, members in groups.items():
        anchor = anchors[group]
        for dock in members:
            if dock is anchor:
                continue
            window.addDockWidget(areas[group], dock)
            if anchor is None:
                anchors[group] = anchor = dock
            else:
                window.tabifyDockWidget(anchor, dock)
    for anchor in (inspector, groups["curves"][0], groups["pictures"][0]):
        if anchor is not None:
            anchor.raise_()
    for dock in row_docks(docks):  # the row comes when there is something to show (`show_row`)
        dock.hide()
    default_sizes(window, docks)


ROW_GROUPS = ("curves", "history")


def row_docks(docks: dict[str, QDockWidget]) -> list[QDockWidget]:
    """The docks of the row under the canvas: the curves, Runs and the log."""
    return [docks[n] for n, info in PANELS.items() if info.group in ROW_GROUPS and n in docks]


def show_row(docks: dict[str, QDockWidget], front: str = "loss") -> None:
    """Bring the row under the canvas back (a run starts, or a project with runs opens), `front` on top.

    The first layout leaves it closed, so that an editing session gives the canvas the whole height;
    a person who closed one of its docks by hand gets it back only from View ▸ Panels."""
    row = row_docks(docks)
    if any(d.isVisible() for d in row):
        docks[front].show()
    else:
        for dock in row:
            dock.show()
    docks[front].raise_()


def default_sizes(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The first layout's proportions (again once the window has its size: Qt clamps them before)."""
    inspector = getattr(window, "docks", {}).get("inspector")
    column = max(window.height() - 120, 300)
    if inspector is not None:
        window.resizeDocks([inspector, docks["feature_maps"]], [int(column * 0.58), int(column * 0.42)],
                           Qt.Orientation.Vertical)
    window.resizeDocks([docks["loss"]], [max(170, min(250, int(window.height() * 0.22)))], Qt.Orientation.Vertical)


def _list_in_view_menu(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    menu = window.actions.panels_menu  # View ▸ Panels, named by the window's actions
    menu.addSection("Training")
    for name, dock in docks.items():
        action = dock.toggleViewAction()
        action.setObjectName(f"action_panel_{name}")
        menu.addAction(action)


def restore_state(window: QMainWindow) -> bool:
    """Apply the saved dock layout again, now that the training docks exist."""
    settings = getattr(window, "settings", None)
    state = settings.value("windowState") if settings is not None else None
    return bool(state is not None and window.restoreState(state))
