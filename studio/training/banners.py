"""Banners over the canvas: "Training — editing is locked" and the non-modal error banner.

Both are child widgets of the canvas view, stacked at its top centre (`BannerStack` places them
again whenever the view is resized). The error banner says what went wrong in one or a few
lines, offers "Show node" when the error names a node and "Details" (the training log), and
closes with its × button; it never blocks the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from studio.theme import Theme

MARGIN = 10
MAX_WIDTH = 720


class LockBanner(QLabel):
    """The notice shown while a run trains and the network cannot be edited."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("trainingLockBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.set_text("Training")
        self.hide()

    def set_text(self, state: str) -> None:
        self.setText(f"<b>{state} — editing is locked.</b> Stop the run (Shift+F5) to change the network.")

    def apply_theme(self, t: Theme) -> None:
        self.setStyleSheet(f"#trainingLockBanner {{ background: {t.highlight}; color: {t.highlight_text}; "
                           "border-radius: 6px; padding: 6px 14px; }")


class ErrorBanner(QFrame):
    """A non-modal error message with actions."""

    show_node_requested = Signal(str)
    details_requested = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("trainingErrorBanner")
        self.node_id: str | None = None
        self.title = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_node = QPushButton("Show node")
        self.show_node.clicked.connect(lambda: self.show_node_requested.emit(self.node_id or ""))
        details = QPushButton("Details")
        details.clicked.connect(self.details_requested.emit)
        close = QToolButton()
        close.setText("×")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        text = QWidget()
        column = QVBoxLayout(text)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.title)
        column.addWidget(self.message)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.addWidget(text, 1)
        row.addWidget(self.show_node, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(details, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_error(self, title: str, message: str, node_id: str | None = None) -> None:
        self.title.setText(f"<b>{title}</b>")
        shown = message if len(message) < 600 else message[:600] + "…"
        self.message.setText(shown)
        self.setToolTip(message)
        self.node_id = node_id
        self.show_node.setVisible(bool(node_id))
        self.show()
        self.raise_()

    def apply_theme(self, t: Theme) -> None:
        error = t.canvas.error
        self.setStyleSheet(f"#trainingErrorBanner {{ background: {t.base}; border: 2px solid {error}; "
                           f"border-radius: 6px; }} #trainingErrorBanner QLabel {{ color: {t.text}; }}")
        self.title.setStyleSheet(f"color: {error};")


class BannerStack(QObject):
    """Keeps banners at the top centre of a widget, one under the other."""

    def __init__(self, host: QWidget, banners: list[QWidget]) -> None:
        super().__init__(host)
        self.host, self.banners = host, banners
        host.installEventFilter(self)

    def place(self) -> None:
        y = MARGIN
        width = min(MAX_WIDTH, self.host.width() - 2 * MARGIN)
        for banner in self.banners:
            if banner.isHidden():
                continue
            banner.setFixedWidth(max(width, 200))
            height = banner.heightForWidth(banner.width()) if banner.hasHeightForWidth() else -1
            banner.adjustSize()
            banner.setFixedWidth(max(width, 200))
            banner.move((self.host.width() - banner.width()) // 2, y)
            banner.resize(banner.width(), max(height, banner.sizeHint().height()))
            banner.raise_()
            y += banner.height() + 6

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            self.place()
        return False
