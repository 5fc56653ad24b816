"""Editors for the setting kinds that layers do not have, in the style of `studio.editor.param_editors`.

``choices`` (several names: check boxes), ``names`` (comma-separated node ids), ``optional_float``
(a number or empty for none) and ``device`` (text with suggestions). `make_setting_editor` picks
one of these or falls back to the layer editors.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QVBoxLayout, QWidget

from engine.layers.spec import Param
from studio.editor.param_editors import ParamEditor, TextEditor, make_editor

DEVICES = ("auto", "cpu", "cuda", "mps")


class ChoicesEditor(ParamEditor):
    """Check boxes, one per choice; commits the list of checked names."""

    def __init__(self, param: Param) -> None:
        host = QWidget()
        column = QVBoxLayout(host)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self.boxes = {name: QCheckBox(name) for name in param.choices}
        for box in self.boxes.values():
            column.addWidget(box)
            box.toggled.connect(self._toggled)
        super().__init__(param, host)

    def _toggled(self, _on: bool) -> None:
        self.committed.emit(self.value(), None)

    def value(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.isChecked()]

    def set_value(self, value: Any) -> None:
        for name, box in self.boxes.items():
            box.blockSignals(True)
            box.setChecked(name in (value or []))
            box.blockSignals(False)

    def _show(self, value: Any) -> None:
        self.set_value(value)


class NamesEditor(TextEditor):
    """Comma-separated names as a list."""

    def __init__(self, param: Param) -> None:
        super().__init__(param)
        self.line_edit().setPlaceholderText("none: the selected node")

    def _show(self, value: Any) -> None:
        self._shown = ", ".join(value or [])
        self.line_edit().setText(self._shown)

    def parse(self, text: str) -> Any:
        return [t.strip() for t in text.split(",") if t.strip()]


class OptionalFloatEditor(TextEditor):
    """A number, or empty for none."""

    def __init__(self, param: Param) -> None:
        super().__init__(Param(param.name, param.kind, param.default, param.help, optional=True))
        self.line_edit().setPlaceholderText("none")

    def _show(self, value: Any) -> None:
        self._shown = "" if value is None else f"{value:g}"
        self.line_edit().setText(self._shown)

    def parse(self, text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{self.param.name} must be a number, or empty for none") from None


class DeviceEditor(TextEditor):
    """An editable list of devices."""

    def __init__(self, param: Param) -> None:
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(list(DEVICES))
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        super().__init__(param, combo)
        combo.activated.connect(lambda _i: self._finish())

    def _show(self, value: Any) -> None:
        self._shown = str(value)
        self.field.setCurrentText(self._shown)


_EDITORS = {"choices": ChoicesEditor, "names": NamesEditor, "optional_float": OptionalFloatEditor,
            "device": DeviceEditor}


def make_setting_editor(param: Param) -> ParamEditor:
    """The editor for a training setting's kind."""
    factory = _EDITORS.get(param.kind)
    return factory(param) if factory is not None else make_editor(param)
