"""What the studio adds around the open document's file: Open Recent, drops, autosave and recovery.

`FileUi(window)` is installed once by the main window. It adds *Open Recent* to the File menu,
accepts `.loom` files dropped anywhere on the window, owns this session's `RecoverySlot` and its
`Autosaver`, and offers the documents a crashed session left behind (`offer_recovery`). It
follows the editor session's `project_opened`; the window tells it two more things: the project
was saved (`project_saved`) and the window closed normally (`closed`). Every document it opens goes through the window's
`replace_document` path (``open_path``), which asks about unsaved changes first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDropEvent

from studio.files.autosave import Autosaver
from studio.files.recent import RecentFiles, RecentMenu
from studio.files.recovery import RecoverySlot, orphaned_slots
from studio.files.recovery_dialog import RecoveryDialog

PROJECT_SUFFIX = ".loom"


def dropped_project(event: Any) -> Path | None:
    """The one local `.loom` file a drag carries, or None."""
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return None
    files = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    projects = [f for f in files if f.suffix.lower() == PROJECT_SUFFIX]
    return projects[0] if len(projects) == 1 and len(files) == 1 else None


class FileUi(QObject):
    """Recent files, drops, autosave and recovery for one main window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.recent = RecentFiles(window.settings)
        self.recent_menu = RecentMenu(self.recent, window.open_path, window)
        self._add_recent_menu()
        self.slot = RecoverySlot.create()
        self.autosaver = Autosaver(self.slot, parent=self)
        self.autosaver.before_write = window.store_view_state
        self.autosaver.failed.connect(
            lambda reason: window.statusBar().showMessage(f"Autosave failed: {reason}", 10000))
        self._recovering = False
        window.session.project_opened.connect(self.project_opened)
        # like New and Open, Open Recent waits while the project is read-only (a run trains it)
        window.session.editable_changed.connect(self.recent_menu.menuAction().setEnabled)
        window.setAcceptDrops(True)
        for target in (window, window.view.viewport()):
            target.installEventFilter(self)

    def _add_recent_menu(self) -> None:
        """Put Open Recent right after Open… in the File menu."""
        for bar_action in self.window.menuBar().actions():
            menu = bar_action.menu()
            if menu is None or self.window.actions.open not in menu.actions():
                continue
            actions = menu.actions()
            index = actions.index(self.window.actions.open)
            if index + 1 < len(actions):
                menu.insertMenu(actions[index + 1], self.recent_menu)
            else:
                menu.addMenu(self.recent_menu)
            return

    # ---- what the window tells ----------------------------------------------------------------
    def project_opened(self, controller: Any) -> None:
        """Autosave the new document; the previous one's recovery files go, unless this is a recovery."""
        self.autosaver.follow(controller.project, controller.path, controller.undo_stack, keep_files=self._recovering)
        if controller.path is not None:
            self.recent.add(controller.path)

    def project_saved(self, path: Path) -> None:
        self.recent.add(path)
        self.autosaver.set_path(path)
        self.autosaver.discard()

    def run_stored(self) -> None:
        """A finished run was added to the project: keep it safe at once."""
        self.autosaver.write_now()

    def closed(self) -> None:
        self.autosaver.close()

    # ---- recovery ------------------------------------------------------------------------------
    def offer_recovery(self) -> bool:
        """Offer what a crashed session left behind; True when a document was recovered and opened."""
        slots = [s for s in orphaned_slots(self.slot.folder) if s.session != self.slot.session]
        if not slots:
            return False
        dialog = RecoveryDialog(slots, self.window)
        dialog.exec()
        chosen = dialog.chosen() if dialog.outcome == "recover" else None
        recovered = False
        for slot in slots:
            if slot is chosen:
                recovered = self._recover(slot)
                if recovered:
                    continue
            if dialog.outcome == "discard":
                slot.release()
            elif slot is not self.slot:
                slot.lock.unlock()  # kept for the next start
        dialog.deleteLater()
        return recovered

    def _recover(self, slot: RecoverySlot) -> bool:
        from engine.graph.errors import ProjectFileError
        from engine.project import load_project

        try:
            project = load_project(slot.project_file)
        except (ProjectFileError, OSError) as exc:
            self.window.show_error("Cannot recover the document", str(exc))
            return False
        self._recovering = True
        try:
            if not self.window.replace_document(project, slot.original_path, recovered=True):
                return False
        finally:
            self._recovering = False
        old = self.slot
        self.slot = self.autosaver.slot = slot  # adopt it: autosaves go on into the same file
        old.release()
        self.window.statusBar().showMessage(f"Recovered {project.name}: save it to keep it", 10000)
        return True

    # ---- drops -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and dropped_project(event) is not None:
            event.acceptProposedAction()
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            path = dropped_project(event)
            if path is not None:
                event.acceptProposedAction()
                self.window.open_path(path)
                return True
        return False
