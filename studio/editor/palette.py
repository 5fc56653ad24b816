"""The layer palette: every layer type in the catalog, grouped by category, searchable.

The palette reads the registry when it is built, so it always lists exactly the
catalog (plug-in layers included). Each category is a group with its icon; each
entry shows the layer's title with its help as tooltip. Typing in the search
field keeps the entries whose title, type id or category contain every typed
word. Dragging an entry carries its type id (`clipboard.layer_mime`) to the
canvas, which adds the node where it is dropped; double-clicking an entry (or
Enter) emits `layer_activated`, and the main window adds it at the view centre.
The *Blocks* section on top lists the open project's block definitions and the
bundled ones (`set_blocks`); a block entry drags `clipboard.block_mime` and
activates `block_activated(source, name)` the same way.
The palette never writes the document.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine.layers.registry import LayerRegistry
from studio.editor.category_style import category_icon
from studio.editor.clipboard import BLOCK_MIME_TYPE, LAYER_MIME_TYPE, block_mime, layer_mime

TYPE_ROLE = Qt.ItemDataRole.UserRole
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
BLOCK_ROLE = Qt.ItemDataRole.UserRole + 2  # ("project" | "bundled", block name) on a block entry
BLOCKS = "Blocks"

BlockEntry = tuple[str, str, str]  # (name, title, help)


def bundled_block_entries() -> list[BlockEntry]:
    """The blocks bundled with Layerloom (the engine declares them), for `PaletteWidget.set_blocks`."""
    from engine.block_catalog import BUNDLED_BLOCKS, bundled_definitions

    entries = []
    for name in BUNDLED_BLOCKS:
        data = bundled_definitions(name)[-1]
        entries.append((name, str(data.get("title") or name), str(data.get("help") or "")))
    return entries


class PaletteTree(QTreeWidget):
    """The grouped list; dragging a layer entry exports its type id, a block entry its source and name."""

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        for item in items:
            if item.data(0, BLOCK_ROLE):
                return block_mime(*item.data(0, BLOCK_ROLE))
        type_ids = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return layer_mime(type_ids[0]) if type_ids else QMimeData()

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME_TYPE, BLOCK_MIME_TYPE]


class PaletteWidget(QWidget):
    """Search field over the grouped layer list."""

    layer_activated = Signal(str)  # type id
    block_activated = Signal(str, str)  # source ("project" or "bundled"), block name

    def __init__(self, registry: LayerRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setExpandsOnDoubleClick(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.blocks_group: QTreeWidgetItem | None = None
        self._populate()
        self.search.textChanged.connect(self.filter)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._clicked)

    def _populate(self) -> None:
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        for category, specs in self.registry.categories().items():
            group = QTreeWidgetItem(self.tree, [category])
            group.setIcon(0, category_icon(category))
            group.setFont(0, bold)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.title])
                item.setData(0, TYPE_ROLE, spec.type_id)
                item.setData(0, SEARCH_ROLE, f"{spec.title} {spec.type_id} {category}".lower())
                item.setToolTip(0, f"<b>{spec.title}</b><br>{spec.help}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
            group.setExpanded(True)

    def set_blocks(self, project: list[BlockEntry], bundled: list[BlockEntry]) -> None:
        """Show the *Blocks* section: the project's own blocks, then the bundled ones it does not have yet."""
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        expanded = self.blocks_group.isExpanded() if self.blocks_group is not None else True
        if self.blocks_group is None:
            self.blocks_group = QTreeWidgetItem([BLOCKS])
            self.tree.insertTopLevelItem(0, self.blocks_group)
            self.blocks_group.setIcon(0, category_icon(BLOCKS))
            self.blocks_group.setFont(0, bold)
            self.blocks_group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.blocks_group.takeChildren()
        own = {name for name, _, _ in project}
        sections = (("project", "In this project", project),
                    ("bundled", "Bundled", [e for e in bundled if e[0] not in own]))
        for source, heading, entries in sections:
            if not entries:
                continue
            section = QTreeWidgetItem(self.blocks_group, [heading])
            section.setFlags(Qt.ItemFlag.ItemIsEnabled)
            section.setForeground(0, self.palette().placeholderText())
            for name, title, help_text in entries:
                item = QTreeWidgetItem(section, [title])
                item.setData(0, BLOCK_ROLE, (source, name))
                item.setData(0, SEARCH_ROLE, f"{title} {name} {BLOCKS} {source}".lower())
                where = "in this project" if source == "project" else "bundled with Layerloom"
                item.setToolTip(0, f"<b>{title}</b> (block {where})<br>{help_text}")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
            section.setExpanded(True)
        shown = bool(self.blocks_group.childCount())
        self.blocks_group.setExpanded(expanded)
        self.blocks_group.setHidden(not shown)
        self.filter(self.search.text())

    def block_entries(self) -> dict[tuple[str, str], QTreeWidgetItem]:
        """Every block entry, by (source, name)."""
        group = self.blocks_group
        if group is None:
            return {}
        found = {}
        for i in range(group.childCount()):
            section = group.child(i)
            for j in range(section.childCount()):
                found[tuple(section.child(j).data(0, BLOCK_ROLE))] = section.child(j)
        return found

    def entries(self) -> dict[str, QTreeWidgetItem]:
        """Every layer entry, by type id."""
        found = {}
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            if group is self.blocks_group:
                continue
            for i in range(group.childCount()):
                found[group.child(i).data(0, TYPE_ROLE)] = group.child(i)
        return found

    def visible_types(self) -> list[str]:
        entries = self.entries().items()
        return [t for t, item in entries if not item.isHidden() and not item.parent().isHidden()]

    def filter(self, text: str) -> None:
        """Keep the entries matching every word of `text`, and the groups that hold one."""
        words = text.lower().split()
        for g in range(self.tree.topLevelItemCount()):
            self._filter_item(self.tree.topLevelItem(g), words)

    def _filter_item(self, item: QTreeWidgetItem, words: list[str]) -> bool:
        """Show `item` when it (an entry) matches, or when one of its entries does (a group)."""
        if item.data(0, SEARCH_ROLE) is not None:
            shown = all(w in item.data(0, SEARCH_ROLE) for w in words)
        else:
            shown = False
            for i in range(item.childCount()):
                shown |= self._filter_item(item.child(i), words)
            if words and shown:
                item.setExpanded(True)
        item.setHidden(not shown)
        return shown

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.layer_activated.emit(type_id)
        elif item.data(0, BLOCK_ROLE):
            self.block_activated.emit(*item.data(0, BLOCK_ROLE))

    def _clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if item.data(0, TYPE_ROLE) is None and item.data(0, BLOCK_ROLE) is None:
            item.setExpanded(not item.isExpanded())
