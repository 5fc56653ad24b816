"""Read-only editing while a run trains: the network the worker trains is the one on the canvas.

`EditLock.lock(state)` shows the lock banner and asks the editor, through the workspace, to make
the open project read-only; `unlock()` hides the banner and gives editing back. Read-only mode
itself lives in the editor's `DocumentController`, which refuses every edit while it is on, and
every editing widget (canvas, palette, inspector, problems, edit actions, the dataset and
training forms) follows its one `editable_changed` signal. Nothing here looks at a menu, a widget
or an event: selecting nodes, panning and zooming still work, because they are not edits.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from studio.training.banners import LockBanner
from studio.training.workspace import Workspace

READ_ONLY_WHILE_TRAINING = "The network is locked while it trains: stop the run to edit it"


class EditLock(QObject):
    """Locks and unlocks the editor around a run."""

    def __init__(self, workspace: Workspace, banner: LockBanner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.banner = workspace, banner
        self.locked = False

    def lock(self, state: str = "Training") -> None:
        """Make the open project read-only (idempotent; `state` words the banner)."""
        self.banner.set_text(state)
        self.banner.show()
        self.banner.raise_()
        self.locked = True
        self.workspace.set_editable(False, READ_ONLY_WHILE_TRAINING)

    def unlock(self) -> None:
        """Give editing back."""
        self.banner.hide()
        self.locked = False
        self.workspace.set_editable(True)
