"""Reconstructions of the autoencoder recipes: validation inputs beside what the network made of them.

Each sample is one cell of two pictures, the input and its reconstruction, or three for a
denoising autoencoder (input, the noisy input it was given, reconstruction); the cells fill the
panel in as many columns as suit its shape. Everything is one RGB image drawn by a single
`ImageItem` (cheap to redraw), with a legend line naming the pictures in each cell. Updates come
once an epoch (`engine.telemetry.Reconstructions`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.overlay import as_rgb, columns_for, tile_rows

INNER_GAP = 1  # pixels between the pictures of one sample
CELL_GAP = 4  # pixels between samples


def reconstruction_cells(message: t.Reconstructions, background: int) -> np.ndarray:
    """(N, H, W', 3): each sample's input, [noisy input,] reconstruction side by side."""
    parts = [message.inputs] + ([message.noisy] if message.noisy is not None else []) + [message.outputs]
    cells = []
    for pictures in zip(*parts):
        rgb = [as_rgb(p) for p in pictures]
        h = max(p.shape[0] for p in rgb)
        gap = np.full((h, INNER_GAP, 3), background, dtype=np.uint8)
        row = [rgb[0]]
        for picture in rgb[1:]:
            row += [gap, picture]
        cells.append(np.concatenate(row, axis=1))
    return np.stack(cells) if cells else np.zeros((0, 1, 1, 3), dtype=np.uint8)


class ReconstructionsPanel(Panel):
    """Inputs and reconstructions of a few validation samples."""

    name, title = "reconstructions", "Reconstructions"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.message: t.Reconstructions | None = None
        self.image_data: np.ndarray | None = None
        self._fill = 128
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.box.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        self.apply_theme(context.theme)
        context.runs.reconstructions_arrived.connect(self._arrived)

    def _arrived(self, message: t.Reconstructions) -> None:
        self.message = message
        self.mark_dirty()

    def redraw(self) -> None:
        m = self.message
        if m is None:
            self.image.clear()
            self.image_data = None
            self.header.setText("An autoencoder's reconstructions of a few validation samples appear after each "
                                "epoch.")
            return
        cells = reconstruction_cells(m, self._fill)
        aspect = self.view.width() / max(self.view.height(), 1)
        columns = columns_for(len(cells), cells.shape[2] / max(cells.shape[1], 1), aspect)
        self.image_data = tile_rows(cells, columns, CELL_GAP, self._fill)
        self.image.setImage(self.image_data, autoLevels=False, levels=(0, 255))
        self.box.autoRange(padding=0.01)
        parts = "input · noisy input · reconstruction" if m.noisy is not None else "input · reconstruction"
        self.header.setText(f"Validation samples after epoch {int(m.epoch) + 1} · each: <b>{parts}</b>")

    def clear(self) -> None:
        self.message = None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.message is not None:  # lay the cells out again for the new shape
            self.mark_dirty()

    def apply_theme(self, t: Theme) -> None:
        self.view.setBackground(t.base)
        self._fill = QColor(t.base).lightness()
        self.mark_dirty()
