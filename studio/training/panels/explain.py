"""Explain: what a trained classifier looks at in one sample, as a heatmap over the input.

Pick a sample by clicking a thumbnail in Sample Predictions (a validation sample) or in the
dataset preview (a training sample); pick the method (saliency, Grad-CAM, integrated gradients)
and, for Grad-CAM, the node (any node with a spatial output; by default the last one, from the
inferred shapes; selecting such a node on the canvas picks it too). The panel shows the input and
the chosen map laid over it (a colour table, its opacity set by the slider).

Explanations of a finished run are computed by `engine.explain.offline.explain_run` on the
training pool with the run's best weights (the run selected in the Runs panel, else the newest),
all three methods at once, so switching the method is instant; the newest request wins. While a
run trains, its worker refreshes Grad-CAM of the selected sample every epoch (`engine.explain.
live`) and the panel shows each `Explanation` as it arrives.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from engine import telemetry as t
from engine.explain import GRAD_CAM, METHOD_TITLES, METHODS, SampleRef, default_node, spatial_nodes
from engine.project import Project
from studio.theme import Theme
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.overlay import as_rgb, heat_overlay
from studio.training.panels.style import lookup_table
from studio.training.panels.thumbnails import to_pixmap
from studio.training.pool import training_pool

HEAT_MAP = "inferno"
AUTO = ""  # the node combo's first entry: the last spatial node


class _Signals(QObject):
    done = Signal(int, object)  # generation, ExplainResult
    failed = Signal(int, str)


class _ExplainJob(QRunnable):
    def __init__(self, generation: int, project: Project, run_id: str, sample: SampleRef, node_id: str | None,
                 base_dir: Path | None, signals: _Signals) -> None:
        super().__init__()
        self.args = (project, run_id, sample, node_id)
        self.generation, self.base_dir, self.signals = generation, base_dir, signals

    def run(self) -> None:
        try:
            from engine.explain.offline import explain_run

            result = explain_run(*self.args, base_dir=self.base_dir)
        except Exception as exc:  # ExplainError, or anything else: reported in the panel, never raised
            with contextlib.suppress(RuntimeError):  # the panel is gone (the window closed)
                self.signals.failed.emit(self.generation, str(exc) or type(exc).__name__)
            return
        with contextlib.suppress(RuntimeError):
            self.signals.done.emit(self.generation, result)


class ExplainPanel(Panel):
    """The selected sample and an attribution map over it."""

    name, title = "explain", "Explain"
    request_changed = Signal()  # the node changed: a run under way should refresh Grad-CAM there

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.sample: SampleRef | None = None
        self.result: Any = None  # engine.explain.offline.ExplainResult of the current request
        self.live: t.Explanation | None = None
        self.error = ""
        self.busy = False
        self.node_id: str | None = None  # None: the last spatial node
        self.overlay_data: np.ndarray | None = None
        self._generation = 0
        self._class_names: list[str] = []  # of the run under way, for live explanations
        self._lut = lookup_table(HEAT_MAP)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._signals.failed.connect(self._failed)
        self._build()
        self.apply_theme(context.theme)
        context.samples.changed.connect(self._sample_changed)
        context.runs.explanation_arrived.connect(self._live_arrived)
        context.runs.run_started.connect(self._run_started)
        context.runs.run_files_read.connect(lambda *_: QTimer.singleShot(0, self, self.request))
        context.comparison.changed.connect(lambda _runs: self.request())
        context.workspace.selection_changed.connect(self._canvas_selection)
        document_changed = getattr(context.workspace, "document_changed", None)
        if document_changed is not None:
            document_changed.connect(self._fill_nodes)

    # ---- widgets -------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.method = QComboBox()
        self.method.setObjectName("explain_method")
        for method in METHODS:
            self.method.addItem(METHOD_TITLES[method], method)
        self.method.setCurrentIndex(METHODS.index(GRAD_CAM))
        self.method.currentIndexChanged.connect(lambda _i: self._method_changed())
        self.node = QComboBox()
        self.node.setObjectName("explain_node")
        self.node.setToolTip("Grad-CAM's node: any node whose output is a feature map (channels × height × width)")
        self.node.currentIndexChanged.connect(lambda _i: self._node_chosen())
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("explain_opacity")
        self.opacity.setRange(10, 100)
        self.opacity.setValue(65)
        self.opacity.setToolTip("Opacity of the heatmap over the image")
        self.opacity.setMinimumWidth(70)
        self.opacity.setMaximumWidth(110)
        self.opacity.valueChanged.connect(lambda _v: self.mark_dirty())
        self.method.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.node.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("Method", self.method), ("Node", self.node)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addStretch(1)
        self.scale = QLabel()
        self.scale.setToolTip(f"Colour scale ({HEAT_MAP}): how much each pixel counts for the prediction")
        scale = QHBoxLayout()
        scale.setContentsMargins(0, 0, 0, 0)
        scale.addWidget(QLabel("less"))
        scale.addWidget(self.scale)
        scale.addWidget(QLabel("more important"))
        scale.addStretch(1)
        scale.addWidget(QLabel("Opacity"))
        scale.addWidget(self.opacity)
        self.view = pg.GraphicsLayoutWidget()
        self.input_title = self.view.addLabel("input", row=0, col=0)
        self.overlay_title = self.view.addLabel("", row=0, col=1)
        self.input_box = self._box(1, 0)
        self.overlay_box = self._box(1, 1)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.overlay_image = pg.ImageItem(axisOrder="row-major")
        self.input_box.addItem(self.input_image)
        self.overlay_box.addItem(self.overlay_image)
        self.overlay_box.setXLink(self.input_box)  # both pictures at one scale, side by side
        self.overlay_box.setYLink(self.input_box)
        for column in (0, 1):
            self.view.ci.layout.setColumnStretchFactor(column, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        layout.addLayout(scale)
        layout.addWidget(self.status)
        self._fill_nodes()
        self._draw_scale()

    def _draw_scale(self) -> None:
        ramp = np.repeat(self._lut[None, :, :3], 26, axis=0)  # 256 × 26: 96 × 10 pixels once scaled
        self.scale.setPixmap(to_pixmap(np.ascontiguousarray(ramp), side=96))

    def _box(self, row: int, col: int) -> pg.ViewBox:
        box = self.view.addViewBox(row=row, col=col, lockAspect=True, invertY=True, enableMenu=False)
        box.setMouseEnabled(x=False, y=False)
        return box

    # ---- choices -------------------------------------------------------------------------
    @property
    def method_id(self) -> str:
        return str(self.method.currentData())

    def _fill_nodes(self) -> None:
        """The node combo: 'last spatial node' and every spatial node of the open network."""
        nodes, auto = self._spatial_nodes()
        names = self.context.workspace.node_name
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItem(f"last spatial node ({names(auto)})" if auto else "last spatial node (none)", AUTO)
        for node_id in nodes:
            self.node.addItem(names(node_id), node_id)
        index = self.node.findData(self.node_id) if self.node_id in nodes else 0
        if self.node_id not in nodes:
            self.node_id = None
        self.node.setCurrentIndex(max(index, 0))
        self.node.blockSignals(False)

    def _spatial_nodes(self) -> tuple[list[str], str | None]:
        controller = self.context.workspace.controller
        project = self.context.workspace.project
        analysis = getattr(controller, "analysis", None)
        if project is None or analysis is None:
            return [], None
        return spatial_nodes(project.network, analysis), default_node(project.network, analysis)

    def choose_node(self, node_id: str | None) -> None:
        """Explain at `node_id` (None: the last spatial node)."""
        index = self.node.findData(node_id or AUTO)
        if index >= 0 and index != self.node.currentIndex():
            self.node.setCurrentIndex(index)  # -> _node_chosen

    def choose_method(self, method: str) -> None:
        self.method.setCurrentIndex(METHODS.index(method))

    def _node_chosen(self) -> None:
        data = self.node.currentData()
        node_id = str(data) if data else None
        if node_id != self.node_id:
            self.node_id = node_id
            self.request_changed.emit()
            self.request()

    def _canvas_selection(self, node_ids: list[str]) -> None:
        nodes, _ = self._spatial_nodes()
        if len(node_ids) == 1 and node_ids[0] in nodes:
            self.choose_node(node_ids[0])

    def _method_changed(self) -> None:
        self.node.setEnabled(self.method_id == GRAD_CAM)  # only Grad-CAM looks at a node
        self.mark_dirty()
        self.flush()

    def _sample_changed(self, sample: SampleRef | None) -> None:
        if sample != self.sample:
            self.sample, self.live, self.result, self.error = sample, None, None, ""
            self.request()
        self.mark_dirty()
        self.flush()

    # ---- computing -----------------------------------------------------------------------
    def run_to_explain(self) -> str | None:
        """The run selected in the Runs panel (the first compared), else the project's newest run."""
        from engine.runs import run_ids

        project = self.context.workspace.project
        ids = run_ids(project) if project is not None else []
        chosen = [r for r in self.context.comparison.runs if r in ids]
        return chosen[0] if chosen else (ids[-1] if ids else None)

    def request(self) -> None:
        """Explain the selected sample with the chosen run's weights, on the pool (not while training)."""
        self._generation += 1
        self.result, self.error, self.busy = None, "", False
        project, run_id = self.context.workspace.project, self.run_to_explain()
        if self.sample is None or project is None or run_id is None or self.context.runs.active:
            self.mark_dirty()
            return
        self.busy = True
        # a snapshot of the stored runs: the GUI thread may add runs while the job reads one
        snapshot = Project(project.network, project.name, dict(project.dataset), attachments=dict(project.attachments))
        training_pool().start(_ExplainJob(self._generation, snapshot, run_id, self.sample, self.node_id,
                                          self.context.workspace.base_dir, self._signals))
        self.mark_dirty()

    def _done(self, generation: int, result: Any) -> None:
        if generation == self._generation:
            self.busy, self.result = False, result
            self.mark_dirty()

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.busy, self.error = False, message
            self.mark_dirty()

    def _run_started(self, message: t.RunStarted) -> None:
        names = message.dataset.get("class_names") if isinstance(message.dataset, dict) else None
        self._class_names = [str(n) for n in names] if isinstance(names, list) else []

    def _live_arrived(self, message: t.Explanation) -> None:
        if self.sample is not None and (message.split, message.sample_index) == (self.sample.split, self.sample.index):
            self.live = message
            self.mark_dirty()

    # ---- drawing -------------------------------------------------------------------------
    def shown(self) -> tuple[np.ndarray, np.ndarray, str, str] | None:
        """(image, heatmap, overlay title, header) of what is on screen now, or None."""
        method = self.method_id
        names = self.context.workspace.node_name
        if self.live is not None and (self.context.runs.active or self.result is None) and method == GRAD_CAM:
            m = self.live
            target = _class_name(m.target, self._class_names)
            node = names(m.node_id) if m.node_id else ""
            chance = f" ({m.probability:.0%})" if m.probability is not None else ""
            truth = f"true {_class_name(m.true, self._class_names)} · " if m.true is not None else ""
            verdict = "" if m.true is None else (" ✓" if m.true == m.target else " ✗")
            header = (f"<b>{self.sample.label() if self.sample else ''}</b> · {truth}predicted {target}{chance}"
                      f"{verdict} · live, after epoch {m.epoch + 1}")
            return m.input, m.heatmap, f"Grad-CAM at {node}", header
        r = self.result
        if r is None:
            return None
        attribution = r.by_method(method)
        if attribution is None:
            return None
        verdict = "✓" if r.true == r.predicted else "✗"
        header = (f"<b>{r.sample.label()}</b> · true {_class_name(r.true, r.class_names)} · predicted "
                  f"{_class_name(r.predicted, r.class_names)} ({r.probability:.0%}) {verdict} · weights of "
                  f"{r.run_id}")
        title = METHOD_TITLES[method] + (f" at {names(attribution.node_id)}" if attribution.node_id else "")
        return r.image, attribution.heatmap, title, header

    def redraw(self) -> None:
        shown = self.shown()
        self.status.setText(self._status_text(shown is not None))
        if shown is None:
            self.header.setText(self._waiting_text())
            for item in (self.input_image, self.overlay_image):
                item.clear()
            self.overlay_data = None
            self.input_title.setText("")
            self.overlay_title.setText("")
            return
        image, heat, title, header = shown
        self.header.setText(header)
        self.overlay_data = heat_overlay(image, heat, self._lut, self.opacity.value() / 100.0)
        self.input_image.setImage(as_rgb(image), autoLevels=False, levels=(0, 255))
        self.overlay_image.setImage(self.overlay_data, autoLevels=False, levels=(0, 255))
        self.input_title.setText("input", size="9pt")
        self.overlay_title.setText(title, size="9pt")
        for box in (self.input_box, self.overlay_box):
            box.autoRange(padding=0.02)

    def _waiting_text(self) -> str:
        if self.sample is None:
            return ("Click a sample in <i>Sample Predictions</i> or in the dataset preview to see what the trained "
                    "network looks at.")
        return f"<b>{self.sample.label()}</b>"

    def _status_text(self, showing: bool) -> str:
        if self.sample is None:
            return ""
        if self.busy:
            return "Computing the explanation…"
        if self.error:
            return f"<span style='color:{self.context.theme.canvas.error}'>{self.error}</span>"
        if self.context.runs.active:
            if self.method_id != GRAD_CAM:
                return f"{METHOD_TITLES[self.method_id]} is computed when the run has finished; Grad-CAM " \
                       "refreshes every epoch while it trains."
            return "" if showing else "Grad-CAM of this sample arrives at the end of the epoch."
        if self.run_to_explain() is None:
            return "Train the network first: explanations use a finished run's weights."
        return ""

    def clear(self) -> None:
        self.live = None

    def project_changed(self) -> None:
        self._generation += 1
        self.sample, self.result, self.live, self.error, self.busy, self.node_id = None, None, None, "", False, None
        self._fill_nodes()
        super().project_changed()

    def apply_theme(self, t: Theme) -> None:
        self.view.setBackground(t.base)
        for label in (self.input_title, self.overlay_title):
            label.setAttr("color", t.text)
        self.mark_dirty()


def _class_name(index: int | None, names: list[str]) -> str:
    if index is None:
        return "?"
    return names[index] if 0 <= index < len(names) else str(index)
