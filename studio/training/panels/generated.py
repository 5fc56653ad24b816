"""Generated samples of the GAN and VAE recipes: one fixed noise batch decoded after every epoch.

The worker decodes the same noise each epoch (`engine.telemetry.GeneratedSamples`), so the grids
of two epochs show the same samples improving. The panel keeps every epoch's grid (at most
`MAX_EPOCHS`, a few hundred kilobytes) and shows one at a time, tiled into one image; the slider
under it goes back to any earlier epoch and follows the newest while it is at its right end.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.overlay import as_rgb, columns_for, tile_rows

MAX_EPOCHS = 500
GAP = 2


class GeneratedPanel(Panel):
    """A grid of samples generated from fixed noise, per epoch."""

    name, title = "generated", "Generated Samples"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.grids: dict[int, np.ndarray] = {}  # epoch -> (N, H, W, C) uint8
        self.image_data: np.ndarray | None = None
        self.following = True  # the slider is at the newest epoch and stays there
        self._fill = 128
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.box.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("generated_epoch")
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Show the samples of an earlier epoch")
        self.slider.valueChanged.connect(self._slid)
        self.epoch_label = QLabel()
        self.epoch_label.setMinimumWidth(110)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Epoch"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.epoch_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.apply_theme(context.theme)
        context.runs.generated_arrived.connect(self._arrived)

    @property
    def epochs(self) -> list[int]:
        return sorted(self.grids)

    def _arrived(self, message: t.GeneratedSamples) -> None:
        self.grids[int(message.epoch)] = np.asarray(message.images)
        while len(self.grids) > MAX_EPOCHS:  # keep the first epoch, thin out the oldest after it
            del self.grids[self.epochs[1]]
        self.mark_dirty()

    def _slid(self, _value: int) -> None:
        self.following = self.slider.value() == self.slider.maximum()
        self.mark_dirty()
        self.flush()

    def show_epoch(self, epoch: int) -> None:
        """Show the grid of `epoch` (the nearest stored one)."""
        epochs = self.epochs
        if epochs:
            index = min(range(len(epochs)), key=lambda i: abs(epochs[i] - epoch))
            self.slider.setValue(index)

    def shown_epoch(self) -> int | None:
        epochs = self.epochs
        if not epochs:
            return None
        return epochs[min(self.slider.value(), len(epochs) - 1)]

    def redraw(self) -> None:
        epochs = self.epochs
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(epochs) - 1, 0))
        if self.following:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(epochs) > 1)
        epoch = self.shown_epoch()
        if epoch is None:
            self.image.clear()
            self.image_data = None
            self.epoch_label.setText("")
            self.header.setText("Samples generated from a fixed batch of noise appear after each epoch (GAN and "
                                "VAE recipes).")
            return
        images = np.stack([as_rgb(i) for i in self.grids[epoch]])
        aspect = self.view.width() / max(self.view.height(), 1)
        columns = columns_for(len(images), images.shape[2] / max(images.shape[1], 1), aspect)
        self.image_data = tile_rows(images, columns, GAP, self._fill)
        self.image.setImage(self.image_data, autoLevels=False, levels=(0, 255))
        self.box.autoRange(padding=0.01)
        newest = epochs[-1]
        self.epoch_label.setText(f"{epoch + 1} of {newest + 1}" + (" (newest)" if epoch == newest else ""))
        self.header.setText(f"{len(images)} samples from the same noise, after epoch <b>{epoch + 1}</b>")

    def clear(self) -> None:
        self.grids = {}
        self.following = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.grids:
            self.mark_dirty()

    def apply_theme(self, t: Theme) -> None:
        self.view.setBackground(t.base)
        self._fill = QColor(t.base).lightness()
        self.mark_dirty()
