"""The offer made at start when an earlier studio did not close normally and left unsaved work.

`RecoveryDialog(slots)` lists each left-behind document (its name, where it was saved, when it was
autosaved), newest first and selected. *Recover* opens the selected one, *Discard All* deletes
them all, *Not Now* keeps them for the next start. `outcome` is ``"recover"``, ``"discard"`` or
``"later"``; `chosen()` is the slot to recover.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from studio.files.recovery import RecoverySlot


def describe(slot: RecoverySlot) -> str:
    name = str(slot.meta.get("name") or "untitled")
    where = str(slot.original_path) if slot.original_path else "never saved"
    when = slot.saved_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if slot.saved_at else "at an unknown time"
    return f"{name}  —  {where}  (autosaved {when})"


class RecoveryDialog(QDialog):
    """Offer the documents a crashed session left behind."""

    def __init__(self, slots: list[RecoverySlot], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryDialog")
        self.setWindowTitle("Recover unsaved work")
        self.slots = slots
        self.outcome = "later"
        text = QLabel("Layerloom did not close normally last time. These documents had changes that were not "
                      "saved; recover one to continue where you left off (save it to keep it).")
        text.setWordWrap(True)
        self.list = QListWidget()
        for slot in slots:
            item = QListWidgetItem(describe(slot))
            item.setData(Qt.ItemDataRole.UserRole, slot.session)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _item: self._finish("recover"))
        buttons = QDialogButtonBox()
        self.recover_button = buttons.addButton("&Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.discard_button = buttons.addButton("&Discard All", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.later_button = buttons.addButton("&Not Now", QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(lambda: self._finish("recover"))
        self.discard_button.clicked.connect(lambda: self._finish("discard"))
        self.later_button.clicked.connect(lambda: self._finish("later"))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(640, 260)

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        if outcome == "later":
            self.reject()
        else:
            self.accept()

    def reject(self) -> None:  # Escape and the close button mean "not now": nothing is lost
        self.outcome = "later"
        super().reject()

    def chosen(self) -> RecoverySlot | None:
        row = self.list.currentRow()
        return self.slots[row] if 0 <= row < len(self.slots) else None
