"""The learning-rate tools at the top of the Training panel: find a rate, and change it while training.

`LearningRateTools` holds a "Find learning rate…" button (it emits `find_requested`; the training
UI opens the finder, `studio.training.lr_finder_dialog`) and, while a run trains, a "Learning rate
now" field with a Set button. Set sends the rate to the running worker through the run controller
(`RunController.set_lr`): the next step uses it, the schedule goes on from it, the run records it
and the Learning Rate plot marks it. The field shows the rate of the latest step until the person
types in it. The form below stays read-only while a run trains; these tools are what a person may
change then. A value that is not a positive number is refused with a message and nothing is sent.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.run_controller import IDLE, PAUSED, RUNNING, RunController

LIVE_STATES = (RUNNING, PAUSED)
RATE_FIELD_WIDTH = 80


def parse_rate(text: str) -> float | None:
    """A positive finite rate from what was typed (``0.01``, ``1e-3``), else None."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


class LearningRateTools(QWidget):
    """Find a learning rate (idle) or set it live (while a run trains)."""

    find_requested = Signal()

    def __init__(self, runs: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.find_button = QPushButton("Find learning rate…")
        self.find_button.setObjectName("findLearningRate")
        self.find_button.setToolTip("Sweep the learning rate over a few hundred steps and suggest one "
                                    "(the network's weights are left as they are)")
        self.find_button.clicked.connect(self.find_requested.emit)
        self.rate = QLineEdit()
        self.rate.setObjectName("liveLearningRate")
        self.rate.setPlaceholderText("e.g. 0.001")
        self.rate.returnPressed.connect(self.send)
        self.set_button = QPushButton("Set")
        self.set_button.setObjectName("setLearningRate")
        self.set_button.setToolTip("Train with this learning rate from the next step on; the schedule "
                                   "continues from it and the run records the change")
        self.set_button.clicked.connect(self.send)
        self.rate.setMinimumWidth(RATE_FIELD_WIDTH)  # 0.000125 stays readable
        self.note = QLabel("")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.live = QWidget()
        live = QVBoxLayout(self.live)  # the label above the field: the Training dock is often narrow
        live.setContentsMargins(0, 0, 0, 0)
        live.setSpacing(2)
        live.addWidget(QLabel("Learning rate now"))
        row = QHBoxLayout()
        row.addWidget(self.rate, 1)
        row.addWidget(self.set_button)
        live.addLayout(row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.find_button)
        layout.addWidget(self.live)
        layout.addWidget(self.note)
        runs.state_changed.connect(self._state_changed)
        runs.steps_arrived.connect(self._steps)
        runs.lr_changes_arrived.connect(self._changed)
        self._state_changed(runs.state)

    def _state_changed(self, state: str) -> None:
        live = state in LIVE_STATES
        self.live.setVisible(state != IDLE)
        self.live.setEnabled(live)
        self.find_button.setEnabled(state == IDLE)
        if state == IDLE:
            self._say("")
            self.rate.clear()

    def _steps(self, steps: list[t.Step]) -> None:
        if steps and not self.rate.hasFocus():  # never rewrite what the person is typing
            self.rate.setText(f"{float(steps[-1].lr):.4g}")

    def _changed(self, changes: list[t.LRChanged]) -> None:
        last = changes[-1]
        self._say(f"Set to {last.lr:.3g} after step {last.step} (was {last.previous:.3g}).")

    def send(self) -> bool:
        """Send the typed rate to the running worker; False (with the reason shown) when it cannot go."""
        value = parse_rate(self.rate.text())
        if value is None:
            self._say(f"'{self.rate.text()}' is not a learning rate (a positive number).")
            return False
        if not self.runs.set_lr(value):
            self._say("No run is training now.")
            return False
        self._say(f"Setting the learning rate to {value:g}…")
        self.rate.clearFocus()
        return True

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.updateGeometry()  # a wrapped note is taller: the form below moves down
