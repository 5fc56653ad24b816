"""What the training UI sees of the editor: the open project, its canvas, selection and edit mode.

`Workspace` wraps the editor's `EditorSession` (``studio.editor.session``), the one seam between
editor and training; it never reads the main window. Its signals are the session's own:

- `project_opened(DocumentController)` when another project is shown,
- `document_changed()` after any undo-stack step (an edit, undo or redo, also of the dataset and
  training settings this package pushes),
- `selection_changed(list[str])` when the canvas selection changes,
- `editable_changed(bool)` when the project turns read-only (a run trains it) or editable again;
  the dataset and training forms follow it.

`push(*commands)` puts commands on the open project's undo stack through its controller, which
refuses them while the project is read-only; `mark_modified()` marks the project unsaved without
an undo step (a finished run added to it); `set_editable` asks the controller for read-only mode.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.project import Project
from studio.editor.canvas.scene import GraphScene
from studio.editor.document_controller import READ_ONLY_REASON, DocumentController
from studio.editor.session import EditorSession


class Workspace(QObject):
    """The open project as the training UI needs it."""

    def __init__(self, session: EditorSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session

    # ---- signals (the session's) --------------------------------------------------------
    @property
    def project_opened(self) -> SignalInstance:
        return self.session.project_opened

    @property
    def document_changed(self) -> SignalInstance:
        return self.session.document_changed

    @property
    def selection_changed(self) -> SignalInstance:
        return self.session.selection_changed

    @property
    def editable_changed(self) -> SignalInstance:
        return self.session.editable_changed

    # ---- what is open ------------------------------------------------------------------
    @property
    def controller(self) -> DocumentController | None:
        """The editor's DocumentController of the open project (or None)."""
        return self.session.controller

    @property
    def project(self) -> Project | None:
        return self.controller.project if self.controller is not None else None

    @property
    def scene(self) -> GraphScene | None:
        return self.session.scene

    @property
    def undo_stack(self) -> QUndoStack | None:
        return self.controller.undo_stack if self.controller is not None else None

    @property
    def path(self) -> Path | None:
        """Where the project is saved (None: not yet)."""
        return self.controller.path if self.controller is not None else None

    @property
    def base_dir(self) -> Path | None:
        """The project's folder (relative dataset paths are resolved against it)."""
        return Path(self.path).resolve().parent if self.path else None

    @property
    def editable(self) -> bool:
        return self.session.editable

    def node_ids(self) -> list[str]:
        return list(self.project.network.nodes) if self.project is not None else []

    def node_name(self, node_id: str) -> str:
        project = self.project
        node = project.network.nodes.get(node_id) if project is not None else None
        return node.name if node is not None else node_id

    def selected(self) -> list[str]:
        return self.session.selected()

    # ---- changes ------------------------------------------------------------------------
    def push(self, *commands: QUndoCommand, text: str = "") -> None:
        """One undo step on the open project (several commands become one step named `text`)."""
        if self.controller is not None:
            self.controller.push(commands, text)

    def mark_modified(self) -> None:
        """Mark the project unsaved without an undo step (the stack is clean again once saved)."""
        if self.undo_stack is not None:
            self.undo_stack.resetClean()

    def set_editable(self, editable: bool, reason: str = READ_ONLY_REASON) -> None:
        """Make the open project editable, or read-only with `reason` given for refused edits."""
        self.session.set_editable(editable, reason)

    def reveal_node(self, node_id: str) -> None:
        """Select a node and centre the canvas on it."""
        self.session.reveal_node(node_id)
