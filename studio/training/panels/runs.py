"""The project's past runs: settings and best metrics, comparison, deletion.

The table lists `engine.runs.list_runs(project)` (only each run's small run.json is read).
Selecting runs puts their per-epoch metrics into the `RunComparison`, which the Loss and Metrics
panels draw as dashed curves; with exactly two selected, the Run Diff panel shows what changed
between them. Delete asks first and removes the run as one undo step
(`DeleteRunCommand`). The context menu of a run has "Fork from epoch…", which asks the training UI
to fork it (`fork_requested`; `studio.training.fork_action`); a forked run names its parent in the
Settings column. The run store is light (no torch), so the list shows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.runs import RunError, get_run, list_runs, run_ids
from studio.training.panels.base import Panel, PanelContext
from studio.training.project_commands import DeleteRunCommand

COLUMNS = ("Run", "Status", "Epochs", "Best val loss", "Best val accuracy", "Test accuracy", "Settings", "Started")


def settings_text(settings: dict[str, Any]) -> str:
    """``adam lr 0.002 · batch 64 · 8 epochs`` for a run's settings."""
    opt = settings.get("optimizer", {})
    parts = [f"{opt.get('kind', 'adam')} lr {opt.get('lr', 0.001):g}", f"batch {settings.get('batch_size', 64)}",
             f"{settings.get('epochs', 10)} epochs"]
    return " · ".join(parts)


def sweep_text(sweep: dict[str, Any]) -> str:
    """``trial 3: optimizer.lr 0.0123 · hidden1.out_features 24`` for a sweep's trial (its parameters)."""
    params = sweep.get("params") if isinstance(sweep.get("params"), dict) else {}
    shown = []
    for target, value in sorted(params.items()):
        name = str(target).removeprefix("setting:").removeprefix("node:").replace(":", ".")
        shown.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return f"trial {sweep.get('trial', '?')}: " + " · ".join(shown)


def parent_text(parent: dict[str, Any] | None) -> str:
    """``from run-1 @ epoch 3 · `` for a forked run (empty for others)."""
    if not parent:
        return ""
    epoch = str(parent.get("epoch", ""))
    where = f"epoch {epoch}" if epoch.isdigit() else f"{epoch} weights"
    return f"from {parent.get('run_id', '?')} @ {where} · "


def _percent(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, (int, float)) else "—"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "—"


def ask(parent: QWidget, text: str) -> bool:
    answer = QMessageBox.question(parent, "Delete run", text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


class RunsPanel(Panel):
    """Past runs of the open project."""

    name, title = "runs", "Runs"
    fork_requested = Signal(str)  # run id: "Fork from epoch…" was chosen

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.confirm: Callable[[QWidget, str], bool] = ask
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setMinimumWidth(160)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.menu: QMenu | None = None
        self.hint = QLabel("Select runs to compare their curves in the Loss and Metrics panels; select two to "
                           "see what changed between them in Run Diff; right-click a run to fork it.")
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setEnabled(False)
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        row.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        ws = context.workspace
        ws.document_changed.connect(self._maybe_refresh)
        self.summaries: list[Any] = []
        self.refresh()

    def project_changed(self) -> None:
        """Another project: its runs, none selected, and no overlay of the previous project's runs."""
        self.summaries = []
        self.tree.clear()
        self.context.comparison.set_runs({})
        self.refresh()

    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.summaries]

    def selected_ids(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems()]

    def refresh(self) -> None:
        """Re-read the project's runs (keeping the selection)."""
        project = self.context.workspace.project
        if project is None:
            self.summaries = []
            self.tree.clear()
            return
        selected = set(self.selected_ids())
        self.summaries = list_runs(project)
        self.tree.blockSignals(True)
        self.tree.clear()
        for s in reversed(self.summaries):  # newest first
            # a sweep's trial lists the values it tried (the parameters that make it differ)
            plain = settings_text(s.settings)
            shown = parent_text(s.parent) + (sweep_text(s.sweep) if s.sweep else plain)
            item = QTreeWidgetItem([s.run_id, s.status, str(s.epochs), _number(s.best.get("val_loss")),
                                    _percent(s.best.get("val_accuracy")), _percent(s.test.get("accuracy")),
                                    shown, s.started.replace("T", " ")[:19]])
            item.setData(0, Qt.ItemDataRole.UserRole, s.run_id)
            item.setToolTip(6, shown if not s.sweep else f"{shown}\n{plain}")
            self.tree.addTopLevelItem(item)
            item.setSelected(s.run_id in selected)
        self.tree.blockSignals(False)
        for column in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(column)
        self._selection_changed()

    def _maybe_refresh(self) -> None:
        project = self.context.workspace.project
        if project is not None and run_ids(project) != [s.run_id for s in self.summaries]:
            self.refresh()

    def _selection_changed(self) -> None:
        ids = self.selected_ids()
        self.delete_button.setEnabled(bool(ids) and not self.context.runs.active)
        project = self.context.workspace.project
        if project is None:
            return
        runs: dict[str, list[dict[str, Any]]] = {}
        for run_id in ids:
            try:
                runs[run_id] = get_run(project, run_id).epochs
            except RunError:
                continue
        self.context.comparison.set_runs(runs)

    def context_menu(self, run_id: str) -> QMenu:
        """The actions for one run: fork it (not while a run trains)."""
        menu = QMenu(self)
        menu.setObjectName("runsContextMenu")
        fork = QAction("Fork from Epoch…", menu)
        fork.setObjectName("action_fork_run")
        fork.setToolTip("Start a new run of the network as it is now from this run's weights")
        fork.setEnabled(not self.context.runs.active)
        fork.triggered.connect(lambda: self.fork_requested.emit(run_id))
        menu.addAction(fork)
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        item.setSelected(True)
        self.menu = self.context_menu(item.data(0, Qt.ItemDataRole.UserRole))
        self.menu.popup(self.tree.viewport().mapToGlobal(pos))  # non-blocking: the GUI keeps drawing

    def delete_selected(self) -> bool:
        """Delete the selected runs after asking; one undo step per run."""
        ids = self.selected_ids()
        project = self.context.workspace.project
        if not ids or project is None or self.context.runs.active:
            return False
        names = ", ".join(ids)
        if not self.confirm(self, f"Delete {names} from the project? Its metrics and weights are removed "
                                  "(Undo brings them back until the project is closed)."):
            return False
        self.context.workspace.push(*(DeleteRunCommand(project, run_id) for run_id in ids),
                                    text=f"Delete {len(ids)} runs")
        self.refresh()
        return True
