"""Read-only editing while a run trains: the network the worker trains is the one on the canvas.

`EditLock.lock()` shows the lock banner, takes the undo stack out of the window's undo group (so
Undo, Redo and the History view are disabled), disables the editing actions (cut, paste,
delete, duplicate, add layer, arrange, new, open and the examples menu), the palette, the
inspector and the problems panel, makes every node item immovable, and swallows the gestures
that would still edit: wire drags from ports, double-clicks and Tab (quick add) and drops on the
canvas. Selecting nodes, panning and zooming still work (selection switches the feature-map
probe). `unlock()` puts everything back as it was.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QGraphicsItem

from studio.training.banners import LockBanner

LOCKED_ACTIONS = ("new", "open", "cut", "paste", "duplicate", "delete", "quick_add", "arrange")
_SCENE_EVENTS = (QEvent.Type.GraphicsSceneMousePress, QEvent.Type.GraphicsSceneMouseDoubleClick)
_VIEW_EVENTS = (QEvent.Type.MouseButtonDblClick, QEvent.Type.Drop, QEvent.Type.DragEnter, QEvent.Type.DragMove)


class EditLock(QObject):
    """Locks and unlocks the editor around a run."""

    def __init__(self, window: Any, banner: LockBanner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.banner = window, banner
        self.locked = False
        self._enabled: dict[Any, bool] = {}
        self._stack: Any = None
        self._scene: Any = None

    def _widgets(self) -> list[Any]:
        w = self.window
        return [w.palette, w.inspector, w.problems, w.history]

    def _actions(self) -> list[Any]:
        actions = [self.window.actions.all[n] for n in LOCKED_ACTIONS if n in self.window.actions.all]
        for menu_action in self.window.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions() if menu is not None else []:
                if action.menu() is not None and "xample" in action.text():
                    actions.append(action)
        return actions

    def lock(self, state: str = "Training") -> None:
        """Make the canvas read-only (idempotent; `state` words the banner)."""
        self.banner.set_text(state)
        self.banner.show()
        self.banner.raise_()
        if self.locked:
            return
        self.locked = True
        w = self.window
        self._enabled = {x: x.isEnabled() for x in [*self._widgets(), *self._actions()]}
        for x in self._enabled:
            x.setEnabled(False)
        self._stack = w.undo_group.activeStack()
        w.undo_group.setActiveStack(None)
        self._scene = w.scene
        if self._scene is not None:
            for item in self._scene.nodes.values():
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, False)
            self._scene.installEventFilter(self)
        w.view.viewport().installEventFilter(self)
        w.view.installEventFilter(self)

    def unlock(self) -> None:
        """Give editing back."""
        self.banner.hide()
        if not self.locked:
            return
        self.locked = False
        w = self.window
        for x, enabled in self._enabled.items():
            if shiboken6.isValid(x):
                x.setEnabled(enabled)
        self._enabled = {}
        stack = self._stack if self._stack is not None and shiboken6.isValid(self._stack) else None
        if stack is not None and w.controller is not None and stack is w.controller.undo_stack:
            w.undo_group.setActiveStack(stack)
        scene = self._scene
        if scene is not None and shiboken6.isValid(scene):
            for item in scene.nodes.values():
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
            scene.removeEventFilter(self)
        w.view.viewport().removeEventFilter(self)
        w.view.removeEventFilter(self)
        self._stack = self._scene = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.locked:
            return False
        kind = event.type()
        if watched is self._scene and kind in _SCENE_EVENTS:
            return self._scene.port_at(event.scenePos()) is not None  # a wire drag would start
        if watched is self.window.view.viewport() and kind in _VIEW_EVENTS:
            event.ignore()
            return True
        if watched is self.window.view and kind == QEvent.Type.KeyPress:
            return event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        return False
