"""The settings diff of two runs: every declared training setting, flattened to its path.

`flat_settings(json)` reads each setting of `TRAINING_SETTINGS` at its path (``optimizer.lr``),
taking the declared default where a run's stored settings lack it (a run saved before a setting
existed trained with its default). `settings_diff(a, b)` lists the settings whose values differ, in
declaration order, each with its label and section; ``all_rows`` keeps the equal ones too, for a
table that can show everything. Keys a run stores that are not declared (a newer Layerloom's) are
compared as well, under their own path. No torch, no Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.settings_schema import get_path
from engine.train.settings_table import TRAINING_SETTINGS

MISSING = "—"  # the value shown for a key one run does not have


@dataclass(frozen=True)
class SettingRow:
    """One setting of the two runs."""

    path: str
    label: str
    section: str
    a: Any
    b: Any

    @property
    def changed(self) -> bool:
        return _comparable(self.a) != _comparable(self.b)


def _comparable(value: Any) -> Any:
    # 1 and 1.0 are the same learning rate; True is not the number 1
    if isinstance(value, bool):
        return ("bool", value)
    return float(value) if isinstance(value, int | float) else value


def flat_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared setting's value by path, defaults filling what `settings` lacks."""
    out = {s.path: get_path(settings, s.keys, s.default) for s in TRAINING_SETTINGS}
    for path, value in _leaves(settings, ""):
        if path not in out and path != "version":
            out[path] = value
    return out


def _leaves(tree: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _leaves(value, path + ".")
        else:
            out.append((path, value))
    return out


def all_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[SettingRow]:
    """Every setting of runs `a` and `b`, declared ones first in declaration order."""
    fa, fb = flat_settings(a if isinstance(a, Mapping) else {}), flat_settings(b if isinstance(b, Mapping) else {})
    declared = {s.path: s for s in TRAINING_SETTINGS}
    paths = list(dict.fromkeys([*fa, *fb]))
    rows = []
    for path in paths:
        s = declared.get(path)
        rows.append(SettingRow(path, s.label if s else path, s.section if s else "Other",
                               fa.get(path, MISSING), fb.get(path, MISSING)))
    return rows


def settings_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[SettingRow]:
    """The settings whose values differ between runs `a` and `b`."""
    return [row for row in all_rows(a, b) if row.changed]
