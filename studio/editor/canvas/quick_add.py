"""The quick-add box: type a few letters, press Enter, and the layer lands at the cursor.

A small popup with a search field over a list of every layer type in the
registry (read when the box opens, so layers added later appear), matched on
title, type id and category. Up/Down move through the matches, Enter or a
double-click chooses one and emits `chosen(type_id)`; Escape or a click
elsewhere closes it. It never writes the document: the view adds the node.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from engine.layers.registry import LayerRegistry
from studio.editor.category_style import category_icon

TYPE_ROLE = Qt.ItemDataRole.UserRole


class QuickAddPopup(QFrame):
    """Search-and-add for layer types."""

    chosen = Signal(str)

    def __init__(self, registry: LayerRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quickAdd")
        self.registry = registry
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add a layer…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.setFixedWidth(300)
        self.search.textChanged.connect(self.filter)
        self.search.installEventFilter(self)
        self.search.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda item: self._choose(item))

    def open_at(self, global_pos: QPoint) -> None:
        self._populate()
        self.search.clear()
        self.filter("")
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def _populate(self) -> None:
        self.list.clear()
        for spec in self.registry:
            item = QListWidgetItem(category_icon(spec.category), f"{spec.title}")
            item.setToolTip(f"{spec.category}: {spec.help}")
            item.setData(TYPE_ROLE, spec.type_id)
            item.setData(Qt.ItemDataRole.UserRole + 1, f"{spec.title} {spec.type_id} {spec.category}".lower())
            self.list.addItem(item)

    def filter(self, text: str) -> None:
        """Show only the layer types matching every word of `text`."""
        words = text.lower().split()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            haystack = item.data(Qt.ItemDataRole.UserRole + 1)
            hidden = not all(w in haystack for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        self.list.setCurrentItem(first)
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as the matches (at most 12 rows), so the box never shows a blank field."""
        shown = sum(not self.list.item(i).isHidden() for i in range(self.list.count()))
        row = self.list.sizeHintForRow(0) if self.list.count() else 24
        self.list.setFixedHeight(max(1, min(shown, 12)) * max(row, 1) + 2 * self.list.frameWidth() + 4)
        self.adjustSize()

    def visible_types(self) -> list[str]:
        return [self.list.item(i).data(TYPE_ROLE) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self._choose(item)

    def _choose(self, item: QListWidgetItem) -> None:
        type_id = item.data(TYPE_ROLE)
        self.hide()
        self.chosen.emit(type_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._step(1 if key == Qt.Key.Key_Down else -1)
                return True
        return super().eventFilter(watched, event)

    def _step(self, direction: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        current = self.list.currentRow()
        position = rows.index(current) if current in rows else -1
        self.list.setCurrentRow(rows[max(0, min(len(rows) - 1, position + direction))])
