"""The Run Diff panel: what changed between the two runs selected in the Runs panel.

It follows the run comparison (`PanelContext.comparison`, set by the Runs panel's selection): when
exactly two runs are chosen it computes `engine.diff.run_diff.diff_runs` (the older run is
*before*) and comes to the front with three tabs:

- *Architecture*: both runs' networks on read-only canvases, one above the other (`DiffCanvas`),
  added, removed and changed nodes and blocks ringed in colour with a legend, and the list of
  changes with the changed parameters (clicking one centres both canvases on its node); a block
  double-clicked on either side opens in place on both, with the marks of its inside; zooming one side
  (the wheel) zooms the other alike, while each fits its own network when shown;
- *Settings*: the settings diff as a table (`SettingsDiffTable`);
- *Curves*: the two runs' loss and metric per epoch overlaid (`CurvesOverlay`, pyqtgraph).

Docked among the pictures it is small, so the first time it shows a pair in a dock too small to read
two networks it floats as a window of two thirds of the main window (docking it back is remembered
for the session). With any other number of runs selected it says how to use it. Reading and diffing two runs is
cheap (JSON and safetensors headers, no torch), so it runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.diff.network_diff import ADDED, CHANGED, REMOVED, Change, Mark
from engine.diff.run_diff import RunDiff, diff_runs
from engine.runs import RunError
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.diff_view.curves import CurvesOverlay
from studio.training.panels.diff_view.diff_canvas import STATUS_COLORS, DiffCanvas, legend
from studio.training.panels.diff_view.settings_table import SettingsDiffTable

HINT = "Select two runs in the Runs panel to see what changed between them: network, settings and curves."
CHANGE_COLUMNS = ("Change", "Where", "Type", "What changed")
ROOMY = (640, 420)  # a docked panel smaller than this floats the first time a pair is shown


def summary_text(diff: RunDiff) -> str:
    """``run-1 → run-2: 8 blocks added · 1 setting changed``."""
    parts = []
    if diff.network is None:
        parts.append("networks not compared")
    elif diff.network.empty:
        parts.append("same network")
    else:
        for status, changes in ((ADDED, diff.network.added), (REMOVED, diff.network.removed),
                                (CHANGED, diff.network.changed)):
            if changes:
                blocks = sum(c.entry.kind != "layer" for c in changes)
                what = "blocks" if blocks == len(changes) else "nodes"
                parts.append(f"{len(changes)} {what if len(changes) != 1 else what[:-1]} {status}")
    n = len(diff.changed_settings)
    parts.append(f"{n} setting{'s' if n != 1 else ''} changed" if n else "same settings")
    return f"{diff.a.run_id} → {diff.b.run_id}: " + " · ".join(parts)


def _when(started: str) -> str:
    return f"(started {started[:16].replace('T', ' ')})" if started else ""


def type_text(change: Change) -> str:
    if change.status == CHANGED and change.type_before and change.type_before != change.entry.type_id:
        return f"{change.type_before} → {change.entry.type_id}"
    return change.entry.type_id


class RunDiffPanel(Panel):
    """Architecture, settings and curves of two runs, compared."""

    name, title = "run_diff", "Run Diff"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.diff: RunDiff | None = None
        self.pair: tuple[str, str] | None = None
        self._floated_once = False
        self.hint = QLabel(HINT)
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel()
        self.summary.setObjectName("runDiffSummary")
        self.summary.setWordWrap(True)
        self.before = DiffCanvas(context.theme)
        self.after = DiffCanvas(context.theme)
        self.network_note = QLabel()
        self.network_note.setWordWrap(True)
        self.network_note.hide()
        self.changes = QTreeWidget()
        self.changes.setHeaderLabels(list(CHANGE_COLUMNS))
        self.changes.setRootIsDecorated(False)
        self.changes.setAlternatingRowColors(True)
        self.changes.setUniformRowHeights(True)
        self.changes.itemClicked.connect(self._change_clicked)
        self.changes.setMinimumHeight(48)
        self._following = False
        self.before.level_changed.connect(lambda path: self._follow(self.after, path))
        self.after.level_changed.connect(lambda path: self._follow(self.before, path))
        # zoomed by a person, both sides keep one scale, so sizes compare at a glance
        self.before.zoomed.connect(self.after.follow_zoom)
        self.after.zoomed.connect(self.before.follow_zoom)
        self.canvases = QSplitter(Qt.Orientation.Vertical)  # networks run left to right: one above the other
        self.canvases.addWidget(self.before)
        self.canvases.addWidget(self.after)
        self.canvases.setChildrenCollapsible(False)
        architecture = QSplitter(Qt.Orientation.Vertical)
        architecture.addWidget(self.canvases)
        architecture.addWidget(self.changes)
        architecture.setStretchFactor(0, 5)
        architecture.setStretchFactor(1, 2)
        architecture.setChildrenCollapsible(False)
        arch_page = QWidget()
        arch_layout = QVBoxLayout(arch_page)
        arch_layout.setContentsMargins(4, 4, 4, 4)
        arch_layout.addWidget(legend())
        arch_layout.addWidget(self.network_note)
        arch_layout.addWidget(architecture, 1)
        self.settings_table = SettingsDiffTable()
        self.curves = CurvesOverlay(context.theme)
        self.tabs = QTabWidget()
        self.tabs.addTab(arch_page, "Architecture")
        self.tabs.addTab(self.settings_table, "Settings")
        self.tabs.addTab(self.curves, "Curves")
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.summary)
        column.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)
        context.comparison.changed.connect(self._comparison_changed)

    def sizeHint(self) -> QSize:
        return QSize(320, 240)  # a dock among the pictures; float it or widen it to read a big network

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 120)

    # ---- following the Runs panel ----------------------------------------------------------
    def _comparison_changed(self, runs: dict[str, Any]) -> None:
        ids = list(runs)
        if len(ids) != 2:
            self.show_hint()
            return
        if self.pair is not None and set(ids) == set(self.pair) and self.stack.currentIndex() == 1:
            return  # the same two runs again (the list was refreshed): nothing to redo, nothing to raise
        self.show_pair(ids[0], ids[1])

    def show_pair(self, run_a: str, run_b: str) -> bool:
        """Diff two runs of the open project and show it; False when either cannot be read."""
        project = self.context.workspace.project
        if project is None:
            return False
        try:
            diff = diff_runs(project, run_a, run_b)
        except RunError as exc:
            self.show_hint(str(exc))
            return False
        self.diff, self.pair = diff, (diff.a.run_id, diff.b.run_id)
        self.summary.setText(summary_text(diff))
        self._show_architecture(diff)
        self.settings_table.show_rows(diff.settings, diff.a.run_id, diff.b.run_id)
        self.curves.show_runs(diff.a.run_id, diff.a.epochs, diff.b.run_id, diff.b.epochs)
        self.stack.setCurrentIndex(1)
        self.bring_forward()
        return True

    def _show_architecture(self, diff: RunDiff) -> None:
        self.changes.clear()
        if diff.network is None or diff.network_a is None or diff.network_b is None:
            self.before.clear()
            self.after.clear()
            self.network_note.setText(diff.network_error)
            self.network_note.show()
            return
        self.network_note.setVisible(diff.network.empty)
        self.network_note.setText("The two runs trained the same network.")
        network = diff.network

        def marks_at(path: Sequence[str]) -> dict[str, Mark]:
            return network.body_marks(path) if path else network.marks()

        self.before.show_network(diff.network_a, marks_at, f"before: {diff.a.run_id}  {_when(diff.a.started)}",
                                 diff.a.run_id)
        self.after.show_network(diff.network_b, marks_at, f"after: {diff.b.run_id}  {_when(diff.b.started)}",
                                diff.b.run_id)
        for change in diff.network.changes:
            item = QTreeWidgetItem([change.status, change.label, type_text(change), "; ".join(change.details)])
            item.setForeground(0, QBrush(QColor(STATUS_COLORS[change.status])))
            item.setData(0, Qt.ItemDataRole.UserRole, change.key[0])
            item.setToolTip(3, "\n".join(change.details))
            self.changes.addTopLevelItem(item)
        for column in range(len(CHANGE_COLUMNS) - 1):
            self.changes.resizeColumnToContents(column)

    def _follow(self, other: DiffCanvas, path: list[str]) -> None:
        """A block opened (or left) on one side opens (or leaves) on the other too."""
        if self._following:
            return
        self._following = True
        try:
            other.show_path(path)
        finally:
            self._following = False

    def _change_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        node_id = item.data(0, Qt.ItemDataRole.UserRole)
        for canvas in (self.before, self.after):
            canvas.show_path([])
            canvas.centre_on(node_id)

    def show_hint(self, text: str = HINT) -> None:
        self.hint.setText(text)
        self.stack.setCurrentIndex(0)

    def bring_forward(self) -> None:
        """Show this panel's dock in front of the docks it is tabbed with. The first time, a dock too small
        to read two networks in floats as a window of two thirds of the main window (dock it back at will)."""
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is None:
            return
        dock.show()
        dock.raise_()
        if self._floated_once or dock.isFloating():
            return
        if self.width() < ROOMY[0] or self.height() < ROOMY[1]:
            self._floated_once = True
            main = dock.parentWidget().window() if dock.parentWidget() is not None else None
            dock.setFloating(True)
            if main is not None:
                area = main.geometry()
                size = QSize(max(ROOMY[0], area.width() * 2 // 3), max(ROOMY[1], area.height() * 2 // 3))
                dock.resize(size)
                dock.move(area.center().x() - size.width() // 2, area.center().y() - size.height() // 2)

    # ---- Panel ---------------------------------------------------------------------------
    def project_changed(self) -> None:
        self.diff, self.pair = None, None
        self.before.clear()
        self.after.clear()
        self.changes.clear()
        self.show_hint()

    def apply_theme(self, t: Theme) -> None:
        self.curves.apply_theme(t)
        for canvas in (self.before, self.after):
            canvas.theme = t
            if canvas.scene is not None:
                canvas.scene.set_colors(t.canvas)
