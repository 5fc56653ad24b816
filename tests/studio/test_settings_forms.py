"""Every declared setting: the form's widget, the CLI's --set and the engine agree on what is allowed.

Walks `TRAINING_SETTINGS` and `DATASET_SETTINGS` (the one declaration): each Training panel field
offers exactly the declared bounds (exclusive bounds stepped in by the field's resolution) or
choices; the widget's extreme values are accepted by the engine and by ``--set``; a value just
outside is clamped by the widget and refused by the engine with the same words as the CLI.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox
from test_training_support import training_fixture  # noqa: F401

from engine.data.config import DATASET_SETTINGS, DatasetConfig
from engine.data.errors import DatasetError
from engine.settings_schema import Setting
from engine.train.settings import SettingsError, TrainingSettings, apply_overrides
from engine.train.settings_table import TRAINING_SETTINGS
from studio.editor.param_editors import INT_LIMIT


def _outside(s: Setting, value: float, direction: int) -> float:
    return value + direction * (1 if s.kind == "int" else max(abs(value) * 1e-3, 1e-6))


def test_every_training_setting_has_a_field_with_the_declared_bounds_and_the_engine_agrees(window, training):
    editors = training.panels["training"].editors
    assert set(editors) == {s.keys for s in TRAINING_SETTINGS}
    for s in TRAINING_SETTINGS:
        widget = editors[s.keys].field
        low, high = s.widget_bounds()
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            limit = INT_LIMIT if s.kind == "int" else 1e12
            assert widget.minimum() == pytest.approx(low if low is not None else -limit + (s.kind == "int")), s.path
            assert widget.maximum() == pytest.approx(high if high is not None else limit), s.path
            for edge in (widget.minimum(), widget.maximum()):  # what the form can produce, the engine takes
                parsed = TrainingSettings.from_json(apply_overrides({}, [f"{s.path}={edge!r}"]))
                assert parsed._get(s.path) == pytest.approx(edge), s.path
            for bound, direction in ((low, -1), (high, 1)):
                if bound is None:
                    continue
                beyond = _outside(s, bound, direction)
                if s.above is not None and direction < 0:
                    beyond = s.above
                if s.below is not None and direction > 0:
                    beyond = s.below
                if s.kind != "int" or abs(beyond) <= INT_LIMIT:  # a QSpinBox holds 32-bit values only
                    widget.setValue(beyond)  # the form clamps ...
                    assert (low if direction < 0 else high) == pytest.approx(widget.value()), s.path
                with pytest.raises(SettingsError, match=f"\\({s.path}\\) must be"):  # ... the engine refuses
                    apply_overrides({}, [f"{s.path}={beyond!r}"])
        elif s.kind == "choice":
            assert isinstance(widget, QComboBox)
            assert [widget.itemText(i) for i in range(widget.count())] == list(s.choices), s.path
        elif s.kind == "bool":
            assert isinstance(widget, QCheckBox), s.path
        elif s.kind == "choices":
            assert list(editors[s.keys].boxes) == list(s.choices)


def test_the_dataset_panel_split_fields_come_from_the_declaration(window, training, qtbot):
    window.open_example("lenet5")
    panel = training.panels["dataset"]
    qtbot.waitUntil(lambda: bool(panel.editors), timeout=30_000)
    for s in DATASET_SETTINGS:
        if s.path == "kind":
            items = {panel.kind_box.itemData(i) for i in range(panel.kind_box.count())} - {None}
            assert items == set(s.choices)
            continue
        widget = panel.editors[s.path].field
        low, high = s.widget_bounds()
        assert (widget.minimum(), widget.maximum()) == (pytest.approx(low), pytest.approx(high)), s.path
        DatasetConfig.from_json({"kind": "moons", s.path: widget.maximum() if s.kind == "int" else low})
        if s.below is not None:
            with pytest.raises(DatasetError, match=f"\\({s.path}\\) must be below"):
                DatasetConfig.from_json({"kind": "moons", s.path: s.below})
