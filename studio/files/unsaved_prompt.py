"""The question asked before the open document is replaced or closed while it has unsaved changes.

`ask_unsaved(parent, name, running)` shows a window-modal `QMessageBox` (object name
``unsavedChangesPrompt``, so tests and people find the same buttons) and returns ``"save"``,
``"discard"`` or ``"cancel"``. Escape and closing the box mean cancel: nothing is lost by
dismissing it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

PROMPT_NAME = "unsavedChangesPrompt"


def ask_unsaved(parent: QWidget, name: str, running: bool = False) -> str:
    """Ask whether to save `name` first; one of ``save``, ``discard``, ``cancel``."""
    B = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"“{name}” has unsaved changes. Save them before continuing?", B.Save | B.Discard | B.Cancel,
                      parent)
    box.setObjectName(PROMPT_NAME)
    info = "If you don't save, your changes (and runs not yet saved) are lost."
    if running:
        info = "A run is training; it will be stopped. " + info
    box.setInformativeText(info)
    box.setDefaultButton(B.Save)
    box.setEscapeButton(B.Cancel)
    box.button(B.Discard).setText("Don't Save")
    answer = box.exec()
    box.deleteLater()
    return {B.Save: "save", B.Discard: "discard"}.get(B(answer), "cancel")
