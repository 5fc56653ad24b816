"""The editor session: what the rest of the studio may know about the editor, as four typed signals.

`EditorSession` is the seam between the node-graph editor and everything built on top of it
(the training UI, and anything later). The main window owns one and calls `open(controller,
scene)` each time it shows a project; subscribers never look at the window, its menus, its undo
group or its widgets. What goes out:

- `project_opened(DocumentController)`: another project is shown (its controller; the old one is
  being dropped),
- `selection_changed(list[str])`: the canvas selection, as node ids in document order (empty while
  a block is open on the canvas: its nodes are not the network's),
- `document_changed()`: after every undo-stack step of the open project (an edit, undo or redo,
  also of its dataset and training settings),
- `editable_changed(bool)`: the open project became read-only or editable again; emitted also
  when a project opens, so a subscriber can set itself up from that one signal.

What comes in: `set_editable(editable, reason)` forwards to the open project's
`DocumentController`, where read-only mode lives and where every edit is refused while it is
on; `reveal_node(node_id)` asks the window to select and centre a node (`reveal_requested`).
The session never edits the document and never touches a widget.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Signal

from studio.editor.canvas.scene import GraphScene
from studio.editor.document_controller import READ_ONLY_REASON, DocumentController


class EditorSession(QObject):
    """The open project as seen from outside the editor."""

    project_opened = Signal(DocumentController)
    selection_changed = Signal(list)  # list[str]: node ids, in document order
    document_changed = Signal()
    editable_changed = Signal(bool)
    reveal_requested = Signal(str)  # a node id the window should select and centre

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller: DocumentController | None = None
        self._scene: GraphScene | None = None

    # ---- what is open ------------------------------------------------------------------
    @property
    def controller(self) -> DocumentController | None:
        """The open project's controller (None before the first project opens)."""
        return self._controller

    @property
    def scene(self) -> GraphScene | None:
        """The canvas scene of the open project (for overlays drawn on its nodes)."""
        scene = self._scene
        return scene if scene is not None and shiboken6.isValid(scene) else None

    @property
    def editable(self) -> bool:
        return self._controller is not None and self._controller.editable

    def selected(self) -> list[str]:
        scene = self.scene
        return scene.selected_node_ids() if scene is not None else []

    # ---- requests ------------------------------------------------------------------------
    def set_editable(self, editable: bool, reason: str = READ_ONLY_REASON) -> None:
        """Make the open project editable or read-only (`reason` words a refused edit)."""
        if self._controller is not None:
            self._controller.set_editable(editable, reason)

    def reveal_node(self, node_id: str) -> None:
        """Ask the window to select `node_id` and centre the canvas on it."""
        self.reveal_requested.emit(node_id)

    # ---- the window's side -------------------------------------------------------------------
    def open(self, controller: DocumentController, scene: GraphScene) -> None:
        """Follow a newly shown project (called by the main window, once the view shows `scene`)."""
        self._let_go()
        self._controller, self._scene = controller, scene
        controller.undo_stack.indexChanged.connect(self._index_changed)
        controller.editable_changed.connect(self.editable_changed)
        scene.selectionChanged.connect(self._scene_selection)
        self.project_opened.emit(controller)
        self.editable_changed.emit(controller.editable)

    def show_scene(self, scene: GraphScene) -> None:
        """The canvas now shows another scene of the same project (a block opened or left)."""
        old = self.scene
        if old is not None:
            old.selectionChanged.disconnect(self._scene_selection)
        self._scene = scene
        scene.selectionChanged.connect(self._scene_selection)
        self._scene_selection()

    def _let_go(self) -> None:
        controller, scene = self._controller, self.scene
        if controller is not None and shiboken6.isValid(controller):
            controller.undo_stack.indexChanged.disconnect(self._index_changed)
            controller.editable_changed.disconnect(self.editable_changed)
        if scene is not None:
            scene.selectionChanged.disconnect(self._scene_selection)
        self._controller = self._scene = None

    def _index_changed(self, _index: int) -> None:
        self.document_changed.emit()

    def _scene_selection(self) -> None:
        # Inside an open block the canvas shows the block's own nodes, which the network (and so
        # the training panels) does not have: outside the editor that selects nothing.
        inside = self._controller is not None and bool(self._controller.block_path)
        self.selection_changed.emit([] if inside else self.selected())
