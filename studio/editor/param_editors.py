"""One editor widget per parameter kind, generated from a layer's parameter schema.

`make_editor(param)` returns a `ParamEditor` for any `Param` kind: a spin box for
``int`` and ``float`` (with the schema's range; ``optional`` adds an "auto"
value), a check box for ``bool``, a combo box for ``choice``, a line edit for
``str``, a line edit of comma-separated numbers for ``ints`` shapes (``1, 28, 28``)
and ``int_pair`` (``3`` or ``3, 5``), and an editable combo for ``padding``
(a number, a pair, ``same`` or ``valid``).

An editor emits `committed(value, session)` when the person changes the value:
spin boxes on every step or keystroke, with the same `session` number until the
editing ends (so the controller merges them into one undo step); the others
once, when the edit is finished, with no session. Text that cannot be read as a
value emits `refused(reason)` instead. `set_value` shows the document's value
without emitting anything. Editors never write the document.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.layers.params import PADDING_WORDS
from engine.layers.spec import Param

INT_LIMIT = 2**31 - 1
_sessions = itertools.count(1)


def format_value(value: Any) -> str:
    """A value as the text editors show: tuples as ``1, 28, 28``, None as empty."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """``"1, 28, 28"`` (or ``1x28x28``, ``1 28 28``) -> ``(1, 28, 28)``; raises ValueError."""
    tokens = [t for t in re.split(r"[,\s×x*]+", text.strip()) if t]
    if not tokens:
        raise ValueError(f"{name} needs at least one number")
    try:
        return tuple(int(t) for t in tokens)
    except ValueError:
        raise ValueError(f"{name} must be whole numbers separated by commas, e.g. 1, 28, 28") from None


class ParamEditor(QWidget):
    """Base of the editors: a row holding one input widget."""

    committed = Signal(object, object)  # value, session (int or None)
    refused = Signal(str)

    def __init__(self, param: Param, field: QWidget) -> None:
        super().__init__()
        self.param = param
        self.field = field
        field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field)
        self.setToolTip(param.help)
        self.setFocusProxy(field)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Scrolling the inspector must not change the value under the mouse: the wheel edits
        # only a field that has the keyboard focus.
        if event.type() == QEvent.Type.Wheel and watched is self.field and not self.field.hasFocus():
            event.ignore()
            return True
        return super().eventFilter(watched, event)

    def set_value(self, value: Any) -> None:
        self.field.blockSignals(True)
        try:
            self._show(value)
        finally:
            self.field.blockSignals(False)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def set_invalid(self, invalid: bool) -> None:
        self.field.setProperty("invalid", invalid)
        self.field.style().unpolish(self.field)
        self.field.style().polish(self.field)


class _SpinEditor(ParamEditor):
    """Spin boxes commit on every change; one editing session (until Enter or focus-out) merges."""

    def __init__(self, param: Param, spin: QAbstractSpinBox) -> None:
        spin.setKeyboardTracking(True)
        spin.setAccelerated(True)
        super().__init__(param, spin)
        self._session = next(_sessions)
        spin.valueChanged.connect(self._changed)
        spin.editingFinished.connect(self._end_session)

    def _changed(self, _value: object) -> None:
        self.committed.emit(self._value(), self._session)

    def _end_session(self) -> None:
        self._session = next(_sessions)

    def _value(self) -> Any:
        raise NotImplementedError


class IntEditor(_SpinEditor):
    def __init__(self, param: Param) -> None:
        spin = QSpinBox()
        low = int(param.minimum) if param.minimum is not None else -INT_LIMIT + 1
        high = int(param.maximum) if param.maximum is not None else INT_LIMIT
        if param.optional:
            low -= 1
            spin.setSpecialValueText("auto")
        spin.setRange(low, high)
        super().__init__(param, spin)

    def _value(self) -> int | None:
        spin = self.field
        if self.param.optional and spin.value() == spin.minimum():
            return None
        return spin.value()

    def _show(self, value: Any) -> None:
        self.field.setValue(self.field.minimum() if value is None else int(value))


class _FloatSpin(QDoubleSpinBox):
    """A double spin box that shows 0.5 and 1e-05 rather than 0.500000 and 0.000010."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        try:
            value = float(text)
        except ValueError:
            ok = re.fullmatch(r"[-+]?[0-9]*\.?[0-9]*(e[-+]?[0-9]*)?", text.strip(), re.IGNORECASE)
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return state, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


class FloatEditor(_SpinEditor):
    def __init__(self, param: Param) -> None:
        spin = _FloatSpin()
        spin.setDecimals(10)
        spin.setRange(param.minimum if param.minimum is not None else -1e12,
                      param.maximum if param.maximum is not None else 1e12)
        spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        super().__init__(param, spin)

    def _value(self) -> float:
        return float(self.field.value())

    def _show(self, value: Any) -> None:
        self.field.setValue(float(value if value is not None else 0.0))


class BoolEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        box = QCheckBox()
        super().__init__(param, box)
        box.toggled.connect(lambda on: self.committed.emit(bool(on), None))

    def _show(self, value: Any) -> None:
        self.field.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param) -> None:
        combo = QComboBox()
        combo.addItems(list(param.choices))
        super().__init__(param, combo)
        combo.activated.connect(lambda i: self.committed.emit(combo.itemText(i), None))

    def _show(self, value: Any) -> None:
        self.field.setCurrentIndex(max(0, self.field.findText(str(value))))


class TextEditor(ParamEditor):
    """Line-edit editors: plain text, shapes, pairs. They commit when editing finishes."""

    def __init__(self, param: Param, widget: QWidget | None = None) -> None:
        super().__init__(param, widget or QLineEdit())
        self._shown = ""
        self.line_edit().editingFinished.connect(self._finish)
        if param.optional:
            self.line_edit().setPlaceholderText("auto")

    def line_edit(self) -> QLineEdit:
        return self.field if isinstance(self.field, QLineEdit) else self.field.lineEdit()

    def _show(self, value: Any) -> None:
        self._shown = format_value(value)
        self.line_edit().setText(self._shown)

    def parse(self, text: str) -> Any:
        return text

    def _finish(self) -> None:
        text = self.line_edit().text().strip()
        if not text and self.param.optional:
            self.committed.emit(None, None)
            return
        try:
            value = self.parse(text)
        except ValueError as exc:
            self.refused.emit(str(exc))
            return
        self.committed.emit(value, None)


class IntsEditor(TextEditor):
    def __init__(self, param: Param) -> None:
        super().__init__(param)
        hint = f"{param.length} numbers" if param.length else "numbers"
        self.line_edit().setPlaceholderText(f"{hint}, e.g. 1, 28, 28")

    def parse(self, text: str) -> Any:
        return parse_ints(text, self.param.name)


class IntPairEditor(TextEditor):
    def parse(self, text: str) -> Any:
        values = parse_ints(text, self.param.name)
        return values[0] if len(values) == 1 else values


class PaddingEditor(TextEditor):
    def __init__(self, param: Param) -> None:
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(list(PADDING_WORDS))
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        super().__init__(param, combo)
        combo.activated.connect(lambda i: self._finish())

    def _show(self, value: Any) -> None:
        self._shown = format_value(value)
        self.field.setCurrentText(self._shown)

    def parse(self, text: str) -> Any:
        if text.lower() in PADDING_WORDS:
            return text.lower()
        values = parse_ints(text, self.param.name)
        return values[0] if len(values) == 1 else values


_EDITORS = {
    "int": IntEditor,
    "float": FloatEditor,
    "bool": BoolEditor,
    "choice": ChoiceEditor,
    "str": TextEditor,
    "ints": IntsEditor,
    "int_pair": IntPairEditor,
    "padding": PaddingEditor,
}


def make_editor(param: Param) -> ParamEditor:
    """The editor for `param`'s kind (a plain text field for a kind added later)."""
    return _EDITORS.get(param.kind, TextEditor)(param)
