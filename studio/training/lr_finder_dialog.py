"""The learning-rate finder's window: the sweep drawn live, the suggestion marked, "Use this rate".

`LRFinderDialog` runs a sweep (`engine.train.lr_finder`) of the open project in a worker process,
exactly like a training run (its own `RunController`, so the training panels and the project's runs
are left alone; the main controller's warm worker is borrowed when one is waiting). The loss curve
is drawn as the points arrive: the raw batch losses faint, the smoothed loss bold, on a log
learning-rate axis, with the y range held to where the curve says something (a diverging tail
would flatten it). At the end the suggestion is marked with a line and a point and named below
the plot; "Use this rate" writes it into the project's training settings as one undo step (the
project becomes unsaved). Closing the window stops a sweep in progress. No torch is loaded here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from engine import telemetry as t
from engine.train.job import TrainingJob
from engine.train.lr_find_config import LRFindConfig, lr_find_task, rounded_rate
from engine.train.settings import SettingsError, TrainingSettings
from studio.run_controller import RunController
from studio.theme import Theme
from studio.training.panels.style import TRAIN, VALIDATION, new_plot, series_color
from studio.training.project_commands import SetSectionCommand

if TYPE_CHECKING:
    from studio.training.workspace import Workspace

RUN_ID = "lr-find"


class LRFinderDialog(QDialog):
    """A learning-rate sweep of the open project, drawn live, with its suggestion."""

    def __init__(self, workspace: Workspace, main_runs: RunController, theme: Theme,
                 launcher: Callable[..., Any] | None = None, threads: int = 0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lrFinderDialog")
        self.setWindowTitle("Find Learning Rate")
        self.workspace, self.main_runs, self.theme = workspace, main_runs, theme
        self.launcher, self.threads = launcher, threads
        self.runs = RunController(self)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.suggestion: float | None = None
        self.result: t.LRFindSuggestion | None = None
        self.applied: float | None = None
        self.error = ""
        self._build()
        self.runs.lr_find_points_arrived.connect(self._points)
        self.runs.lr_find_suggestion_arrived.connect(self._suggested)
        self.runs.error_arrived.connect(self._failed)
        self.runs.state_changed.connect(self._state_changed)
        self.resize(720, 520)

    def _build(self) -> None:
        t_ = self.theme
        self.plot = new_plot(t_, "learning rate", "loss", long_series=False, legend_offset=(-8, 8))
        item = self.plot.getPlotItem()
        item.setLogMode(x=True)
        self.raw_curve = item.plot(name="batch loss", pen=pg.mkPen(series_color(TRAIN, t_), width=1.0))
        self.raw_curve.setOpacity(0.35)
        self.curve = item.plot(name="smoothed loss", pen=pg.mkPen(series_color(TRAIN, t_), width=2.2))
        marked = series_color(VALIDATION, t_)
        self.point = item.plot(name="suggestion", pen=None, symbol="o", symbolSize=11,
                               symbolBrush=marked, symbolPen=pg.mkPen(t_.base, width=1.5))
        self.line = pg.InfiniteLine(angle=90, movable=False,
                                    pen=pg.mkPen(marked, width=1.4, style=Qt.PenStyle.DashLine))
        self.line.hide()
        item.addItem(self.line, ignoreBounds=True)
        self.summary = QLabel("")
        self.summary.setObjectName("lrFinderSummary")
        self.summary.setWordWrap(True)
        self.steps = QSpinBox()
        self.steps.setRange(20, 2000)
        self.steps.setValue(LRFindConfig().steps)
        self.steps.setSuffix(" steps")
        self.start_button = QPushButton("Run Again")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.runs.stop)
        self.use_button = QPushButton("Use This Rate")
        self.use_button.setObjectName("useLearningRate")
        self.use_button.setDefault(True)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.use_rate())
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Sweep"))
        buttons.addWidget(self.steps)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)

    # ---- the sweep -------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a sweep of the open project as it is now; False when one runs or nothing is open."""
        project = self.workspace.project
        if project is None or self.runs.active:
            return False
        try:
            job = TrainingJob.from_project(project, RUN_ID, self.workspace.base_dir)
        except (SettingsError, ValueError) as exc:
            self._show_error(str(exc))
            return False
        job.task = lr_find_task(LRFindConfig(steps=self.steps.value()))
        if job.settings.cpu_threads == 0 and self.threads:
            job.settings.cpu_threads = self.threads  # a core stays with the studio, as for training
        self.lrs, self.losses, self.smoothed = [], [], []
        self.suggestion, self.result, self.error = None, None, ""
        self.line.hide()
        self.point.setData([], [])
        self.use_button.setEnabled(False)
        self.summary.setText(f"Sweeping the learning rate over {job.task['steps']} steps, from "
                             f"{job.task['start_lr']:g} to {job.task['end_lr']:g}…")
        self.runs.start(job, RUN_ID, base_dir=self.workspace.base_dir, launcher=self._launcher())
        return True

    def _launcher(self) -> Callable[..., Any] | None:
        """The given launcher, or the training UI's warm worker when one is waiting (torch loaded)."""
        if self.launcher is not None:
            return self.launcher
        spare = self.main_runs.spare
        if spare is None or not spare.alive or spare.used:
            return None
        self.main_runs.spare = None
        return lambda source, run_id, base_dir: spare.start(source, run_id=run_id, base_dir=base_dir)

    def _points(self, batches: list[t.LRFindPoints]) -> None:
        for points in batches:
            self.lrs += [float(v) for v in points.lrs]
            self.losses += [float(v) for v in points.losses]
            self.smoothed += [float(v) for v in points.smoothed]
        self.redraw()

    def redraw(self) -> None:
        finite = [(x, y, s) for x, y, s in zip(self.lrs, self.losses, self.smoothed)
                  if math.isfinite(y) and math.isfinite(s)]
        self.raw_curve.setData([p[0] for p in finite], [p[1] for p in finite])
        self.curve.setData([p[0] for p in finite], [p[2] for p in finite])
        if finite:  # hold the y range to the curve's useful part: a diverging tail would flatten it
            smooth = [p[2] for p in finite]
            low, first = min(smooth), smooth[0]
            high = max(first * 1.25, low * 1.1, min(max(smooth), first * 2.0))
            self.plot.getPlotItem().setYRange(low - 0.05 * (high - low), high, padding=0)
            self.plot.getPlotItem().enableAutoRange(x=True)

    def _suggested(self, message: t.LRFindSuggestion) -> None:
        self.result = message
        self.suggestion = float(message.suggestion) if message.suggestion is not None else None
        ended = {"diverged": "stopped where the loss diverged", "stopped": "was stopped",
                 "completed": "ran to its end"}.get(message.stop_reason, message.stop_reason)
        if self.suggestion is None:
            self.summary.setText(f"No learning rate could be suggested: the loss was never finite "
                                 f"({message.points} steps).")
            return
        rate = rounded_rate(self.suggestion)
        how = ("half way down the longest valley of the smoothed loss" if message.method == "valley" else
               "the minimum of the smoothed loss divided by ten (the curve has no clear valley)")
        self.summary.setText(f"<b>Suggested learning rate: {rate:g}</b> — {how}. The sweep {ended} after "
                             f"{message.points} steps; the network's weights are as they were.")
        self.line.setPos(math.log10(self.suggestion))
        self.line.show()
        near = min(range(len(self.lrs)), key=lambda i: abs(math.log(self.lrs[i] / self.suggestion))) \
            if self.lrs else None
        if near is not None and math.isfinite(self.smoothed[near]):
            self.point.setData([self.suggestion], [self.smoothed[near]])
        self.use_button.setEnabled(True)

    def _failed(self, message: t.Error) -> None:
        self._show_error(message.message)

    def _show_error(self, text: str) -> None:
        self.error = text
        self.summary.setText(f"<span style='color:{self.theme.canvas.error}'><b>The sweep could not run:</b> "
                             f"{text}</span>")

    def _state_changed(self, state: str) -> None:
        busy = state != "idle"
        self.stop_button.setEnabled(busy)
        self.start_button.setEnabled(not busy)
        self.steps.setEnabled(not busy)
        if not busy and self.main_runs.warm_workers and not self.main_runs.active:
            self.main_runs.prepare_worker()  # the borrowed warm worker is replaced

    # ---- applying ----------------------------------------------------------------------------
    def use_rate(self) -> bool:
        """Write the suggestion into the project's optimizer.lr: one undo step, the project unsaved."""
        project = self.workspace.project
        if self.suggestion is None or project is None:
            return False
        rate = rounded_rate(self.suggestion)
        try:
            settings = TrainingSettings.from_json(project.training).to_json()
        except SettingsError as exc:
            self._show_error(f"the training settings do not parse, so the rate cannot be set: {exc}")
            return False
        settings["optimizer"]["lr"] = rate
        if not self.workspace.editable:
            self._show_error("the project is read-only while a run trains; use the rate once it has finished")
            return False
        self.workspace.push(SetSectionCommand(project, "training", settings, f"Set learning rate to {rate:g} (found)"))
        self.applied = rate
        self.use_button.setEnabled(False)
        self.summary.setText(self.summary.text() + f"<br>The project's learning rate is now {rate:g} "
                             "(Undo takes it back).")
        return True

    def closeEvent(self, event) -> None:
        if self.runs.handle is not None:  # a sweep in progress (or its worker still exiting) ends with the window
            self.runs.shutdown()
            if self.main_runs.warm_workers and not self.main_runs.active:
                self.main_runs.prepare_worker()  # replace a borrowed warm worker (not while the studio closes)
        super().closeEvent(event)
