"""The breadcrumb bar over the canvas while a block is open: where you are, and the way back up.

`BreadcrumbBar` is a small overlay on the view's top-left corner. It shows the
path of the open block from the network down (``resnet18 ▸ layer1 ▸ block``),
each level but the last a flat button; clicking one, or the *Up* button,
emits `level_chosen(depth)` (0 is the network). It is hidden at the top level.
It only reports the click; the editor session does the navigating.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

SEPARATOR = "▸"


class BreadcrumbBar(QFrame):
    """The open block's path, as buttons that go back up."""

    level_chosen = Signal(int)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumbBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 3, 8, 3)
        self._layout.setSpacing(6)
        self.buttons: list[QToolButton] = []
        self.labels: list[str] = []
        self.hide()

    def set_path(self, labels: list[str]) -> None:
        """Show `labels` (the network's name, then each open block's); one label hides the bar."""
        self.labels = list(labels)
        # Rebuilt hidden: a child added to a visible frame shows only on the next event loop turn, too late
        # for adjustSize, which would leave the bar a sliver when one open block opens another.
        self.hide()
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.buttons = []
        if len(labels) < 2:
            self.hide()
            return
        up = QToolButton(self)
        up.setText("↑ Up")
        up.setObjectName("breadcrumbUp")
        up.setToolTip("Back to the level above (Esc)")
        up.setAutoRaise(True)
        up.clicked.connect(lambda: self.level_chosen.emit(len(self.labels) - 2))
        self._layout.addWidget(up)
        for depth, label in enumerate(labels):
            if depth:
                self._layout.addWidget(QLabel(SEPARATOR, self))
            if depth == len(labels) - 1:
                current = QLabel(f"<b>{_escape(label)}</b>", self)
                current.setObjectName("breadcrumbCurrent")
                current.setTextFormat(Qt.TextFormat.RichText)
                self._layout.addWidget(current)
                continue
            button = QToolButton(self)
            button.setText(label)
            button.setAutoRaise(True)
            button.setToolTip(f"Back to {label}")
            button.clicked.connect(lambda _=False, d=depth: self.level_chosen.emit(d))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.adjustSize()
        self.move(10, 10)
        self.show()
        self.raise_()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
