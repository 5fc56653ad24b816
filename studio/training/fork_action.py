"""Forking a run from the studio: choose the epoch, start the new run, show what was carried.

The Runs panel's context action "Fork from epoch…" asks `ForkAction.request(run_id)`: a small dialog
(`ForkDialog`) lists the epochs whose weights the run kept (`engine.train.fork.available_epochs`),
then its best and last weights. Accepting it starts a new run of the project as it is NOW (the
edited network, the current settings) from those weights: `engine.train.fork.fork_job` writes them
to a temporary file the worker reads, and the training UI starts the job like any run. The worker
carries every weight whose node path and shape still match and reports the rest; when that report
arrives (`RunController.weights_carried_arrived`), `ForkReportDialog` shows it (non-modal) and the
log has it line by line. The new run records its parent; the Runs panel shows it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine import telemetry as t
from engine.runs import new_run_id
from engine.train.fork import ForkError, available_epochs, fork_job
from engine.train.settings import SettingsError

if TYPE_CHECKING:
    from studio.training.training_ui import TrainingUi


def epoch_label(key: str) -> str:
    return f"after epoch {key}" if key.isdigit() else {"best": "best epoch", "last": "last (end of the run)"}[key]


class ForkDialog(QDialog):
    """Which epoch's weights a fork starts from."""

    def __init__(self, run_id: str, epochs: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("forkDialog")
        self.setWindowTitle(f"Fork {run_id}")
        self.run_id = run_id
        self.epoch = QComboBox()
        for key in epochs:
            self.epoch.addItem(epoch_label(key), key)
        self.epoch.setCurrentIndex(max(0, self.epoch.count() - 1))
        text = QLabel(f"Start a new run from the weights of <b>{run_id}</b>, with the network and settings as "
                      "they are now. Weights are carried by node path and shape; what changed starts afresh "
                      "and is reported.")
        text.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Weights", self.epoch)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Fork and Train")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)

    @property
    def chosen(self) -> str:
        return str(self.epoch.currentData())


class ForkReportDialog(QDialog):
    """What a fork carried from its parent and what it could not (non-modal)."""

    def __init__(self, report: t.WeightsCarried, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("forkReport")
        self.setWindowTitle(f"{report.run_id}: weights carried from {report.parent}")
        self.report = report
        self.lines = lines
        self.text = QTextBrowser()
        self.text.setHtml(report_html(report, lines))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(620, 240)


def report_lines(report: t.WeightsCarried) -> list[str]:
    """The report in words, as the worker logs it (`engine.train.fork.CarryReport.lines`)."""
    from engine.train.fork import CarryReport

    carry = CarryReport(report.parent, report.epoch, list(report.carried), list(report.new),
                        [dict(r) for r in report.reshaped], list(report.dropped))
    return carry.lines()


def report_html(report: t.WeightsCarried, lines: list[str]) -> str:
    head, rest = lines[0], lines[1:]
    items = "".join(f"<li>{line}</li>" for line in rest)
    total = len(report.carried) + len(report.new) + len(report.reshaped)
    verdict = "Everything was carried." if not report.new and not report.reshaped else \
        f"{total - len(report.carried)} weight tensor(s) could not be carried and start freshly initialised."
    return f"<p><b>{report.run_id}</b> {head}.</p><p>{verdict}</p><ul>{items}</ul>"


class ForkAction(QObject):
    """Starts forks of runs and shows their reports."""

    def __init__(self, ui: TrainingUi) -> None:
        super().__init__(ui)
        self.ui = ui
        self.dialog: ForkDialog | None = None
        self.report: ForkReportDialog | None = None
        self._folders: list[Path] = []
        ui.runs.weights_carried_arrived.connect(self._carried)
        ui.runs.run_finished.connect(lambda _m: self._clean())

    def request(self, run_id: str) -> ForkDialog | None:
        """Ask which epoch to fork `run_id` from (non-blocking: accepting the dialog starts the fork)."""
        project = self.ui.workspace.project
        if project is None or self.ui.runs.active:
            return None
        epochs = available_epochs(project, run_id)
        if not epochs:
            self.ui.show_error(f"Cannot fork {run_id}", "the run kept no weights")
            return None
        self.dialog = ForkDialog(run_id, epochs, self.ui.window)
        self.dialog.accepted.connect(lambda d=self.dialog: self.start(d.run_id, d.chosen))
        self.dialog.open()
        return self.dialog

    def start(self, run_id: str, epoch: str) -> bool:
        """Start a new run of the current project from `run_id`'s weights after `epoch`."""
        project = self.ui.workspace.project
        if project is None or self.ui.runs.active or not self.ui.ready_to_start():
            return False
        folder = Path(tempfile.mkdtemp(prefix="layerloom-fork-"))
        try:
            job = fork_job(project, run_id, epoch, new_run_id(project), folder, self.ui.workspace.base_dir)
        except (ForkError, SettingsError, ValueError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            self.ui.show_error(f"Cannot fork {run_id}", str(exc))
            return False
        self._folders.append(folder)
        self.ui.start_job(job, f"forked from {run_id} ({epoch_label(epoch)})")
        return True

    def _carried(self, message: t.WeightsCarried) -> None:
        if self.report is not None:
            self.report.close()
        self.report = ForkReportDialog(message, report_lines(message), self.ui.window)
        self.report.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.report.show()

    def _clean(self) -> None:
        """The worker has read the weights it started from: their temporary files can go."""
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders = []
