"""The run controls: Train, Pause, Resume and Stop actions, the Run menu and the status-bar progress.

`RunActions` makes the four actions (F5 trains, F6 pauses, F5 resumes a paused run, Shift+F5
stops; only the ones that apply are enabled, so F5 is never ambiguous), the canvas-health mode
actions (an exclusive group: off, gradient norm, dead units), and a progress bar with an
"Epoch 2/8 · step 12/33 · 0:42 left" label that `show_state` and `show_progress` keep current.
Icons are drawn here in the theme's colours, so no image files are needed.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMenuBar, QProgressBar, QToolBar

from studio.run_controller import RunProgress
from studio.training.canvas_health import MODES

HEALTH_TITLES = {"off": "&Plain", "grad_norm": "By &Gradient Norm", "dead_units": "By &Dead Units"}
ENABLED = {"idle": ("train",), "starting": ("stop",), "running": ("pause", "stop"), "paused": ("resume", "stop"),
           "stopping": ()}


def run_icon(kind: str, color: str, side: int = 32) -> QIcon:
    """A play, pause or stop symbol in `color`."""
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    s = side / 32
    if kind in ("train", "resume"):
        p.drawPolygon(QPolygonF([QPointF(9 * s, 6 * s), QPointF(26 * s, 16 * s), QPointF(9 * s, 26 * s)]))
    elif kind == "pause":
        p.drawRoundedRect(QRectF(8 * s, 6 * s, 6 * s, 20 * s), 1.5 * s, 1.5 * s)
        p.drawRoundedRect(QRectF(18 * s, 6 * s, 6 * s, 20 * s), 1.5 * s, 1.5 * s)
    else:
        p.drawRoundedRect(QRectF(8 * s, 8 * s, 16 * s, 16 * s), 2 * s, 2 * s)
    p.end()
    return QIcon(pixmap)


class RunActions:
    """Actions, menu entries and status-bar widgets of the run controls."""

    SPECS = {  # name: (text, shortcut, tip)
        "train": ("&Train", "F5", "Train the network on the project's dataset (F5)"),
        "pause": ("&Pause", "F6", "Pause training after the current step (F6)"),
        "resume": ("&Resume", "F5", "Resume the paused run (F5)"),
        "stop": ("&Stop", "Shift+F5", "Stop training; the weights so far are kept (Shift+F5)"),
    }

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.all: dict[str, QAction] = {}
        for name, (text, key, tip) in self.SPECS.items():
            action = QAction(text, window)
            action.setObjectName(f"action_{name}")
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            self.all[name] = action
        self.health_group = QActionGroup(window)
        self.health: dict[str, QAction] = {}
        for mode in MODES:
            action = QAction(HEALTH_TITLES[mode], window, checkable=True)
            action.setObjectName(f"action_health_{mode}")
            action.setChecked(mode == "off")
            self.health_group.addAction(action)
            self.health[mode] = action
        self.progress = QProgressBar()
        self.progress.setObjectName("trainingProgress")
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("trainingProgressLabel")
        self.state = "idle"
        bar = window.statusBar()
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress)
        self.show_state("idle")

    def add_to(self, toolbar: QToolBar, menu_bar: QMenuBar, before: QMenu | None = None) -> QMenu:
        """Put the controls on `toolbar` and in a Run menu before the menu `before` (or at the end)."""
        toolbar.addSeparator()
        toolbar.addActions([self.all[n] for n in ("train", "pause", "resume", "stop")])
        menu = QMenu("&Run", self.window)
        menu.setObjectName("menu_run")
        menu.addActions([self.all[n] for n in ("train", "pause", "resume", "stop")])
        menu.addSeparator()
        colour = menu.addMenu("&Colour Nodes")
        colour.addActions(list(self.health.values()))
        if before is not None:
            menu_bar.insertMenu(before.menuAction(), menu)
        else:
            menu_bar.addMenu(menu)
        return menu

    def tint(self, color: str) -> None:
        for name, action in self.all.items():
            action.setIcon(run_icon(name, color))

    def show_state(self, state: str) -> None:
        self.state = state
        for name, action in self.all.items():
            action.setEnabled(name in ENABLED.get(state, ()))
        busy = state != "idle"
        self.progress.setVisible(busy)
        self.progress_label.setVisible(busy)
        if state == "starting":
            self.progress.setRange(0, 0)  # busy indicator until the worker reports
            self.progress_label.setText("Starting the training process…")
        elif state == "paused":
            self.progress_label.setText("Paused · " + self.progress_label.text())

    def show_progress(self, progress: RunProgress) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(min(max(progress.fraction, 0.0), 1.0) * 1000))
        self.progress_label.setText(("Paused · " if self.state == "paused" else "") + progress.text())
