"""Whether the keyboard focus is inside a widget (forms never overwrite a field being typed in)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget


def has_focus(widget: QWidget) -> bool:
    focus = QApplication.focusWidget()
    return focus is not None and (focus is widget or widget.isAncestorOf(focus))
