"""The Training panel: every training setting of the engine, edited in the project.

The form is generated from `studio.training.settings_schema.training_fields()` (one `Param` per
setting, grouped in sections) with the layer editors and a few setting editors. A change is
parsed with the engine's `TrainingSettings.from_json` first (a value it refuses is shown and not
stored), then pushed as one undo step (`SetSectionCommand`; spin-box sessions merge). Under the
form, `TrainingSettings.validate` lists every problem in the CLI's words, checked against the
dataset preview's summary and the network's output when they are known, or says the settings are
ready. The form and the checks are built from the engine's light schema layer (no torch), so the
panel is ready at once; it is read-only while a run trains. Above the form, `LearningRateTools`
finds a learning rate (when idle) and sets it live (while a run trains).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.availability import dataset_availability
from engine.train.settings import SettingsError, TrainingSettings
from studio.editor.commands import describe_value
from studio.editor.param_editors import ParamEditor
from studio.theme import Theme
from studio.training.checks import dataset_problem, network_errors, settings_problems
from studio.training.panels.base import Panel, PanelContext
from studio.training.panels.focus import has_focus
from studio.training.panels.lr_controls import LearningRateTools
from studio.training.project_commands import SetSectionCommand
from studio.training.settings_editors import make_setting_editor
from studio.training.settings_schema import SECTIONS, SettingField, training_fields

if TYPE_CHECKING:  # type names only: the panel is handed these objects, it never makes them
    from engine.project import Project
    from studio.editor.document_controller import DocumentController
    from studio.training.dataset_preview import DatasetPreviewer

FIELD_MIN_WIDTH = 80
FOLDER_SETTINGS = {("tensorboard", "log_dir")}  # text fields that name a folder get a Browse… button


def readiness_problems(controller: DocumentController | None, project: Project, preview: DatasetPreviewer | None,
                       base_dir: Path | None = None) -> list[str]:
    """Why a run cannot start now: the network's errors, the dataset's availability, then the settings
    (checked against the dataset and the network's output when they are known). Always computed from the
    current document, never from an analysis that is still waiting to run."""
    analysis = None
    if controller is not None:
        analysis = controller.flush_analysis() if controller.analysis_pending else controller.analysis
    problems = []
    errors = network_errors(analysis)
    if errors:
        node_id, message = errors[0]
        node = project.network.nodes.get(node_id) if node_id else None
        where = f"'{node.name}': " if node is not None else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        problems.append(f"the network has errors (see Problems): {where}{message}{more}")
    missing = dataset_problem(project)
    if not missing:  # is the data on this machine (files named, standard sets downloaded or downloadable)?
        available = dataset_availability(project.dataset, base_dir)
        missing = None if available.ready else f"dataset: {available.message}"
    unavailable = preview.error_for(project.dataset) if preview is not None and not missing else ""
    if missing or unavailable:
        problems.append(missing or f"the dataset cannot be loaded: {unavailable}")
    summary = preview.summary_for(project.dataset) if preview is not None else None
    problems += settings_problems(project, analysis, summary)
    return problems


RUN_STATE_TEXT = {"starting": "Starting", "running": "Training", "paused": "Paused", "stopping": "Stopping"}


class TrainingSettingsPanel(Panel):
    """All training settings of the project, with the engine's checks."""

    name, title = "training", "Training"

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.fields: list[SettingField] = []
        self.editors: dict[tuple[str, ...], ParamEditor] = {}
        self.problems: list[str] = []
        self.choose_folder: Callable[[QWidget, str], str] = QFileDialog.getExistingDirectory
        self.problems_label = QLabel("")
        self.problems_label.setWordWrap(True)
        self.refused = QLabel("")
        self.refused.setObjectName("error")
        self.refused.setWordWrap(True)
        self.refused.hide()
        self.form_host = QWidget()
        self.form_layout = QVBoxLayout(self.form_host)
        self.form_layout.setContentsMargins(0, 0, 0, 0)
        self.lr_tools = LearningRateTools(context.runs)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.lr_tools)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.refused)
        layout.addWidget(self.form_host)
        layout.addStretch(1)
        self.set_scrolling_body(body)
        self._theme = context.theme
        ws = context.workspace
        ws.document_changed.connect(self.load_from_project)
        if context.preview is not None:
            context.preview.loaded.connect(lambda _r: self.check())
            context.preview.failed.connect(lambda _m: self.check())
        ws.editable_changed.connect(self.form_host.setEnabled)  # read-only while a run trains the project
        self.load_from_project()

    def came_into_view(self) -> None:
        if self.context.preview is not None:
            self.context.preview.want()  # the readiness check is worth more against the loaded data

    def _build(self) -> None:
        self.fields = training_fields()
        forms: dict[str, QFormLayout] = {}
        for section in SECTIONS:
            box = QGroupBox(section)
            forms[section] = QFormLayout(box)
            forms[section].setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            forms[section].setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            self.form_layout.addWidget(box)
        for f in self.fields:
            editor = make_setting_editor(f.param)
            editor.field.setMinimumWidth(FIELD_MIN_WIDTH)  # spin boxes size themselves for 1e12 otherwise
            editor.committed.connect(lambda value, session, field=f: self._edited(field, value, session))
            editor.refused.connect(self._show_refused)
            label = QLabel(f.label)
            label.setToolTip(f.param.help)
            forms[f.section].addRow(label, self._with_browse(editor) if f.path in FOLDER_SETTINGS else editor)
            self.editors[f.path] = editor

    def _with_browse(self, editor: ParamEditor) -> QWidget:
        """A folder setting's text field with a Browse… button that picks the folder."""
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        button = QPushButton("Browse…")
        button.setObjectName(f"browse_{editor.param.name}")
        button.clicked.connect(lambda: self.browse(editor))
        row.addWidget(button)
        return host

    def browse(self, editor: ParamEditor) -> None:
        """Ask for a folder with `choose_folder` and set it (one undo step)."""
        path = self.choose_folder(self, f"Choose the folder for {editor.param.name}")
        if path:
            editor.set_value(path)
            field = next(f for f in self.fields if self.editors.get(f.path) is editor)
            self._edited(field, path, None)

    def load_from_project(self) -> None:
        """Show the project's training settings and check them."""
        if not self.fields:
            self._build()
        if self.context.workspace.project is None:
            return
        data = self._settings_json()
        for f in self.fields:
            editor = self.editors[f.path]
            if not has_focus(editor):  # never rewrite what the person is typing
                editor.set_value(f.get(data))
        self.check()

    def project_changed(self) -> None:
        self.load_from_project()

    def _settings_json(self) -> dict[str, Any]:
        """The project's settings with defaults filled in (or as stored, when they do not parse)."""
        project = self.context.workspace.project
        try:
            return TrainingSettings.from_json(project.training).to_json()
        except SettingsError:
            return copy.deepcopy(project.training)

    def check(self) -> list[str]:
        """Run the engine's checks and show the result."""
        project = self.context.workspace.project
        if project is None:
            return []
        summary = self.context.preview.summary_for(project.dataset) if self.context.preview is not None else None
        self.problems = readiness_problems(self.context.workspace.controller, project, self.context.preview,
                                           self.context.workspace.base_dir)
        t = self._theme
        if self.problems:
            items = "".join(f"<li>{p}</li>" for p in self.problems)
            self.problems_label.setText(f"<span style='color:{t.canvas.error}'><b>Training cannot start:</b>"
                                        f"<ul style='margin:0'>{items}</ul></span>")
        else:
            checked = "the dataset and the network's output" if summary is not None else "the settings alone"
            self.problems_label.setText(f"{self._readiness(t)} "
                                        f"<span style='color:{t.muted}'>(checked against {checked})</span>")
        return self.problems

    def _readiness(self, t: Theme) -> str:
        """"Ready to train" only when nothing trains: while a run is under way the line says what it does (the
        settings shown apply to the next run, not the one training)."""
        runs = self.context.runs
        if not runs.active:
            return f"<span style='color:{t.canvas.valid}'>✓ Ready to train</span>"
        doing = RUN_STATE_TEXT.get(runs.state, "Training")
        name = f" {runs.run_id}" if runs.run_id else ""
        return (f"<span style='color:{t.highlight}'><b>{doing}{name}</b></span> <span style='color:{t.muted}'>"
                "— changes here apply to the next run</span>")

    def _state_changed(self, state: str) -> None:
        super()._state_changed(state)
        self.check()

    def _edited(self, field: SettingField, value: Any, session: int | None) -> None:
        project = self.context.workspace.project
        if project is None:
            return
        new = self._settings_json()
        field.set(new, value)
        try:
            new = TrainingSettings.from_json(new).to_json()
        except SettingsError as exc:
            self._show_refused(str(exc))
            self.load_from_project()
            return
        self._show_refused("")
        text = f"Set {field.label.lower()} to {describe_value(value) if not isinstance(value, list) else value}"
        self.context.workspace.push(SetSectionCommand(project, "training", new, text, session))

    def _show_refused(self, text: str) -> None:
        self.refused.setText(text)
        self.refused.setVisible(bool(text))

    def apply_theme(self, t: Theme) -> None:
        self._theme = t
        self.check()
