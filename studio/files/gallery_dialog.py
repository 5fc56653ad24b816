"""*File ▸ New*: a dialog that shows every way to start, each with its picture, description and size.

`GalleryDialog(parent, theme_name)` lists the `gallery_entries()` as cards (the network drawn as
on the canvas, its title and parameter count) in the order Blank, Templates, Examples, and shows
the chosen card's description below. *Create* (or a double-click, or Enter) accepts; the caller
reads `chosen()` and makes the project with `entry.make()`. The dialog never opens anything itself.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.files.gallery import PREVIEW_SIZE, GalleryEntry, Preview, entry_preview, gallery_entries
from studio.number_format import format_count

CARD_SCALE = 0.75


def params_text(preview: Preview) -> str:
    if preview.complete:
        return f"{format_count(preview.params)} parameters"
    return f"≥ {format_count(preview.params)} parameters" if preview.params else "no layers yet"


def kind_word(entry: GalleryEntry) -> str:
    """``Template``, ``Example`` or ``Start`` for one card."""
    return entry.group[:-1] if entry.group.endswith("s") else entry.group


class GalleryDialog(QDialog):
    """Choose a blank network, a template or an example for a new project."""

    def __init__(self, parent: QWidget | None = None, theme_name: str = "light") -> None:
        super().__init__(parent)
        self.setObjectName("galleryDialog")
        self.setWindowTitle("New Project")
        self.entries: list[GalleryEntry] = gallery_entries()
        width, height = (int(v * CARD_SCALE) for v in PREVIEW_SIZE)
        self.cards = QListWidget()
        self.cards.setObjectName("galleryCards")
        self.cards.setViewMode(QListView.ViewMode.IconMode)
        self.cards.setIconSize(QSize(width, height))
        self.cards.setGridSize(QSize(width + 24, height + 58))
        self.cards.setResizeMode(QListView.ResizeMode.Adjust)
        self.cards.setMovement(QListView.Movement.Static)
        self.cards.setWordWrap(True)
        self.cards.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.previews = {}
        for entry in self.entries:
            preview = entry_preview(entry, theme_name)
            self.previews[entry.key] = preview
            title = self.cards.fontMetrics().elidedText(entry.title, Qt.TextElideMode.ElideRight, width + 8)
            item = QListWidgetItem(f"{title}\n{kind_word(entry)} · {params_text(preview)}")  # full title below
            item.setIcon(QPixmap.fromImage(preview.image))
            item.setData(Qt.ItemDataRole.UserRole, entry.key)
            item.setToolTip(entry.description)
            self.cards.addItem(item)
        self.cards.currentRowChanged.connect(self._show_details)
        self.cards.itemActivated.connect(lambda _item: self.accept())
        self.details = QLabel("")
        self.details.setObjectName("galleryDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(64)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel("Start from a blank network, a template, or one of the examples:")
        layout.addWidget(intro)
        layout.addWidget(self.cards, 1)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.resize(4 * (width + 24) + 48, 2 * (height + 58) + 200)
        self.cards.setCurrentRow(0)

    def select(self, key: str) -> None:
        """Make the card with `key` the current one."""
        for row, entry in enumerate(self.entries):
            if entry.key == key:
                self.cards.setCurrentRow(row)
                return
        raise KeyError(key)

    def chosen(self) -> GalleryEntry | None:
        row = self.cards.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _show_details(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            self.details.setText("")
            self.create_button.setEnabled(False)
            return
        entry = self.entries[row]
        preview = self.previews[entry.key]
        self.create_button.setEnabled(True)
        self.details.setText(f"<b>{entry.title}</b> — {kind_word(entry).lower()}, {preview.nodes} nodes, "
                             f"{params_text(preview)}<br>{entry.description}")
