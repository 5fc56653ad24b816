"""A sweep's search space and settings: `ParamRange`, `SweepConfig`, their JSON, and where a project keeps them.

A `ParamRange` names what varies (its ``target``) and over what:

- ``setting:<path>`` — a declared training setting (`engine.train.settings_table`), e.g.
  ``setting:optimizer.lr``, ``setting:batch_size``, ``setting:optimizer.kind``;
- ``node:<node path>:<param>`` — a parameter of a node or block instance, e.g. ``node:hidden1:out_features``,
  ``node:layer2:repeat``, ``node:layer2:channels``. The node path is the instance ids from the network down
  (a block's `Problem.path`), joined by ``/``: ``node:layer2/conv1:kernel_size`` is ``conv1`` inside the
  definition ``layer2`` uses, so it changes every instance of that block, as editing inside it does.

``kind`` is ``float`` or ``int`` (``low``..``high`` inclusive, optionally ``log``) or ``choice`` (``choices``:
JSON scalars). A `SweepConfig` holds the ranges, the validation ``metric`` the study optimises (``val_loss``,
``val_accuracy``, ``val_top_k``, ``val_mae``), its ``direction``, the ``sampler`` (``tpe`` or ``random``), the
``pruner`` (``median``, ``hyperband`` or ``none``) with its start-up and warm-up, the default number of
``trials``, the ``study_name`` (empty: the project's name) and an optional sampler ``seed``.

`SweepConfig.from_json` treats its input as hostile (a project file is): unknown keys, wrong types,
non-finite numbers, bounds outside a setting's declared range, too many ranges or choices all raise
`SweepConfigError` with a message naming the range; it never raises anything else. Node targets need
the network to be checked: `engine.sweep.targets.check_config`. `read_config` / `write_config` keep the
config in a project as the member ``sweep/config.json``; the study itself is ``sweep/journal.log``
(`engine.sweep.study`). Imports neither torch, optuna nor Qt.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from engine.project_zip import SWEEP_CONFIG_MEMBER, SWEEP_JOURNAL_MEMBER
from engine.settings_schema import Setting
from engine.train.settings_table import TABLE as TRAINING_TABLE

if TYPE_CHECKING:
    from engine.project import Project

CONFIG_MEMBER, JOURNAL_MEMBER = SWEEP_CONFIG_MEMBER, SWEEP_JOURNAL_MEMBER
VERSION = 1
KINDS = ("float", "int", "choice")
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")
METRICS = ("val_loss", "val_accuracy", "val_top_k", "val_mae")
SETTING_PREFIX, NODE_PREFIX = "setting:", "node:"
NODE_PATH_SEPARATOR = "/"
MAX_RANGES = 1024
MAX_CHOICES = 256
MAX_TEXT = 256  # a target, a choice or a study name
MAX_TRIALS = 100_000
MAX_INT = 2**31 - 1  # a whole-number range's bounds (units, channels, repeats, epochs)
MAX_CONFIG_BYTES = 1 * 2**20
# Settings that never change what a run learns (where and how fast it runs, what it reports): not swept.
NOT_SWEPT = frozenset({"device", "precision", "cpu_threads", "deterministic", "metrics", "top_k", "probes",
                       "early_stopping.metric", "early_stopping.restore_best"})
NOT_SWEPT_PREFIXES = ("data.", "telemetry.")
SWEPT_SETTING_KINDS = ("int", "float", "optional_float", "choice", "bool")

_RANGE_KEYS = {"target", "kind", "low", "high", "log", "choices"}
_CONFIG_KEYS = {"version", "ranges", "metric", "direction", "sampler", "pruner", "trials", "study_name", "seed",
                "sampler_startup_trials", "pruner_startup_trials", "pruner_warmup_epochs"}


class SweepConfigError(ValueError):
    """A sweep configuration (or a value for one of its targets) is malformed; the message says where."""


# ---- targets -------------------------------------------------------------------------------------
def setting_target(path: str) -> str:
    return f"{SETTING_PREFIX}{path}"


def node_target(node_path: tuple[str, ...] | list[str], param: str) -> str:
    return f"{NODE_PREFIX}{NODE_PATH_SEPARATOR.join(node_path)}:{param}"


def split_target(target: str) -> tuple[str, Any, str | None]:
    """``("setting", path, None)`` or ``("node", (id, ...), param)``; raises `SweepConfigError`."""
    if not isinstance(target, str) or not target or len(target) > MAX_TEXT:
        raise SweepConfigError(f"a range's target must be text of 1-{MAX_TEXT} characters, got {_short(target)}")
    if target.startswith(SETTING_PREFIX):
        return "setting", target[len(SETTING_PREFIX):], None
    if target.startswith(NODE_PREFIX):
        path, sep, param = target[len(NODE_PREFIX):].rpartition(":")
        ids = tuple(path.split(NODE_PATH_SEPARATOR)) if path else ()
        if not sep or not param.isidentifier() or not ids or not all(_node_id_like(i) for i in ids):
            raise SweepConfigError(f"target {target!r} must read node:<node id>[/<inner id>...]:<parameter>")
        return "node", ids, param
    raise SweepConfigError(f"target {target!r} must start with 'setting:' or 'node:'")


def short_name(target: str) -> str:
    """How people read a target: ``optimizer.lr`` for ``setting:optimizer.lr``, ``layer2.repeat`` for
    ``node:layer2:repeat``, ``layer1/conv1.kernel_size`` inside a block."""
    if target.startswith(SETTING_PREFIX):
        return target[len(SETTING_PREFIX):]
    if target.startswith(NODE_PREFIX):
        return target[len(NODE_PREFIX):].replace(":", ".")
    return target


def format_params(params: dict[str, Any]) -> str:
    """A trial's values on one line: ``optimizer.lr=0.0123 fc1.out_features=64``."""
    return " ".join(f"{short_name(k)}={v:.4g}" if isinstance(v, float) else f"{short_name(k)}={v}"
                    for k, v in params.items())


def _node_id_like(text: str) -> bool:
    return text.isidentifier() or text.isdigit()


def sweep_setting(path: str) -> Setting:
    """The declared training setting a ``setting:`` target names, if a sweep may vary it."""
    s = TRAINING_TABLE.get(path)
    if s is None:
        raise SweepConfigError(f"target setting:{path}: there is no training setting {path!r}")
    if path in NOT_SWEPT or path.startswith(NOT_SWEPT_PREFIXES) or s.kind not in SWEPT_SETTING_KINDS:
        raise SweepConfigError(f"target setting:{path}: {s.label} does not change what a run learns; a sweep "
                               "does not vary it")
    return s


# ---- one range -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamRange:
    """What one target may take in a sweep."""

    target: str
    kind: str = "float"  # float | int | choice
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"target": self.target, "kind": "choice", "choices": list(self.choices)}
        return {"target": self.target, "kind": self.kind, "low": self.low, "high": self.high, "log": self.log}

    @classmethod
    def from_json(cls, data: Any, where: str = "range") -> ParamRange:
        """Parse and check one range (a setting target against its declared bounds); `SweepConfigError`."""
        if not isinstance(data, dict):
            raise SweepConfigError(f"{where} must be a JSON object, got {_type(data)}")
        unknown = sorted(map(str, set(data) - _RANGE_KEYS))
        if unknown:
            raise SweepConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known: "
                                   f"{', '.join(sorted(_RANGE_KEYS))}")
        target = data.get("target")
        split_target(target)
        where = f"range {target}"
        kind = data.get("kind", "float")
        if kind not in KINDS:
            raise SweepConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, got {_short(kind)}")
        if kind == "choice":
            extra = sorted(k for k in ("low", "high", "log") if k in data)
            if extra:
                raise SweepConfigError(f"{where}: a choice range has choices, not {', '.join(extra)}")
            rng = cls(target, "choice", choices=_choices(data.get("choices"), where))
        else:
            if "choices" in data:
                raise SweepConfigError(f"{where}: a {kind} range has low and high, not choices")
            log = data.get("log", False)
            if not isinstance(log, bool):
                raise SweepConfigError(f"{where}: log must be true or false, got {_short(log)}")
            low, high = (_number(data.get(k), f"{where}: {k}", kind) for k in ("low", "high"))
            rng = cls(target, kind, low, high, log)
        rng.check_shape()
        if target.startswith(SETTING_PREFIX):
            check_setting_range(rng)
        return rng

    def check_shape(self) -> None:
        """The checks that need no declaration: order of the bounds, log above zero, distinct choices."""
        where = f"range {self.target}"
        if self.kind == "choice":
            return
        assert self.low is not None and self.high is not None
        if not self.low < self.high:
            raise SweepConfigError(f"{where}: low ({_fmt(self.low)}) must be below high ({_fmt(self.high)})")
        if self.log and self.low <= 0:
            raise SweepConfigError(f"{where}: a log range must start above 0, got low {_fmt(self.low)}")

    def values_to_check(self) -> tuple[Any, ...]:
        """The values whose validity makes the whole range valid (bounds are checked inclusively)."""
        return tuple(self.choices) if self.kind == "choice" else (self.low, self.high)

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        assert self.low is not None and self.high is not None
        return self.low <= value <= self.high

    def distribution(self) -> Any:
        """The Optuna distribution of this range (imports optuna)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low or 0), int(self.high or 0), log=self.log)
        return FloatDistribution(float(self.low or 0.0), float(self.high or 0.0), log=self.log)


def check_setting_range(rng: ParamRange) -> None:
    """A ``setting:`` range fits its setting: kind, declared bounds (inclusive and exclusive) or choices."""
    _, path, _ = split_target(rng.target)
    s = sweep_setting(path)
    where = f"range {rng.target}"
    numeric = s.kind in ("int", "float", "optional_float")
    allowed = ("int", "choice") if s.kind == "int" else ("float", "choice") if numeric else ("choice",)
    if rng.kind not in allowed:
        raise SweepConfigError(f"{where}: {s.where} is a {_kind_word(s.kind)} setting; use kind "
                               f"{' or '.join(allowed)}")
    for value in rng.values_to_check():
        try:
            s.coerce(value)
        except ValueError as exc:
            raise SweepConfigError(f"{where}: {exc}") from None


def _kind_word(kind: str) -> str:
    return {"optional_float": "number", "float": "number", "int": "whole-number", "bool": "true/false"}.get(
        kind, kind)


# ---- the whole configuration ---------------------------------------------------------------------
@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs besides the project: what varies, what is optimised, how."""

    ranges: tuple[ParamRange, ...] = ()
    metric: str = "val_loss"
    direction: str = ""  # empty: minimize for losses and errors, maximize for accuracies
    sampler: str = "tpe"
    pruner: str = "median"
    trials: int = 20
    study_name: str = ""  # empty: the project's name
    seed: int | None = None  # the sampler's seed (each worker adds its index)
    sampler_startup_trials: int = 10  # TPE samples at random until this many trials finished
    pruner_startup_trials: int = 5  # the median pruner prunes nothing before this many trials finished
    pruner_warmup_epochs: int = 0  # nor in a trial's first epochs

    def __post_init__(self) -> None:
        if not self.direction:
            object.__setattr__(self, "direction", default_direction(self.metric))

    @property
    def targets(self) -> list[str]:
        return [r.target for r in self.ranges]

    def range_of(self, target: str) -> ParamRange:
        for r in self.ranges:
            if r.target == target:
                return r
        raise KeyError(target)

    def with_ranges(self, ranges: list[ParamRange] | tuple[ParamRange, ...]) -> SweepConfig:
        return replace(self, ranges=tuple(ranges))

    def distributions(self) -> dict[str, Any]:
        """{target: Optuna distribution} (imports optuna)."""
        return {r.target: r.distribution() for r in self.ranges}

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "ranges": [r.to_json() for r in self.ranges], "metric": self.metric,
                "direction": self.direction, "sampler": self.sampler, "pruner": self.pruner,
                "trials": self.trials, "study_name": self.study_name, "seed": self.seed,
                "sampler_startup_trials": self.sampler_startup_trials,
                "pruner_startup_trials": self.pruner_startup_trials,
                "pruner_warmup_epochs": self.pruner_warmup_epochs}

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: Any) -> SweepConfig:
        """Parse and check a stored configuration; raises `SweepConfigError` (never anything else)."""
        try:
            return _parse_config(data)
        except SweepConfigError:
            raise
        except RecursionError:
            raise SweepConfigError("the sweep configuration is nested too deeply") from None

    @classmethod
    def from_bytes(cls, raw: bytes, where: str = "sweep configuration") -> SweepConfig:
        if len(raw) > MAX_CONFIG_BYTES:
            raise SweepConfigError(f"{where} is larger than {MAX_CONFIG_BYTES:,} bytes")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            raise SweepConfigError(f"{where} is not valid JSON: {exc}") from None
        except RecursionError:
            raise SweepConfigError(f"{where} is nested too deeply") from None
        return cls.from_json(data)


def default_direction(metric: str) -> str:
    return "maximize" if metric.endswith(("accuracy", "top_k")) else "minimize"


def _parse_config(data: Any) -> SweepConfig:
    if not isinstance(data, dict):
        raise SweepConfigError(f"the sweep configuration must be a JSON object, got {_type(data)}")
    unknown = sorted(map(str, set(data) - _CONFIG_KEYS))
    if unknown:
        raise SweepConfigError(f"unknown sweep setting(s) {', '.join(map(repr, unknown))}; known: "
                               f"{', '.join(sorted(_CONFIG_KEYS))}")
    version = data.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SweepConfigError(f"sweep configuration version must be a whole number from 1, got {_short(version)}")
    if version > VERSION:
        raise SweepConfigError(f"the sweep configuration is version {version}, newer than this Layerloom reads "
                               f"({VERSION}); update Layerloom")
    raw_ranges = data.get("ranges", [])
    if not isinstance(raw_ranges, list):
        raise SweepConfigError(f"ranges must be a list, got {_type(raw_ranges)}")
    if len(raw_ranges) > MAX_RANGES:
        raise SweepConfigError(f"a sweep varies at most {MAX_RANGES} things, got {len(raw_ranges)} ranges")
    ranges = [ParamRange.from_json(r, f"range {i + 1}") for i, r in enumerate(raw_ranges)]
    seen: set[str] = set()
    for r in ranges:
        if r.target in seen:
            raise SweepConfigError(f"{r.target} has two ranges; keep one")
        seen.add(r.target)
    metric = _one_of(data.get("metric", "val_loss"), METRICS, "metric")
    direction = data.get("direction") or default_direction(metric)
    seed = data.get("seed")
    if seed is not None:
        seed = _int(seed, "seed", 0, 2**31 - 1)
    return SweepConfig(
        ranges=tuple(ranges), metric=metric, direction=_one_of(direction, DIRECTIONS, "direction"),
        sampler=_one_of(data.get("sampler", "tpe"), SAMPLERS, "sampler"),
        pruner=_one_of(data.get("pruner", "median"), PRUNERS, "pruner"),
        trials=_int(data.get("trials", 20), "trials", 1, MAX_TRIALS),
        study_name=_study_name(data.get("study_name", "")), seed=seed,
        sampler_startup_trials=_int(data.get("sampler_startup_trials", 10), "sampler_startup_trials", 0, MAX_TRIALS),
        pruner_startup_trials=_int(data.get("pruner_startup_trials", 5), "pruner_startup_trials", 0, MAX_TRIALS),
        pruner_warmup_epochs=_int(data.get("pruner_warmup_epochs", 0), "pruner_warmup_epochs", 0, 1_000_000))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a sweep accepts")


def _one_of(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed or not isinstance(value, str):
        raise SweepConfigError(f"{name} must be one of {', '.join(allowed)}, got {_short(value)}")
    return value


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SweepConfigError(f"{name} must be a whole number from {low:,} to {high:,}, got {_short(value)}")
    return value


def _study_name(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        raise SweepConfigError(f"study_name must be printable text of at most {MAX_TEXT} characters")
    return value


def _number(value: Any, where: str, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SweepConfigError(f"{where} must be a finite number, got {_short(value)}")
    if abs(value) > 1e300:
        raise SweepConfigError(f"{where} is too large: {_fmt(value)}")
    if kind == "int":
        if float(value) != int(value):
            raise SweepConfigError(f"{where} must be a whole number, got {_fmt(value)}")
        if abs(value) > MAX_INT:
            raise SweepConfigError(f"{where} is too large: {_fmt(value)} (at most {MAX_INT:,})")
        return int(value)
    return float(value)


def _choices(raw: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(raw, list) or not raw:
        raise SweepConfigError(f"{where}: choices must be a non-empty list, got {_short(raw)}")
    if len(raw) > MAX_CHOICES:
        raise SweepConfigError(f"{where}: at most {MAX_CHOICES} choices, got {len(raw)}")
    out: list[Any] = []
    for value in raw:
        ok = isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value))
        if not ok or (isinstance(value, str) and len(value) > MAX_TEXT) or \
                (isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53):
            raise SweepConfigError(f"{where}: a choice must be text, a finite number or true/false, got "
                                   f"{_short(value)}")
        if any(value == v and type(value) is type(v) for v in out):
            raise SweepConfigError(f"{where}: the choice {value!r} is listed twice")
        out.append(value)
    return tuple(out)


def _type(value: Any) -> str:
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


# ---- in a project --------------------------------------------------------------------------------
def read_config(project: Project) -> SweepConfig | None:
    """The sweep configuration stored in the project (None when it has none); `SweepConfigError` if malformed.

    Only the shape and the setting ranges are checked here; `engine.sweep.targets.check_config` checks the
    node targets against the project's network.
    """
    raw = project.attachments.get(CONFIG_MEMBER)
    if raw is None:
        return None
    return SweepConfig.from_bytes(raw, f"the project's {CONFIG_MEMBER}")


def write_config(project: Project, config: SweepConfig | None) -> None:
    """Store (or, with None, remove) the sweep configuration in the project's members (saved with it)."""
    if config is None:
        project.attachments.pop(CONFIG_MEMBER, None)
    else:
        project.attachments[CONFIG_MEMBER] = config.to_bytes()
