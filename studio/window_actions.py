"""The main window's actions, menus and toolbar, with the usual shortcuts.

`WindowActions` makes every `QAction` once (File, Edit, View), names it, gives
it its standard shortcut and icon, and connects it to a method of the window
(`window.new_document`, `window.delete_selection`, ...). Undo and Redo come
from the window's `QUndoGroup`, so they always act on the open document's stack
and carry its readable undo text. `build_menus` and `build_toolbar` lay them
out. Nothing here knows about documents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from engine.resources import example_names
from studio.icons import action_icon
from studio.theme import THEMES

if TYPE_CHECKING:
    from studio.main_window import MainWindow

# name: (text, shortcuts, icon, window method, status tip). Shortcuts are spelled out rather than
# taken from QKeySequence.StandardKey, which is empty or different on bare X11 and offscreen; Qt maps
# Ctrl to Cmd on macOS.
_SPECS: dict[str, tuple[str, list, str, str, str]] = {
    "new": ("&New", ["Ctrl+N"], "new", "new_document", "Start a new network"),
    "open": ("&Open…", ["Ctrl+O"], "open", "open_dialog", "Open a .loom project"),
    "import_model": ("&Import Model…", ["Ctrl+I"], "", "import_model",
                     "Import a PyTorch model, a torch.export program or an ONNX file as a new project"),
    "save": ("&Save", ["Ctrl+S"], "save", "save", "Save the project"),
    "save_as": ("Save &As…", ["Ctrl+Shift+S"], "", "save_as_dialog", "Save the project under a new name"),
    "quit": ("&Quit", ["Ctrl+Q"], "", "close", "Close Layerloom"),
    "cut": ("Cu&t", ["Ctrl+X"], "cut", "cut_selection", "Cut the selected nodes"),
    "copy": ("&Copy", ["Ctrl+C"], "copy", "copy_selection", "Copy the selected nodes"),
    "paste": ("&Paste", ["Ctrl+V"], "paste", "paste", "Paste nodes from the clipboard"),
    "duplicate": ("&Duplicate", ["Ctrl+D"], "duplicate", "duplicate_selection", "Duplicate the selected nodes"),
    "delete": ("&Delete", ["Del", "Backspace"], "delete", "delete_selection",
               "Delete the selected nodes and wires"),
    "select_all": ("Select &All", ["Ctrl+A"], "", "select_all", "Select every node"),
    "quick_add": ("&Add Layer…", ["Ctrl+Space"], "", "quick_add", "Search for a layer and add it"),
    "arrange": ("Auto-&arrange", ["Ctrl+L"], "arrange", "auto_arrange", "Lay the network out left to right"),
    "history": ("&History", ["Ctrl+H"], "history", "show_history", "Show the list of undo steps"),
    "zoom_in": ("Zoom &In", ["Ctrl++", "Ctrl+="], "zoom-in", "zoom_in", "Zoom in"),
    "zoom_out": ("Zoom &Out", ["Ctrl+-"], "zoom-out", "zoom_out", "Zoom out"),
    "fit": ("&Fit to View", ["Ctrl+0", "F"], "fit", "fit_to_view", "Show the whole network"),
    "group": ("&Group into Block", ["Ctrl+G"], "", "group_selection",
              "Make the selected nodes one block, used in their place"),
    "ungroup": ("&Ungroup", ["Ctrl+Shift+G"], "", "ungroup_selection",
                "Replace the selected block by the nodes inside it"),
    "open_block": ("&Open Block", ["Ctrl+Down"], "", "open_selected_block",
                   "Open the selected block in place to edit what is inside (or double-click it)"),
    "block_up": ("Back &Up", ["Ctrl+Up"], "", "block_up", "Leave the open block for the level above (Esc)"),
    "make_unique": ("Make &Unique", [], "", "make_unique_selection",
                    "Give the selected block its own copy of its definition, to edit it alone"),
    "save_block": ("&Save Block As…", [], "", "save_block_dialog", "Write the selected block to a file to share"),
    "load_block": ("&Load Block…", [], "", "load_block_dialog", "Add a block from a file to this project"),
}


# Disabled while the open project is read-only: the edits, and what would replace the project
# (a run is training it). Copy, select all and the view actions stay.
READ_ONLY_DISABLED = ("new", "open", "import_model", "cut", "paste", "duplicate", "delete", "quick_add", "arrange",
                      "group", "ungroup", "make_unique", "load_block")


class WindowActions:
    """Every action of the main window, as attributes (`actions.save`, `actions.undo`, ...)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.all: dict[str, QAction] = {}
        # Menus that other parts of the studio add to or follow, made by build_menus (never looked up by text).
        self.examples_menu: QMenu | None = None  # File ▸ Open Example
        self.panels_menu: QMenu | None = None  # View ▸ Panels (training lists its docks here)
        self.help_menu: QMenu | None = None  # the Run menu goes before it (none yet)
        for name, (text, keys, icon, method, tip) in _SPECS.items():
            action = QAction(text, window)
            action.setObjectName(f"action_{name}")
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setStatusTip(tip)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({action.shortcut().toString()})"
                              if keys else tip)
            action.setData(icon)
            action.triggered.connect(getattr(window, method))
            self.all[name] = action
            setattr(self, name, action)
        self.undo = window.undo_group.createUndoAction(window, "&Undo")
        self.undo.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo.setData("undo")
        self.redo = window.undo_group.createRedoAction(window, "&Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo.setData("redo")
        self.all.update(undo=self.undo, redo=self.redo)
        for name in ("undo", "redo"):
            self.all[name].setObjectName(f"action_{name}")
        self.snap = QAction("&Snap to Grid", window, checkable=True, checked=True)
        self.snap.toggled.connect(window.set_snap)
        self.minimap = QAction("&Minimap", window, checkable=True, checked=True)
        self.minimap.toggled.connect(window.set_minimap_visible)
        self.theme_group = QActionGroup(window)
        self.themes: dict[str, QAction] = {}
        for name, theme in THEMES.items():
            action = QAction(theme.title, window, checkable=True)
            action.setObjectName(f"action_theme_{name}")
            action.triggered.connect(lambda _=False, n=name: window.set_theme(n))
            self.theme_group.addAction(action)
            self.themes[name] = action

    def read_only_disabled(self) -> list[QAction]:
        """The actions to disable while the open project is read-only."""
        actions = [self.all[name] for name in READ_ONLY_DISABLED]
        if self.examples_menu is not None and self.examples_menu.actions():
            actions.append(self.examples_menu.menuAction())
        return actions

    def tint(self, color: str) -> None:
        """Give every action its icon in `color` (after a theme change)."""
        for action in self.all.values():
            if action.data():
                action.setIcon(action_icon(action.data(), color))


def build_menus(window: MainWindow, a: WindowActions) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for action in (a.new, a.open):
        file_menu.addAction(action)
    examples = QMenu("Open &Example", window)
    for name in example_names():
        examples.addAction(name.replace("_", " "), lambda n=name: window.open_example(n))
    examples.setEnabled(bool(examples.actions()))
    a.examples_menu = examples
    file_menu.addMenu(examples)
    file_menu.addAction(a.import_model)
    file_menu.addSeparator()
    file_menu.addActions([a.save, a.save_as])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)

    edit = bar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    edit.addSeparator()
    edit.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
    edit.addSeparator()
    edit.addActions([a.select_all, a.quick_add, a.arrange])
    edit.addSeparator()
    blocks = edit.addMenu("&Block")
    blocks.addActions([a.group, a.ungroup, a.open_block, a.block_up, a.make_unique])
    blocks.addSeparator()
    blocks.addActions([a.save_block, a.load_block])
    edit.addSeparator()
    edit.addAction(a.history)

    view = bar.addMenu("&View")
    view.addActions([a.zoom_in, a.zoom_out, a.fit])
    view.addSeparator()
    view.addActions([a.snap, a.minimap])
    panels = view.addMenu("&Panels")
    a.panels_menu = panels
    for dock in window.docks.values():
        panels.addAction(dock.toggleViewAction())
    theme = view.addMenu("&Theme")
    theme.addActions(list(a.themes.values()))


def build_toolbar(window: MainWindow, a: WindowActions) -> QToolBar:
    bar = QToolBar("Main", window)
    bar.setObjectName("mainToolbar")
    bar.setMovable(False)
    groups = ([a.new, a.open, a.save], [a.undo, a.redo], [a.cut, a.copy, a.paste, a.delete],
              [a.zoom_out, a.zoom_in, a.fit, a.arrange])
    for i, group in enumerate(groups):
        if i:
            bar.addSeparator()
        bar.addActions(group)
    window.addToolBar(bar)
    return bar
