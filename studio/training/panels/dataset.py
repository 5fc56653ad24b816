"""The Dataset panel: choose and configure the project's dataset, and preview it.

The form is generated from the dataset kind's `Param` schema with the editor engineer's
`make_editor` widgets (plus the split fractions and seed); every change is one undo step on the
project's stack (`SetSectionCommand`, spin-box sessions merge), checked first with the engine's
`DatasetConfig.from_json`, so a refused value never reaches the project. After each change the
dataset is loaded again for the preview on a worker thread (`DatasetPreviewer`): a few samples
(thumbnails, or a scatter of two-feature points), the class counts and the summary the CLI
prints. The form waits for the training engine to load; it is read-only while a run trains.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.data.config import DATASET_SETTINGS, DatasetConfig, DatasetSummary
from engine.data.errors import DatasetError
from engine.data.registry import dataset_kinds, kind_info, resolve_params
from studio.editor.commands import describe_value
from studio.editor.param_editors import ParamEditor, make_editor
from studio.theme import Theme
from studio.training.dataset_preview import PreviewResult
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.focus import has_focus
from studio.training.panels.style import new_plot, series_color, style_plot
from studio.training.panels.thumbnails import ThumbnailGrid
from studio.training.project_commands import SetSectionCommand
from studio.training.settings_schema import field_for

PREVIEW_DELAY_MS = 250
FIELD_MIN_WIDTH = 80
PLOT_MIN_WIDTH = 160
# the split settings, from the engine's declaration (the kind's own parameters come from its DatasetKindInfo)
SPLIT_PARAMS = tuple(field_for(s).param for s in DATASET_SETTINGS if s.path != "kind")
SPLIT_LABELS = {s.path: s.label for s in DATASET_SETTINGS}


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


class DatasetPanel(Panel):
    """Dataset choice, parameters, split and preview."""

    name, title = "dataset", "Dataset"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.previewer = context.preview
        self.kind: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        self._requested: dict[str, Any] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._request_preview)
        self._build()
        ws = context.workspace
        ws.document_changed.connect(self.load_from_project)
        ws.editable_changed.connect(self.form_host.setEnabled)  # read-only while a run trains the project
        self.previewer.loading.connect(self._preview_loading)
        self.previewer.loaded.connect(self._preview_loaded)
        self.previewer.failed.connect(self._preview_failed)
        self.previewer.wanted_now.connect(self.load_from_project)
        self.load_from_project()

    # ---- widgets ---------------------------------------------------------------------
    def _build(self) -> None:
        self.kind_box = QComboBox()
        self.kind_box.activated.connect(self._kind_chosen)
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setObjectName("muted")
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form_host = QWidget()
        form_layout = QVBoxLayout(self.form_host)
        form_layout.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.addRow("Dataset", self.kind_box)
        form_layout.addLayout(top)
        form_layout.addWidget(self.description)
        form_layout.addLayout(self.form)
        form_layout.addWidget(self.error)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        self.samples = ThumbnailGrid()
        self.samples.clicked.connect(lambda i: self.context.samples.select("train", i))  # explain it
        self.context.samples.changed.connect(
            lambda s: self.samples.select(s.index if s is not None and s.split == "train" else None))
        self.samples.setMinimumHeight(230)
        self.samples.setMinimumWidth(PLOT_MIN_WIDTH)
        self.scatter_plot = new_plot(self.context.theme, legend=False)
        self.scatter_plot.setMinimumHeight(230)
        self.scatter_plot.setMinimumWidth(PLOT_MIN_WIDTH)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.scatter_plot.addItem(self.scatter)
        self.preview_stack = QStackedWidget()
        self.preview_stack.addWidget(self.samples)
        self.preview_stack.addWidget(self.scatter_plot)
        self.no_picture = QLabel("No picture of these inputs; see the summary above.")
        self.no_picture.setWordWrap(True)
        self.preview_stack.addWidget(self.no_picture)
        self.counts_plot = new_plot(self.context.theme, legend=False, y_label="training samples")
        self.counts_plot.setMinimumHeight(150)
        self.counts_plot.setMinimumWidth(PLOT_MIN_WIDTH)
        self.counts_plot.setMaximumHeight(200)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=series_color(0, self.context.theme))
        self.counts_plot.addItem(self.bars)
        reload = QPushButton("Reload preview")
        reload.clicked.connect(self._request_preview)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.form_host)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(reload)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview_stack)
        layout.addWidget(self.counts_plot)
        layout.addStretch(1)
        self.set_scrolling_body(body)

    def _fill_kinds(self) -> None:
        if self.kind_box.count():
            return
        group = None
        for info in dataset_kinds():
            if info.group != group:
                if group is not None:
                    self.kind_box.insertSeparator(self.kind_box.count())
                group = info.group
            self.kind_box.addItem(info.title, info.kind)
            self.kind_box.setItemData(self.kind_box.count() - 1, f"{info.group}: {info.description}",
                                      Qt.ItemDataRole.ToolTipRole)

    def _build_form(self, kind: str) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        info = kind_info(kind)
        self.description.setText(info.description)
        for param in (*info.params, *SPLIT_PARAMS):
            editor = make_editor(param)
            editor.field.setMinimumWidth(FIELD_MIN_WIDTH)  # spin boxes size themselves for 1e12 otherwise
            editor.committed.connect(lambda value, session, p=param.name: self._edited(p, value, session))
            editor.refused.connect(self._show_error)
            self.editors[param.name] = editor
            field: QWidget = editor
            if param.name in info.paths:
                field = self._with_browse(editor, info.paths[param.name])
            label = SPLIT_LABELS[param.name] if param in SPLIT_PARAMS else _title(param.name)
            self.form.addRow(label, field)
        self.kind = kind

    def _with_browse(self, editor: ParamEditor, what: str) -> QWidget:
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(lambda: self._browse(editor, what))
        row.addWidget(button)
        return host

    def _browse(self, editor: ParamEditor, what: str) -> None:
        if what == "folder":
            path = QFileDialog.getExistingDirectory(self, f"Choose the {editor.param.name} folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, f"Choose the {editor.param.name} file")
        if path:
            editor.set_value(path)
            self._edited(editor.param.name, path, None)

    # ---- project -> form -----------------------------------------------------------------
    def project_changed(self) -> None:
        """Another project: no trace of the previous dataset until this one's preview arrives."""
        self.previewer.forget()
        self._requested = None
        self._show_error("")
        self._clear_preview()
        if self.context.workspace.project is not None and not (self.context.workspace.project.dataset or {}):
            self.status.setText("")
        self.load_from_project()

    def _clear_preview(self, message: str = "") -> None:
        self.summary.setText("")
        self.samples.select(None)
        self.samples.set_items([])
        self.scatter.setData(x=[], y=[])
        self.bars.setOpts(x=[], height=[])
        self.counts_plot.setVisible(False)
        self.no_picture.setText(message or "No picture of these inputs; see the summary above.")
        self.preview_stack.setCurrentWidget(self.no_picture)

    def load_from_project(self) -> None:
        """Show the project's dataset section (and preview it again if it changed)."""
        project = self.context.workspace.project
        if project is None:
            return
        self._fill_kinds()
        data = project.dataset or {}
        kind = data.get("kind")
        if not kind or self.kind_box.findData(kind) < 0:
            self.kind_box.setCurrentIndex(-1)
            self.description.setText("Choose a dataset to train on.")
            while self.form.rowCount():
                self.form.removeRow(0)
            self.editors, self.kind = {}, None
            return
        if kind != self.kind:
            self._build_form(kind)
        self.kind_box.setCurrentIndex(self.kind_box.findData(kind))
        try:
            params = resolve_params(kind, data.get("params", {}))
        except DatasetError:
            params = dict(data.get("params", {}))
        values = {**params, **{p.name: data.get(p.name, p.default) for p in SPLIT_PARAMS}}
        for name, editor in self.editors.items():
            if name in values and not has_focus(editor):  # never rewrite what the person is typing
                editor.set_value(values[name])
        if data != self._requested and self.previewer.wanted:
            self._timer.start()

    # ---- form -> project -----------------------------------------------------------------
    def _kind_chosen(self, index: int) -> None:
        kind = self.kind_box.itemData(index)
        project = self.context.workspace.project
        if kind is None or project is None or kind == (project.dataset or {}).get("kind"):
            return
        old = project.dataset or {}
        new = {"kind": kind, "params": {}, **{p.name: old.get(p.name, p.default) for p in SPLIT_PARAMS}}
        self._push(new, f"Use the {self.kind_box.itemText(index)} dataset", None)

    def _edited(self, name: str, value: Any, session: int | None) -> None:
        project = self.context.workspace.project
        if project is None or not project.dataset:
            return
        new = copy.deepcopy(project.dataset)
        if name in {p.name for p in SPLIT_PARAMS}:
            new[name] = value
        else:
            new.setdefault("params", {})[name] = value
        self._push(new, f"Set dataset {name} to {describe_value(value)}", session)

    def _push(self, new: dict[str, Any], text: str, session: int | None) -> bool:
        try:
            DatasetConfig.from_json(new)
        except DatasetError as exc:
            self._show_error(str(exc))
            self.load_from_project()  # the editors go back to the project's values
            return False
        self._show_error("")
        self.context.workspace.push(SetSectionCommand(self.context.workspace.project, "dataset", new, text, session))
        return True

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    # ---- preview -------------------------------------------------------------------------
    def came_into_view(self) -> None:
        self.previewer.want()

    def _request_preview(self) -> None:
        project = self.context.workspace.project
        if project is None or not project.dataset:
            return
        self._requested = copy.deepcopy(project.dataset)
        self.previewer.request(self._requested, self.context.workspace.base_dir)

    def _preview_loading(self) -> None:
        self.status.setText("Loading the dataset for a preview…")

    def _preview_failed(self, message: str) -> None:
        self.status.setText("")
        self._clear_preview("No preview: the dataset could not be loaded.")
        self._show_error(message)

    def _preview_loaded(self, result: PreviewResult) -> None:
        self._show_error("")
        summary = result.summary
        self.status.setText("")
        self.summary.setText("<br>".join(line.replace("<", "&lt;") for line in summary.lines()))
        if result.images is not None:
            self.preview_stack.setCurrentIndex(0)
            items = [(img, label, f"{label}\nclick to explain the trained network's decision", False)
                     for img, label in zip(result.images, result.labels)]
            while not self.samples.set_items(items):
                pass
        elif result.points is not None:
            self.preview_stack.setCurrentIndex(1)
            self._show_points(result, summary)
        else:
            self._clear_preview()
            self.summary.setText("<br>".join(line.replace("<", "&lt;") for line in summary.lines()))
        self._show_counts(summary)

    def _show_points(self, result: PreviewResult, summary: DatasetSummary) -> None:
        t = self.context.theme
        classes = result.point_classes
        if summary.task == "classification":
            brushes = [pg.mkBrush(series_color(int(c), t)) for c in classes]
        else:
            brushes = [pg.mkBrush(series_color(0, t))] * len(classes)
        self.scatter.setData(x=result.points[:, 0], y=result.points[:, 1], brush=brushes)

    def _show_counts(self, summary: DatasetSummary) -> None:
        counts = summary.class_counts.get("train") if summary.task == "classification" else None
        self.counts_plot.setVisible(bool(counts))
        if not counts:
            return
        x = np.arange(len(counts), dtype=float)
        self.bars.setOpts(x=x, height=np.asarray(counts, dtype=float), width=0.7)
        axis = self.counts_plot.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, name) for i, name in enumerate(summary.class_names)]])
        self.counts_plot.getPlotItem().setTitle("class counts (training split)", size="9pt")

    def apply_theme(self, t: Theme) -> None:
        for plot in (self.scatter_plot, self.counts_plot):
            style_plot(plot, t)
        self.samples.flag_color = t.canvas.error
