"""Answering the studio's modal dialogs from a test, the way a person clicks their buttons.

A modal dialog runs its own event loop (`exec`), so the answer is scheduled before the action that
opens it: `answer_dialog(qtbot, name, act)` waits (on a timer, up to a few seconds) for the active
modal widget named `name`, lets `act(dialog)` set it up, and records the dialog's name in the
returned list, so the test can assert that the dialog was really shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

POLL_MS = 20
MAX_POLLS = 400  # eight seconds


def answer_dialog(qtbot, name: str, act: Callable[[Any], None]) -> list[str]:
    shown: list[str] = []

    def attempt(left: int) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None and dialog.objectName() == name and dialog.isVisible():
            shown.append(name)
            act(dialog)
        elif left:
            QTimer.singleShot(POLL_MS, lambda: attempt(left - 1))

    QTimer.singleShot(0, lambda: attempt(MAX_POLLS))
    return shown


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def answer_unsaved(qtbot, answer: str) -> list[str]:
    """Answer the unsaved-changes prompt with ``save``, ``discard`` or ``cancel``."""
    buttons = {"save": QMessageBox.StandardButton.Save, "discard": QMessageBox.StandardButton.Discard,
               "cancel": QMessageBox.StandardButton.Cancel}
    return answer_dialog(qtbot, "unsavedChangesPrompt", lambda box: click(qtbot, box.button(buttons[answer])))
