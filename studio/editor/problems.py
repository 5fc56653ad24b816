"""The Problems panel: every error and warning of the network, with one-click fixes.

After each analysis the panel lists the problems (errors first): a severity
icon with the node's name and the message, wrapped to the dock's width (the panel
sits in a narrow column), and, where the analysis suggests one, a fix button
("Insert Flatten") on the line under it that asks the controller to apply it as
one undo step. Columns 1 and 2 keep the node name and the bare message (hidden).
Double-clicking a row (or pressing Enter on it) emits `node_activated`
so the main window selects and centres that node. The panel reads the
controller's `Analysis` and never writes the document itself.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.graph.analysis import ERROR, Analysis, Problem
from studio.editor.document_controller import DocumentController

NODE_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Problem", "Node", "Message", "Fix")


@lru_cache(maxsize=4)
def severity_icon(severity: str) -> QIcon:
    """A red circle with ! for errors, an amber triangle with ! for warnings."""
    icon = QIcon()
    for size in (16, 32):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        s = size / 16
        if severity == ERROR:
            p.setBrush(QColor("#dc2626"))
            p.drawEllipse(QRectF(1 * s, 1 * s, 14 * s, 14 * s))
        else:
            p.setBrush(QColor("#d97706"))
            path = QPainterPath(QPointF(8 * s, 1 * s))
            path.lineTo(15 * s, 14.5 * s)
            path.lineTo(1 * s, 14.5 * s)
            path.closeSubpath()
            p.drawPath(path)
        font = QFont()
        font.setPixelSize(int(11 * s))
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor("white"))
        p.drawText(QRectF(0, 1.5 * s if severity != ERROR else 0, size, size), Qt.AlignmentFlag.AlignCenter, "!")
        p.end()
        icon.addPixmap(pixmap)
    return icon


class WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their text wrapped to the column's width (QTreeView measures them unwrapped)."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if index.column() != 0 or not text:
            return hint
        icon = self.tree.iconSize().width() + 12
        width = max(40, self.tree.header().sectionSize(0) - icon - 8)
        bounds = option.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, text)
        return QSize(hint.width(), max(hint.height(), bounds.height() + 8))


class ProblemsPanel(QWidget):
    """The list of problems of the open network."""

    node_activated = Signal(str)  # node id
    count_changed = Signal(int, int)  # errors, warnings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller: DocumentController | None = None
        self.problems: list[Problem] | None = None
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)  # a long message wraps in a narrow dock instead of ending in "…"
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(0)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setItemDelegate(WrappingDelegate(self.tree))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.sectionResized.connect(lambda *_: QTimer.singleShot(0, self.tree, self.tree.doItemsLayout))
        for column in (1, 2, 3):
            self.tree.setColumnHidden(column, True)
        self.empty = QLabel("No problems: the network is valid.", self)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.empty)
        self.empty.hide()
        self.tree.itemActivated.connect(self._activated)

    def set_controller(self, controller: DocumentController | None) -> None:
        if self.controller is not None:
            self.controller.analysis_changed.disconnect(self.show_analysis)
        self.controller = controller
        if controller is not None:
            controller.analysis_changed.connect(self.show_analysis)
            self.show_analysis(controller.analysis)
        else:
            self.tree.clear()

    def show_analysis(self, analysis: Analysis) -> None:
        """List the problems of `analysis` (skipped when they did not change)."""
        if self.problems is not None and analysis.problems == self.problems:
            self._rename_rows()
            return
        self.problems = list(analysis.problems)
        self.tree.clear()
        names = self.controller.network.nodes
        for problem in self.problems:
            node = names.get(problem.node_id) if problem.node_id else None
            name = node.name if node else "(network)"
            item = QTreeWidgetItem(self.tree, [f"{name}: {problem.message}", name, problem.message, ""])
            item.setIcon(0, severity_icon(problem.severity))
            item.setToolTip(0, problem.message)
            item.setData(0, NODE_ROLE, problem.node_id)
            if problem.fix is not None:
                row = QTreeWidgetItem(item, ["", "", "", ""])
                row.setData(0, NODE_ROLE, problem.node_id)
                row.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.tree.setItemWidget(row, 0, self._fix_row(problem))
                item.setExpanded(True)
        self.tree.setVisible(bool(self.problems))
        self.empty.setVisible(not self.problems)
        self.count_changed.emit(len(analysis.errors), len(analysis.warnings))

    def _rename_rows(self) -> None:
        names = self.controller.network.nodes
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            node = names.get(item.data(0, NODE_ROLE) or "")
            if node is not None and item.text(1) != node.name:
                item.setText(1, node.name)
                item.setText(0, f"{node.name}: {item.text(2)}")

    def _fix_button(self, problem: Problem) -> QToolButton:
        fix = problem.fix
        title = self.controller.doc.registry.get(fix.insert_type).title
        button = QToolButton()
        button.setObjectName("fixButton")
        button.setText(f"Insert {title}")
        button.setToolTip(fix.description[:1].upper() + fix.description[1:])
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda: self.controller.apply_fix(fix, problem.path))
        return button

    def _fix_row(self, problem: Problem) -> QWidget:
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(24, 0, 0, 2)
        row.addWidget(self._fix_button(problem))
        row.addStretch(1)
        return host

    def fix_buttons(self) -> list[QToolButton]:
        found = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            for j in range(item.childCount()):
                widget = self.tree.itemWidget(item.child(j), 0)
                button = widget.findChild(QToolButton) if widget is not None else None
                if button is not None:
                    found.append(button)
        return found

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.tree.doItemsLayout()  # wrapped rows take their height for the new width

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        node_id = item.data(0, NODE_ROLE)
        if node_id:
            self.node_activated.emit(node_id)
