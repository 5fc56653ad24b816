"""Sample predictions of the latest epoch: thumbnails with the true and predicted labels.

Image inputs are shown as thumbnails in a grid that reflows with the panel's width; a mistake is
framed and captioned in the error colour with the true label under the prediction; clicking a
thumbnail chooses that validation sample for the Explain panel. Other inputs
(points, sequences, tables) are listed as rows of their first values. Updates come once an epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QLabel, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.thumbnails import ThumbnailGrid


def label_text(value: Any, names: list[str]) -> str:
    """A class index as its name; regression values as a few numbers."""
    if isinstance(value, list):
        return ", ".join(f"{float(v):.3g}" for v in value[:4]) + (" …" if len(value) > 4 else "")
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return str(value)


class PredictionsPanel(Panel):
    """Thumbnails (or rows) of validation samples with true and predicted labels."""

    name, title = "predictions", "Sample Predictions"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.message: t.SamplePredictions | None = None
        self.mistakes = 0
        self._colors = (context.theme.canvas.valid, context.theme.canvas.error)
        self.header = QLabel("Predictions for a few validation samples appear after each epoch.")
        self.header.setWordWrap(True)
        self.grid = ThumbnailGrid()
        self.grid.flag_color = self._colors[1]
        self.grid.clicked.connect(lambda i: context.samples.select("val", i))  # the Explain panel explains it
        context.samples.changed.connect(
            lambda s: self.grid.select(s.index if s is not None and s.split == "val" else None))
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["input", "true", "predicted", ""])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.stack, 1)
        context.runs.predictions_arrived.connect(self._arrived)

    def _arrived(self, message: t.SamplePredictions) -> None:
        self.message = message
        self.mark_dirty()

    def redraw(self) -> None:
        m = self.message
        if m is None:
            self.header.setText("Predictions for a few validation samples appear after each epoch.")
            self.grid.set_items([])
            self.table.setRowCount(0)
            return
        names = list(m.class_names)
        inputs = np.asarray(m.inputs)
        true = [label_text(v, names) for v in m.true]
        predicted = [label_text(v, names) for v in m.predicted]
        ok = [a == b for a, b in zip(m.true, m.predicted)]
        self.mistakes = ok.count(False)
        if inputs.dtype == np.uint8 and inputs.ndim == 4:
            self._show_images(inputs, true, predicted, ok)
        else:
            self._show_rows(inputs, true, predicted, ok)
        tail = f" · {self.mistakes} of {len(ok)} wrong" if names else ""
        self.header.setText(f"Validation samples after epoch {int(m.epoch) + 1}{tail}")

    def _show_images(self, inputs: np.ndarray, true: list[str], predicted: list[str], ok: list[bool]) -> None:
        good, bad = self._colors
        items = []
        for image, truth, p, right in zip(inputs, true, predicted, ok):
            caption = (f"<span style='color:{good}'>✓</span> {p}" if right else
                       f"<span style='color:{bad}'>✗ {p}</span><br><small>true: {truth}</small>")
            items.append((image, caption, f"true: {truth}\npredicted: {p}\nclick to explain", not right))
        self.stack.setCurrentIndex(0)
        if not self.grid.set_items(items):
            self.mark_dirty()  # the rest of the tiles on the next tick

    def _show_rows(self, inputs: np.ndarray, true: list[str], predicted: list[str], ok: list[bool]) -> None:
        self.stack.setCurrentIndex(1)
        self.table.setRowCount(len(inputs))
        for r, row in enumerate(inputs.reshape(len(inputs), -1)):
            text = ", ".join(f"{float(v):.3g}" for v in row[:6]) + (" …" if row.size > 6 else "")
            for c, value in enumerate((text, true[r], predicted[r], "✓" if ok[r] else "✗")):
                self.table.setItem(r, c, QTableWidgetItem(value))

    def clear(self) -> None:
        self.message = None
        self.grid.select(None)

    def apply_theme(self, t: Theme) -> None:
        self._colors = (t.canvas.valid, t.canvas.error)
        self.grid.flag_color = t.canvas.error
        self.mark_dirty()
