"""The settings diff as a table: one row per setting, the two runs' values side by side.

`SettingsDiffTable.show_rows(rows, name_a, name_b)` fills the table from
`engine.diff.run_diff.settings_rows` (every declared training setting, then the dataset's); with
*Only differences* checked (the default) it shows just the rows whose values differ, in bold on a
tinted background, and says so when none do.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.diff.settings_diff import SettingRow
from studio.training.panels.diff_view.diff_canvas import STATUS_COLORS

COLUMNS = ("Setting", "Key")


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if value is None:
        return "none"
    return str(value) if value != "" else "(empty)"


class SettingsDiffTable(QWidget):
    """Two runs' settings, differences first and marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[SettingRow] = []
        self.names = ("a", "b")
        self.only_differences = QCheckBox("Only differences")
        self.only_differences.setChecked(True)
        self.only_differences.toggled.connect(lambda _on: self._fill())
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.table = QTableWidget(0, 4)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.only_differences)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

    def show_rows(self, rows: list[SettingRow], name_a: str, name_b: str) -> None:
        self.rows, self.names = list(rows), (name_a, name_b)
        self._fill()

    def shown_rows(self) -> list[SettingRow]:
        return [r for r in self.rows if r.changed or not self.only_differences.isChecked()]

    def _fill(self) -> None:
        shown = self.shown_rows()
        changed = sum(r.changed for r in self.rows)
        self.note.setText(f"{changed} setting{'s differ' if changed != 1 else ' differs'}"
                          if changed else "The two runs were trained with the same settings.")
        self.table.setHorizontalHeaderLabels([*COLUMNS, *self.names])
        self.table.setRowCount(len(shown))
        bold = QFont()
        bold.setBold(True)
        tint = QColor(STATUS_COLORS["changed"])
        tint.setAlpha(40)
        for i, row in enumerate(shown):
            cells = (row.label, row.path, value_text(row.a), value_text(row.b))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{row.section}: {row.path}")
                if row.changed:
                    item.setFont(bold)
                    item.setBackground(tint)
                self.table.setItem(i, column, item)
