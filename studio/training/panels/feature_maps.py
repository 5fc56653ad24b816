"""The activations of the probed node for the first probe sample, as one live mosaic image.

All channels are tiled into one RGBA image (`studio.training.panels.mosaic`), each normalised on its own,
and drawn by a single `ImageItem`. The panel shows the node the run is probing: selecting
another node on the canvas switches the probe (the training UI calls `RunHandle.set_probes`)
and the panel says it is waiting until that node's maps arrive.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine import telemetry as t
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.mosaic import feature_mosaic
from studio.training.panels.style import lookup_table, rgba


class FeatureMapPanel(Panel):
    """A mosaic of the probed node's feature maps."""

    name, title = "feature_maps", "Feature Maps"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.node_id: str | None = None
        self.maps: dict[str, t.FeatureMaps] = {}
        self.image_data: np.ndarray | None = None
        self._lut = lookup_table("viridis")
        self._background = rgba(context.theme.base)
        self.header = QLabel("Select a node and train to see its feature maps.")
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
        context.runs.feature_maps_arrived.connect(self._arrived)
        context.runs.run_started.connect(self._started)
        context.runs.run_finished.connect(lambda _m: self.mark_dirty())

    def show_node(self, node_id: str | None) -> None:
        """Show `node_id`'s maps (as soon as they arrive)."""
        if node_id != self.node_id:
            self.node_id = node_id
            self.mark_dirty()
            self.flush()

    def _started(self, message: t.RunStarted) -> None:
        probes = message.probes
        if probes and self.node_id is None:
            self.show_node(str(probes[0]))

    def _arrived(self, by_node: dict[str, t.FeatureMaps]) -> None:
        self.maps.update(by_node)
        if self.node_id is None:
            self.node_id = next(iter(by_node))
        if self.node_id in by_node:
            self.mark_dirty()

    def redraw(self) -> None:
        message = self.maps.get(self.node_id or "")
        name = self.context.workspace.node_name(self.node_id) if self.node_id else ""
        if message is None:
            self.image.clear()
            self.image_data = None
            if not self.node_id:
                self.header.setText("Select a node and train to see its feature maps.")
            elif self.context.runs.active:
                self.header.setText(f"Waiting for the feature maps of '{name}'…")
            else:
                self.header.setText(f"No feature maps of '{name}' arrived: select a node and train.")
            return
        maps = np.asarray(message.maps)
        aspect = self.view.width() / max(self.view.height(), 1)
        self.image_data = feature_mosaic(maps, self._lut, self._background, gap=max(1, maps.shape[-1] // 14),
                                         aspect=aspect)
        self.image.setImage(self.image_data, autoLevels=False)
        self.box.autoRange(padding=0.01)
        full = list(message.shape) or list(maps.shape)
        shape = "×".join(str(s) for s in full)
        shown = f"{len(maps)} of {full[0]} channels" if len(full) == 3 and full[0] > len(maps) \
            else f"{len(maps)} channel(s)"
        self.header.setText(f"<b>{name}</b> · output {shape} · {shown} · step {message.step}")

    def clear(self) -> None:
        self.maps = {}
        self.node_id = None
        self.image_data = None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.image_data is not None:  # lay the grid out again for the new shape
            self.mark_dirty()
            self.flush()

    def apply_theme(self, t: Theme) -> None:
        self._background = rgba(t.base)
        self.view.setBackground(t.base)
        if self.node_id in self.maps:
            self.mark_dirty()
