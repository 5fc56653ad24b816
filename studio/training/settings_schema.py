"""The Training panel's fields, generated from the engine's one declaration of every setting.

`training_fields()` turns each `engine.settings_schema.Setting` of
`engine.train.settings_table.TRAINING_SETTINGS` into a `SettingField`: its path into the settings
JSON, a `Param` for the editors (the declared kind, default, help and choices, with the inclusive
bounds a widget can offer: `Setting.widget_bounds`, so a form never offers a value the engine
refuses), its label and section. Nothing here is written by hand, so the form cannot drift from
the engine. Light: no torch.

Kinds beyond the layer kinds: ``choices`` (several of a list: metrics), ``names`` (node ids:
probes), ``optional_float`` (a number or empty for none: gradient clipping) and ``device`` (text
with suggestions); `studio.training.settings_editors` has their editors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.layers.spec import Param
from engine.settings_schema import Setting, get_path, set_path
from engine.train.settings_table import SECTIONS, TRAINING_SETTINGS

__all__ = ["SECTIONS", "SettingField", "covered_paths", "field_for", "training_fields"]


@dataclass(frozen=True)
class SettingField:
    """One setting on a form: where it lives in the settings JSON, its editor schema and its section."""

    setting: Setting
    param: Param

    @property
    def path(self) -> tuple[str, ...]:
        return self.setting.keys

    @property
    def label(self) -> str:
        return self.setting.label

    @property
    def section(self) -> str:
        return self.setting.section

    def get(self, data: dict[str, Any]) -> Any:
        return get_path(data, self.path, self.param.default)

    def set(self, data: dict[str, Any], value: Any) -> None:
        set_path(data, self.path, value)


def field_for(setting: Setting) -> SettingField:
    """The form field of one declared setting."""
    low, high = setting.widget_bounds()
    param = Param(setting.name, setting.kind, setting.default, setting.help, low, high, setting.choices,
                  optional=setting.kind == "optional_float")
    return SettingField(setting, param)


def training_fields() -> list[SettingField]:
    """The fields of the Training panel, in declaration order."""
    return [field_for(s) for s in TRAINING_SETTINGS]


def covered_paths() -> set[tuple[str, ...]]:
    """Every declared setting's path (what the form covers)."""
    return {s.keys for s in TRAINING_SETTINGS}
