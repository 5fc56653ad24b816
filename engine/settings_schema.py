"""Settings declared once: the record every training, dataset and augmentation setting is written as.

A `Setting` holds everything about one setting: its path in the stored JSON (``optimizer.lr``), its
kind, default, range or choices, label, help text and the form section it belongs to. From this
one declaration come:

- parsing and range checks of stored JSON (`coerce` raises `SettingValueError` naming the path),
  walked over a whole table by `parse_tree` (unknown keys at any level are errors);
- the command line's ``--set path=value`` overrides (`parse_text` reads a value typed as text);
- the studio's generated forms (`widget_bounds` gives the inclusive bounds a spin box may offer:
  never a value the engine refuses);
- the format documentation (`engine.settings_doc`).

Kinds: ``int``, ``float``, ``bool``, ``str``, ``choice`` (one of `choices`), ``choices`` (a list of
several of `choices`), ``names`` (a list of node ids), ``optional_float`` (a number or null) and
``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``). Bounds are inclusive (`minimum`,
`maximum`) or exclusive (`above`, `below`). Rules between settings (warm-up shorter than the run,
label smoothing only with cross_entropy...) are code beside each table, never here.

This module imports neither torch nor Qt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("int", "float", "bool", "str", "choice", "choices", "names", "optional_float", "device")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICE_SUGGESTIONS = ("auto", "cpu", "cuda", "mps")
FLOAT_DECIMALS = 10  # what a form's number field resolves; exclusive bounds step in by one unit of it
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("", "none", "null")


class SettingValueError(ValueError):
    """A value does not fit its setting; the message names the setting's path."""


@dataclass(frozen=True)
class Setting:
    """One setting: where it is stored, what it may hold and how a form shows it."""

    path: str
    kind: str
    default: Any
    label: str
    section: str
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.path}: unknown kind {self.kind!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))

    @property
    def name(self) -> str:
        return self.keys[-1]

    @property
    def where(self) -> str:
        """How messages name the setting: its label and its path (``Learning rate (optimizer.lr)``)."""
        return f"{self.label} ({self.path})"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float", "optional_float")

    # ---- checking ---------------------------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """`value` in canonical form (ints not whole floats, lists copied), or `SettingValueError`."""
        kind, where = self.kind, self.where
        if kind == "optional_float":
            return None if value is None else self._number(value)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or float(value) != int(value):
                raise SettingValueError(f"{where} must be a whole number, got {value!r}")
            return self._in_range(int(value))
        if kind == "float":
            return self._number(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise SettingValueError(f"{where} must be true or false, got {value!r}")
            return value
        if kind in ("str", "choice", "device"):
            if not isinstance(value, str):
                raise SettingValueError(f"{where} must be text, got {value!r}")
            if kind == "choice" and value not in self.choices:
                raise SettingValueError(f"{where} must be one of {', '.join(self.choices)}; got {value!r}")
            if kind == "device" and not DEVICE_PATTERN.match(value):
                raise SettingValueError(f"{where} must be auto, cpu, cuda, cuda:N or mps; got {value!r}")
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingValueError(f"{where} must be a list of names, got {value!r}")
        if kind == "choices":
            unknown = [v for v in value if v not in self.choices]
            if unknown:
                raise SettingValueError(f"{where}: unknown {', '.join(map(repr, unknown))}; choose from "
                                        f"{', '.join(self.choices)}")
        return list(value)

    def _number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SettingValueError(f"{self.where} must be a finite number, got {value!r}")
        return self._in_range(float(value))

    def _in_range(self, value: float) -> Any:
        problem = self.range_problem(value)
        if problem:
            raise SettingValueError(problem)
        return value

    def range_problem(self, value: float) -> str | None:
        """Why a number is out of this setting's range, or None."""
        where = self.where
        if self.minimum is not None and value < self.minimum:
            return f"{where} must be at least {format_number(self.minimum)}, got {format_number(value)}"
        if self.above is not None and not value > self.above:
            return f"{where} must be above {format_number(self.above)}, got {format_number(value)}"
        if self.maximum is not None and value > self.maximum:
            return f"{where} must be at most {format_number(self.maximum)}, got {format_number(value)}"
        if self.below is not None and not value < self.below:
            return f"{where} must be below {format_number(self.below)}, got {format_number(value)}"
        return None

    # ---- text (the command line) --------------------------------------------------------------
    def parse_text(self, text: str) -> Any:
        """A value typed as text (``--set path=text``), checked like stored JSON."""
        kind, raw = self.kind, text.strip()
        try:
            if kind == "int":
                value: Any = int(raw) if re.fullmatch(r"[-+]?\d+", raw) else float(raw)
            elif kind == "float":
                value = float(raw)
            elif kind == "optional_float":
                value = None if raw.lower() in _NONE else float(raw)
            elif kind == "bool":
                if raw.lower() not in (*_TRUE, *_FALSE):
                    raise SettingValueError(f"{self.where} must be true or false, got {text!r}")
                value = raw.lower() in _TRUE
            elif kind in ("choices", "names"):
                value = [t.strip() for t in raw.split(",") if t.strip()]
            else:
                value = raw
        except ValueError as exc:
            if isinstance(exc, SettingValueError):
                raise
            raise SettingValueError(f"{self.where} must be a {_KIND_WORDS[kind]}, got {text!r}") from None
        return self.coerce(value)

    # ---- forms and documentation --------------------------------------------------------------
    def widget_bounds(self) -> tuple[float | None, float | None]:
        """The inclusive bounds a form's number field may offer (exclusive bounds stepped inside)."""
        step = 1 if self.kind == "int" else 10.0 ** -FLOAT_DECIMALS
        low = self.minimum if self.above is None else self.above + step
        high = self.maximum if self.below is None else self.below - step
        return low, high

    def range_text(self) -> str:
        """The allowed values in words, for documentation and tooltips."""
        if self.kind in ("choice", "choices"):
            return ("one of " if self.kind == "choice" else "any of ") + ", ".join(self.choices)
        if self.kind == "device":
            return "auto, cpu, cuda, cuda:N or mps"
        if self.kind == "names":
            return "node ids"
        parts = []
        if self.minimum is not None:
            parts.append(f"≥ {format_number(self.minimum)}")
        if self.above is not None:
            parts.append(f"> {format_number(self.above)}")
        if self.maximum is not None:
            parts.append(f"≤ {format_number(self.maximum)}")
        if self.below is not None:
            parts.append(f"< {format_number(self.below)}")
        text = ", ".join(parts)
        return f"{text}, or null" if self.kind == "optional_float" else text


_KIND_WORDS = {"int": "whole number", "float": "number", "optional_float": "number or none"}


def format_number(x: float) -> str:
    """A bound as people write it: 5, 0.01, 1000000."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def setting(path: str, kind: str, default: Any, label: str, section: str, help: str = "",
            **bounds: Any) -> Setting:
    """A `Setting`, with choices given as any sequence."""
    if "choices" in bounds:
        bounds["choices"] = tuple(bounds["choices"])
    return Setting(path, kind, default, label, section, help, **bounds)


def prefixed(settings: Iterable[Setting], prefix: str, section: str | None = None) -> list[Setting]:
    """The same settings stored under ``prefix.`` (a table embedded in another)."""
    out = []
    for s in settings:
        out.append(Setting(f"{prefix}.{s.path}", s.kind, s.default, s.label, section or s.section, s.help,
                           s.minimum, s.maximum, s.above, s.below, s.choices))
    return out


def by_path(settings: Iterable[Setting]) -> dict[str, Setting]:
    """A table keyed by path; a path declared twice is a programming error."""
    table: dict[str, Setting] = {}
    for s in settings:
        if s.path in table:
            raise ValueError(f"setting {s.path} is declared twice")
        table[s.path] = s
    return table


def defaults_tree(settings: Iterable[Setting]) -> dict[str, Any]:
    """The nested JSON of every default."""
    tree: dict[str, Any] = {}
    for s in settings:
        set_path(tree, s.keys, _copy(s.default))
    return tree


def set_path(tree: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    for key in keys[:-1]:
        child = tree.get(key)
        if not isinstance(child, dict):
            child = tree[key] = {}
        tree = child
    tree[keys[-1]] = value


def get_path(tree: Mapping[str, Any], keys: Sequence[str], default: Any = None) -> Any:
    node: Any = tree
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def parse_tree(settings: Sequence[Setting], data: Any, where: str) -> dict[str, Any]:
    """Check stored JSON against a table: every leaf coerced, unknown keys refused, defaults filled.

    Returns the flat {path: value} of every setting. Raises `SettingValueError`.
    """
    if not isinstance(data, Mapping):
        raise SettingValueError(f"{where} settings must be a JSON object, got {type(data).__name__}")
    table = by_path(settings)
    groups = {".".join(s.keys[:i]) for s in settings for i in range(1, len(s.keys))}
    _unknown_keys(data, "", table, groups, where)
    values: dict[str, Any] = {}
    for s in settings:
        raw = get_path(data, s.keys, _MISSING)
        values[s.path] = _copy(s.default) if raw is _MISSING else s.coerce(raw)
    return values


_MISSING = object()


def _unknown_keys(data: Mapping[str, Any], prefix: str, table: Mapping[str, Setting], groups: set[str],
                  where: str) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if path in groups:
            if not isinstance(value, Mapping):
                raise SettingValueError(f"{path} must be an object")
            _unknown_keys(value, f"{path}.", table, groups, where)
        elif path not in table:
            level = [p[len(prefix):] for p in (*table, *groups)
                     if p.startswith(prefix) and "." not in p[len(prefix):]]
            raise SettingValueError(f"unknown {where} setting {path!r}; known here: "
                                    f"{', '.join(sorted(set(level)))}")


def apply_override(settings: Sequence[Setting], data: dict[str, Any], assignment: str) -> None:
    """Apply one ``path=value`` (text) to stored JSON `data`, checked; raises `SettingValueError`."""
    path, sep, text = assignment.partition("=")
    path = path.strip()
    if not sep or not path:
        raise SettingValueError(f"--set takes path=value, got {assignment!r}")
    table = by_path(settings)
    if path not in table:
        close = [p for p in table if p.endswith(f".{path}") or p.split(".")[-1] == path.split(".")[-1]]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SettingValueError(f"unknown setting {path!r}{hint}")
    s = table[path]
    set_path(data, s.keys, s.parse_text(text))
