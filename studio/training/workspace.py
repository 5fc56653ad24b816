"""What the training UI sees of the main window: the open project, its undo stack, canvas and selection.

`Workspace` reads the editor's public state (``window.controller``, ``window.scene``,
``window.undo_group``, ``window.reveal_node``) and turns its changes into a few signals the
training panels subscribe to, so that no panel reads the main window directly:

- `project_changed` when another project is opened (the undo group's active stack changes to a
  new document controller),
- `document_changed` after any undo-stack step (an edit, undo or redo, also of the dataset and
  training settings this package pushes),
- `selection_changed(node_ids)` when the canvas selection changes.

`push(command)` puts a command on the open project's undo stack; `mark_modified()` marks the
project unsaved without an undo step (a finished run added to it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


class Workspace(QObject):
    """The open project as the training UI needs it."""

    project_changed = Signal()
    document_changed = Signal()
    selection_changed = Signal(object)  # list[str] of node ids, in document order

    def __init__(self, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self._controller: Any = None
        self._scene: Any = None
        window.undo_group.activeStackChanged.connect(self._active_stack_changed)
        self._follow()

    # ---- what is open ------------------------------------------------------------------
    @property
    def controller(self) -> Any:
        """The editor's DocumentController of the open project (or None)."""
        return self.window.controller

    @property
    def project(self) -> Any:
        return self.controller.project if self.controller is not None else None

    @property
    def scene(self) -> Any:
        return self.window.scene

    @property
    def undo_stack(self) -> QUndoStack | None:
        return self.controller.undo_stack if self.controller is not None else None

    @property
    def base_dir(self) -> Path | None:
        """The project's folder (relative dataset paths are resolved against it)."""
        path = self.controller.path if self.controller is not None else None
        return Path(path).resolve().parent if path else None

    def node_ids(self) -> list[str]:
        return list(self.project.network.nodes) if self.project is not None else []

    def node_name(self, node_id: str) -> str:
        project = self.project
        node = project.network.nodes.get(node_id) if project is not None else None
        return node.name if node is not None else node_id

    def selected(self) -> list[str]:
        scene = self.scene
        return scene.selected_node_ids() if scene is not None and shiboken6.isValid(scene) else []

    # ---- changes ------------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> None:
        """One undo step on the open project's stack."""
        if self.undo_stack is not None:
            self.undo_stack.push(command)

    def mark_modified(self) -> None:
        """Mark the project unsaved without an undo step (the stack is clean again once saved)."""
        if self.undo_stack is not None:
            self.undo_stack.resetClean()

    def reveal_node(self, node_id: str) -> None:
        """Select a node and centre the canvas on it."""
        self.window.reveal_node(node_id)

    # ---- following the window ---------------------------------------------------------------
    def _active_stack_changed(self, _stack: object) -> None:
        if self.window.controller is not self._controller:
            self._follow()
            self.project_changed.emit()

    def _follow(self) -> None:
        if self._controller is not None and shiboken6.isValid(self._controller):
            self._controller.undo_stack.indexChanged.disconnect(self._index_changed)
        if self._scene is not None and shiboken6.isValid(self._scene):
            self._scene.selectionChanged.disconnect(self._scene_selection)
        self._controller, self._scene = self.window.controller, self.window.scene
        if self._controller is not None:
            self._controller.undo_stack.indexChanged.connect(self._index_changed)
        if self._scene is not None:
            self._scene.selectionChanged.connect(self._scene_selection)

    def _index_changed(self, _index: int) -> None:
        self.document_changed.emit()

    def _scene_selection(self) -> None:
        self.selection_changed.emit(self.selected())
