"""Training health drawn on the canvas: nodes coloured by gradient norm or dead units, and NaN marked.

`CanvasHealth` collects the run's gradient statistics and activation statistics (through the run
controller) and, in the chosen `mode` (``off``, ``grad_norm`` or ``dead_units``), gives each
node it has numbers for a `HealthOverlay`: a coloured ring around the node and a small label
above it (``∇ 3.1e-03``, ``dead 42%``). The node where the loss first stopped being finite (the
engine's diagnosis of a ``non_finite`` error) gets a red ring and a ``NaN`` label in every mode.
Overlays are child items of the scene's node items (so they move with them); they accept no
mouse buttons and their shape is only the ring and the label, so clicks still reach the node.
The colours stay after the run ends, until the next run starts or another project opens. New
statistics repaint the canvas at most twice a second.
"""

from __future__ import annotations

import math
import time

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine import telemetry as t
from studio.run_controller import RunController
from studio.training.health_colors import NAN_COLOR, dead_color, grad_colors, norm_text
from studio.training.workspace import Workspace

MODES = ("off", "grad_norm", "dead_units")
APPLY_INTERVAL_S = 0.5  # statistics come every few seconds; repainting the canvas more often buys nothing
RING = 4.0
LABEL_H = 18.0


class HealthOverlay(QGraphicsItem):
    """A coloured ring and label around one node item."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.color = "#22c55e"
        self.text = ""
        self.nan = False
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(4)
        self._font = QFont()
        self._font.setPixelSize(11)
        self._font.setBold(True)

    def set_state(self, color: str, text: str, tooltip: str, nan: bool = False) -> None:
        if (color, text, nan) == (self.color, self.text, self.nan) and tooltip == self.toolTip():
            return
        self.prepareGeometryChange()
        self.color, self.text, self.nan = color, text, nan
        self.setToolTip(tooltip)
        self.update()

    def _node_rect(self) -> QRectF:
        return self.parentItem().boundingRect().adjusted(2, 2, -2, -2)

    def _label_rect(self) -> QRectF:
        width = QFontMetricsF(self._font).horizontalAdvance(self.text) + 12
        rect = self._node_rect()
        return QRectF(rect.left() + 8, rect.top() - LABEL_H - 4, width, LABEL_H)

    def boundingRect(self) -> QRectF:
        return self._node_rect().adjusted(-RING - 3, -RING - 3, RING + 3, RING + 3).united(
            self._label_rect().adjusted(-1, -1, 1, 1))

    def shape(self) -> QPainterPath:
        ring = QPainterPath()
        ring.addRoundedRect(self._node_rect().adjusted(-RING, -RING, RING, RING), 9, 9)
        stroker = QPainterPathStroker()
        stroker.setWidth(RING)
        path = stroker.createStroke(ring)
        path.addRect(self._label_rect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        color = QColor(self.color)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = RING + 1.0 if self.nan else RING - 1.0
        painter.setPen(QPen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self._node_rect().adjusted(-RING + 0.5, -RING + 0.5, RING - 0.5, RING - 0.5), 9, 9)
        if not self.text:
            return
        label = self._label_rect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(label, LABEL_H / 2, LABEL_H / 2)
        painter.setFont(self._font)
        luminance = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
        painter.setPen(QColor("#111827" if luminance > 150 else "#ffffff"))
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.text)


class CanvasHealth(QObject):
    """Keeps the canvas's health overlays in step with the run's statistics."""

    mode_changed = Signal(str)

    def __init__(self, runs: RunController, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs, self.workspace = runs, workspace
        self.mode = "off"
        self.grad_norms: dict[str, float] = {}
        self.dead: dict[str, float] = {}
        self.nan_node: str | None = None
        self.nan_message = ""
        self.overlays: dict[str, HealthOverlay] = {}
        self._dirty = False
        self._applied = 0.0
        runs.grad_stats_arrived.connect(self._grad_stats)
        runs.activation_stats_arrived.connect(self._activation_stats)
        runs.error_arrived.connect(self._error)
        runs.state_changed.connect(self._state_changed)
        runs.tick_finished.connect(self._tick)
        workspace.project_opened.connect(self._project_changed)

    # ---- what is shown ----------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown canvas health mode {mode!r}; use one of {', '.join(MODES)}")
        if mode != self.mode:
            self.mode = mode
            self.apply()
            self.mode_changed.emit(mode)

    def mark_nan(self, node_id: str, message: str) -> None:
        """Mark the node where a value first stopped being finite."""
        self.nan_node, self.nan_message = node_id, message
        self.apply()

    def states(self) -> dict[str, tuple[str, str, str, bool]]:
        """node id -> (colour, label, tooltip, is NaN) for the current mode and data."""
        out: dict[str, tuple[str, str, str, bool]] = {}
        name = self.workspace.node_name
        if self.mode == "grad_norm":
            for node_id, color in grad_colors(self.grad_norms).items():
                norm = self.grad_norms[node_id]
                out[node_id] = (color, norm_text(norm), f"{name(node_id)}: gradient norm {norm:.3g} "
                                "(colour: weakest blue, strongest red, across the network)", False)
        elif self.mode == "dead_units":
            for node_id, fraction in self.dead.items():
                out[node_id] = (dead_color(fraction), f"dead {fraction * 100:.0f}%",
                                f"{name(node_id)}: {fraction * 100:.1f}% of its units are zero for every "
                                "probe sample", False)
        if self.nan_node is not None:
            out[self.nan_node] = (NAN_COLOR, "NaN", self.nan_message or f"{name(self.nan_node)}: the first node "
                                  "whose output was not finite", True)
        return out

    def apply(self) -> None:
        """Add, update or remove overlays to match `states()`."""
        self._dirty = False
        scene = self.workspace.scene
        if scene is None or not shiboken6.isValid(scene):
            self.overlays = {}
            return
        states = self.states()
        for node_id in list(self.overlays):
            overlay = self.overlays[node_id]
            if node_id not in states or node_id not in scene.nodes or overlay.parentItem() is not scene.nodes[node_id]:
                if shiboken6.isValid(overlay) and overlay.scene() is not None:
                    overlay.scene().removeItem(overlay)
                del self.overlays[node_id]
        for node_id, (color, text, tooltip, nan) in states.items():
            item = scene.nodes.get(node_id)
            if item is None:
                continue
            overlay = self.overlays.get(node_id)
            if overlay is None:
                overlay = self.overlays[node_id] = HealthOverlay(item)
            overlay.set_state(color, text, tooltip, nan)

    def clear(self) -> None:
        self.grad_norms, self.dead = {}, {}
        self.nan_node, self.nan_message = None, ""
        self.apply()

    # ---- data from the run ----------------------------------------------------------------------
    def _grad_stats(self, by_node: dict[str, t.GradStats]) -> None:
        for node_id, message in by_node.items():
            norms = [float(p["norm"]) for p in message.params.values()]
            self.grad_norms[node_id] = math.sqrt(sum(n * n for n in norms)) if all(map(math.isfinite, norms)) \
                else math.inf
        self._dirty = self._dirty or self.mode == "grad_norm"

    def _activation_stats(self, by_node: dict[str, t.ActivationStats]) -> None:
        for node_id, message in by_node.items():
            if message.dead_fraction is not None:
                self.dead[node_id] = float(message.dead_fraction)
        self._dirty = self._dirty or self.mode == "dead_units"

    def _error(self, message: t.Error) -> None:
        if message.kind == "non_finite" and message.node_id:
            self.mark_nan(message.node_id, message.message)

    def _state_changed(self, state: str) -> None:
        if state == "starting":
            self.clear()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._dirty and now - self._applied >= APPLY_INTERVAL_S:
            self._applied = now
            self.apply()

    def _project_changed(self) -> None:
        self.overlays = {}  # the old scene and its items are gone
        self.grad_norms, self.dead = {}, {}
        self.nan_node, self.nan_message = None, ""
