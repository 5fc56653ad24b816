"""The inspector: the selected node's name, help, shapes and parameter editors.

Selecting one node shows its type and category, a name field (renames on Enter
or focus-out), a *Frozen* check box (training keeps the node's weights, a block's
all inside it; one undo step), the layer's help text, the inferred input and output shapes and
parameter count, any problems, and one editor per parameter generated from the
schema (`param_editors.make_editor`). A change goes to the controller at once
and becomes one undo step (spin-box typing merges into one); a value the
controller refuses leaves the document unchanged and shows the reason under the
editor and in the status bar. The inspector follows the document through the
controller's bridge (undo, redo and edits elsewhere update the editors) and
never writes the document itself.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.graph.analysis import ERROR, Analysis
from engine.graph.document import Node
from studio.editor.category_style import category_icon
from studio.editor.document_controller import DocumentController
from studio.editor.param_editors import ParamEditor, make_editor
from studio.number_format import format_count


def _label(text: str = "", name: str = "", wrap: bool = False) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Inspector(QScrollArea):
    """Shows and edits the selected node."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.controller: DocumentController | None = None
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.errors: dict[str, QLabel] = {}
        self.name_edit: QLineEdit | None = None
        self.frozen_box: QCheckBox | None = None
        self.name_error: QLabel | None = None
        self.shape_labels: dict[str, QLabel] = {}
        self.problems_label: QLabel | None = None
        self.warnings_label: QLabel | None = None
        self.show_nodes([])

    # ---- wiring ------------------------------------------------------------------------
    def set_controller(self, controller: DocumentController | None) -> None:
        if self.controller is not None:
            bridge = self.controller.bridge
            bridge.param_changed.disconnect(self._on_param_changed)
            bridge.node_renamed.disconnect(self._on_renamed)
            bridge.node_removed.disconnect(self._on_removed)
            bridge.frozen_changed.disconnect(self._on_frozen_changed)
            self.controller.level_analysis_changed.disconnect(self._on_analysis)
        self.controller = controller
        if controller is not None:
            controller.bridge.param_changed.connect(self._on_param_changed)
            controller.bridge.node_renamed.connect(self._on_renamed)
            controller.bridge.node_removed.connect(self._on_removed)
            controller.bridge.frozen_changed.connect(self._on_frozen_changed)
            controller.level_analysis_changed.connect(self._on_analysis)
        self.show_nodes([])

    # ---- content -----------------------------------------------------------------------
    def show_nodes(self, node_ids: list[str]) -> None:
        """Show the one selected node, or a hint for none or several."""
        self.editors, self.errors, self.shape_labels = {}, {}, {}
        self.name_edit = self.name_error = self.problems_label = self.warnings_label = None
        self.frozen_box = None
        self.node_id = node_ids[0] if len(node_ids) == 1 and self.controller is not None else None
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 10, 12, 12)
        layout.setSpacing(6)
        if self.node_id is None:
            text = (f"{len(node_ids)} nodes selected." if len(node_ids) > 1
                    else "Select a node to see and edit its parameters.")
            hint = _label(text, "muted", wrap=True)
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addStretch(1)
            layout.addWidget(hint)
            layout.addStretch(2)
        else:
            self._build(layout, self.controller.doc.nodes[self.node_id])
            layout.addStretch(1)
        self.setWidget(page)

    def _build(self, layout: QVBoxLayout, node: Node) -> None:
        spec = self.controller.doc.spec_of(node)
        head = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(category_icon(spec.category).pixmap(28, 28))
        head.addWidget(icon)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(_label(spec.title, "inspectorTitle"))
        titles.addWidget(_label(spec.category, "inspectorSubtitle"))
        head.addLayout(titles, 1)
        layout.addLayout(head)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("Name", self.name_edit)
        self.name_error = _label("", "errorText", wrap=True)
        self.name_error.hide()
        form.addRow("", self.name_error)
        if not (spec.is_input or spec.is_output):
            self.frozen_box = QCheckBox("keep the weights (not trained)")
            self.frozen_box.setObjectName("frozenBox")
            self.frozen_box.setChecked(node.frozen)
            self.frozen_box.setToolTip("A frozen node's weights (a block's: everything inside it) stay as they "
                                       "are while training: no gradient, not in the optimiser, BatchNorm "
                                       "statistics kept")
            frozen_by = self.controller.frozen_by()
            if frozen_by is not None:  # inside a frozen block: frozen with it, thawed only with it
                self.frozen_box.setChecked(True)
                self.frozen_box.setEnabled(False)
                self.frozen_box.setToolTip(f"Frozen with its block '{frozen_by}': unfreeze the block to train it")
            self.frozen_box.toggled.connect(self._set_frozen)  # after the state shown, so that sets nothing
            form.addRow("Frozen", self.frozen_box)
        layout.addLayout(form)
        if spec.help:
            layout.addWidget(_label(spec.help, "helpText", wrap=True))

        layout.addWidget(_label("SHAPES", "sectionLabel"))
        shapes = QFormLayout()
        for key, title in (("inputs", "Input"), ("output", "Output"), ("params", "Parameters")):
            label = _label("—")
            self.shape_labels[key] = label
            shapes.addRow(title, label)
        layout.addLayout(shapes)
        self.problems_label = _label("", "errorText", wrap=True)
        self.warnings_label = _label("", "warningText", wrap=True)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.warnings_label)
        self._on_analysis(self.controller.level_analysis)

        if spec.params:
            layout.addWidget(_label("PARAMETERS", "sectionLabel"))
            params = QFormLayout()
            params.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for param in spec.params:
                editor = make_editor(param)
                editor.setObjectName(f"param_{param.name}")
                editor.set_value(node.params.get(param.name))
                binder = self.controller.level_binders.get((node.id, param.name))
                if binder is not None:  # inside an open block, a block parameter sets this one
                    editor.set_value(self.controller.level_bindings.get(node.id, {}).get(param.name))
                    editor.setEnabled(False)
                    editor.setToolTip(f"Set by the block parameter {binder}: edit it there")
                editor.committed.connect(lambda value, session, key=param.name: self._commit(key, value, session))
                editor.refused.connect(lambda reason, key=param.name: self._show_error(key, reason))
                name = QLabel(param.name)
                name.setToolTip(param.help)
                params.addRow(name, editor)
                error = _label("", "errorText", wrap=True)
                error.hide()
                params.addRow("", error)
                self.editors[param.name] = editor
                self.errors[param.name] = error
            layout.addLayout(params)

    # ---- edits -------------------------------------------------------------------------
    def _commit(self, key: str, value: Any, session: int | None) -> None:
        problem = self.controller.set_param(self.node_id, key, value, session)
        self._show_error(key, problem)

    def _show_error(self, key: str, reason: str | None) -> None:
        label = self.errors.get(key)
        if label is None:
            return
        label.setText(reason or "")
        label.setVisible(bool(reason))
        self.editors[key].set_invalid(bool(reason))
        if reason and self.controller is not None:
            self.controller.hint(reason)

    def _set_frozen(self, frozen: bool) -> None:
        if self.node_id is None or self.controller is None:
            return
        if self.controller.set_frozen(self.node_id, frozen) and self.frozen_box is not None:
            with QSignalBlocker(self.frozen_box):  # refused (read-only): show the document's value again
                self.frozen_box.setChecked(self.controller.doc.node(self.node_id).frozen)

    def _rename(self) -> None:
        if self.name_edit is None or self.node_id is None:
            return
        problem = self.controller.rename(self.node_id, self.name_edit.text())
        self.name_error.setText(problem or "")
        self.name_error.setVisible(bool(problem))

    # ---- document -> widgets ---------------------------------------------------------------
    def _on_param_changed(self, node_id: str, key: str, old: object, new: object) -> None:
        if node_id == self.node_id and key in self.editors and self.editors[key].isEnabled():
            self.editors[key].set_value(new)
            self._show_error(key, None)

    def _on_renamed(self, node_id: str, old: str, new: str) -> None:
        if node_id == self.node_id and self.name_edit is not None:
            self.name_edit.setText(new)
            self.name_error.hide()

    def _on_frozen_changed(self, node_id: str, frozen: bool) -> None:
        if node_id == self.node_id and self.frozen_box is not None and self.frozen_box.isChecked() != frozen:
            with QSignalBlocker(self.frozen_box):
                self.frozen_box.setChecked(frozen)

    def _on_removed(self, node: Node) -> None:
        if node.id == self.node_id:
            self.show_nodes([])

    def _on_analysis(self, analysis: Analysis) -> None:
        if self.node_id is None or not self.shape_labels:
            return
        info = analysis.nodes.get(self.node_id)
        inputs = ", ".join(t.label() for t in info.inputs) if info and info.inputs else "—"
        output = info.output.label() if info and info.output else "—"
        self.shape_labels["inputs"].setText(inputs)
        self.shape_labels["output"].setText(output)
        self.shape_labels["params"].setText(format_count(info.param_count) if info else "—")
        mine = analysis.problems_of(self.node_id)
        for label, severe, mark in ((self.problems_label, True, "✖"), (self.warnings_label, False, "⚠")):
            lines = [f"{mark} {p.message}" for p in mine if (p.severity == ERROR) == severe]
            label.setText("\n".join(lines))
            label.setVisible(bool(lines))
