"""What a sweep can vary in a project, and a trial's values put into a copy of it.

- `candidate_targets(project)`: every training setting a sweep may vary and every numeric or choice
  parameter of every node and block instance (``repeat`` included; inside blocks, once per definition),
  each as a `Candidate`: its target string, a label for people, its current value, the limits and
  choices its declaration allows, and a suggested natural range (`ParamRange`). The studio's range
  editor lists these.
- `config_problems(config, network, training)` / `check_config`: node targets resolved against the
  network (the node exists, the parameter is declared, the range fits its bounds or choices, it is not
  driven by a block parameter) and the metric measured by the training settings.
- `apply_params(document, training, params)`: pure. Returns a new document and a new training dict with
  ``{target: value}`` applied (each value checked by its declaration); the inputs are never changed, so
  the studio can wrap the result in one undo step.

Imports neither torch, optuna nor Qt.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.graph.blocks import PATH_SEPARATOR
from engine.graph.document import GraphDocument, Node
from engine.graph.errors import DocumentError
from engine.graph.serialize import document_from_data, document_to_data
from engine.layers.params import ParamError, coerce_param
from engine.layers.spec import Param
from engine.settings_schema import Setting, SettingValueError, get_path, set_path
from engine.sweep.space import (
    NODE_PREFIX,
    ParamRange,
    SweepConfig,
    SweepConfigError,
    node_target,
    setting_target,
    split_target,
    sweep_setting,
)
from engine.train.settings_table import TRAINING_SETTINGS

if TYPE_CHECKING:
    from engine.project import Project

NODE_PARAM_KINDS = ("int", "float", "choice", "bool", "int_pair")
NETWORK_GROUP = "Network"
# Natural ranges of the settings people tune most, where the declared bounds are too wide to sample.
_SETTING_RANGES: dict[str, tuple[str, float, float, bool]] = {
    "optimizer.lr": ("float", 1e-5, 1e-1, True),
    "optimizer.weight_decay": ("float", 1e-6, 1e-2, True),
    "optimizer.momentum": ("float", 0.5, 0.99, False),
    "batch_size": ("int", 16, 256, True),
    "loss.label_smoothing": ("float", 0.0, 0.2, False),
    "grad_clip": ("float", 0.1, 10.0, True),
    "schedule.gamma": ("float", 0.05, 0.9, False),
    "schedule.factor": ("float", 0.1, 0.9, False),
    "schedule.min_lr": ("float", 0.0, 1e-3, False),
    "schedule.patience": ("int", 1, 10, False),
    "schedule.step_size": ("int", 1, 20, False),
    "early_stopping.patience": ("int", 2, 10, False),
    "seed": ("int", 0, 1000, False),
    "augment.crop_padding": ("int", 0, 4, False),
    "augment.rotation": ("float", 0.0, 30.0, False),
    "augment.color_jitter": ("float", 0.0, 0.4, False),
}


@dataclass(frozen=True)
class Candidate:
    """One thing a sweep can vary, as the range editor offers it."""

    target: str
    label: str  # "Learning rate (optimizer.lr)", "hidden1 ▸ out_features"
    group: str  # a settings section, "Network", or "Block ConvBnRelu (every instance)"
    current: Any
    suggested: ParamRange  # a natural range to start from
    kinds: tuple[str, ...]  # the range kinds this target takes: ("float", "choice"), ("choice",), ...
    minimum: float | None = None  # inclusive limits a number may take (None: open)
    maximum: float | None = None
    choices: tuple[Any, ...] = ()  # every value a choice target allows


# ---- node targets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeParam:
    """A node parameter a ``node:`` target names, found in the network."""

    owner: GraphDocument  # the document the node lives in (the network or a block's body)
    node: Node
    param: Param
    names: tuple[str, ...]  # node names along the path, for labels


def resolve_node_param(network: GraphDocument, ids: tuple[str, ...], key: str) -> NodeParam:
    """The node parameter at `ids` (instance ids from the network down); raises `SweepConfigError`."""
    target = node_target(ids, key)
    doc, names, bound = network, [], set()
    for depth, node_id in enumerate(ids):
        node = doc.nodes.get(node_id)
        if node is None:
            where = "the network" if depth == 0 else f"block {doc.owner.name if doc.owner else '?'}"
            raise SweepConfigError(f"target {target}: {where} has no node {node_id!r}")
        names.append(node.name)
        if depth < len(ids) - 1:
            if not doc.is_block(node_id):
                raise SweepConfigError(f"target {target}: {node.name!r} is not a block, so nothing is inside it")
            definition = doc.definition_of(node_id)
            bound = {pair for p in definition.params for pair in p.targets}
            doc = definition.body
    try:
        param = doc.spec_of(node).param(key)
    except KeyError:
        raise SweepConfigError(f"target {target}: {node.name!r} has no parameter {key!r}") from None
    if (node.id, key) in bound:
        raise SweepConfigError(f"target {target}: {node.name}.{key} is set by a parameter of the block around "
                               f"it; vary that block parameter on the instance instead")
    if param.kind not in NODE_PARAM_KINDS:
        raise SweepConfigError(f"target {target}: {key} is a {param.kind} parameter; a sweep varies numbers "
                               "and choices")
    return NodeParam(doc, node, param, tuple(names))


def _node_kinds(param: Param) -> tuple[str, ...]:
    if param.kind in ("int", "int_pair"):
        return ("int", "choice")
    if param.kind == "float":
        return ("float", "choice")
    return ("choice",)


def check_node_range(network: GraphDocument, rng: ParamRange) -> None:
    _, ids, key = split_target(rng.target)
    assert key is not None
    found = resolve_node_param(network, ids, key)
    allowed = _node_kinds(found.param)
    if rng.kind not in allowed:
        raise SweepConfigError(f"range {rng.target}: {key} takes kind {' or '.join(allowed)}, not {rng.kind}")
    for value in rng.values_to_check():
        try:
            coerce_param(found.param, value)
        except ParamError as exc:
            raise SweepConfigError(f"range {rng.target}: {exc}") from None


def config_problems(config: SweepConfig, network: GraphDocument, training: Mapping[str, Any],
                    dataset: Mapping[str, Any] | None = None) -> list[str]:
    """Every problem of `config` with this network, these training settings and (when given) this dataset
    section (empty when it can run)."""
    problems = []
    if not config.ranges:
        problems.append("the sweep varies nothing yet: add at least one range")
    for rng in config.ranges:
        if rng.target.startswith(NODE_PREFIX):
            try:
                check_node_range(network, rng)
            except SweepConfigError as exc:
                problems.append(str(exc))
    metric = config.metric.removeprefix("val_")
    measured = training.get("metrics", ["accuracy"])
    if metric != "loss" and (not isinstance(measured, list) or metric not in measured):
        problems.append(f"the sweep optimises {config.metric}, but the training settings do not measure "
                        f"{metric}; add it to the metrics or optimise val_loss")
    if dataset is not None and dataset.get("val_fraction", 0.15) == 0:
        problems.append(f"the sweep optimises {config.metric} on validation data, but the dataset holds none "
                        "out (dataset.val_fraction is 0)")
    return problems


def check_config(config: SweepConfig, network: GraphDocument, training: Mapping[str, Any],
                 dataset: Mapping[str, Any] | None = None) -> None:
    problems = config_problems(config, network, training, dataset)
    if problems:
        raise SweepConfigError("; ".join(problems))


# ---- applying a trial's values -------------------------------------------------------------------
def apply_params(document: GraphDocument, training: Mapping[str, Any],
                 params: Mapping[str, Any]) -> tuple[GraphDocument, dict[str, Any]]:
    """A new document and training dict with ``{target: value}`` applied; the inputs stay as they are.

    Raises `SweepConfigError` naming the target when a target is unknown or a value does not fit.
    """
    doc = document_from_data(document_to_data(document), document.registry)
    settings = copy.deepcopy(dict(training))
    for target, value in params.items():
        kind, path, key = split_target(target)
        if kind == "setting":
            s = sweep_setting(path)
            try:
                set_path(settings, s.keys, s.coerce(value))
            except SettingValueError as exc:
                raise SweepConfigError(f"{target}: {exc}") from None
            continue
        assert key is not None
        found = resolve_node_param(doc, path, key)
        try:
            found.owner.set_param(found.node.id, key, value)
        except (ParamError, DocumentError) as exc:
            raise SweepConfigError(f"{target}: {exc}") from None
    return doc, settings


# ---- candidates ----------------------------------------------------------------------------------
def candidate_targets(project: Project) -> list[Candidate]:
    """Every setting and node parameter a sweep of `project` can vary, settings first, then the network."""
    images = _has_image_input(project.network)
    out = [c for s in TRAINING_SETTINGS if (c := _setting_candidate(s, project.training, images)) is not None]
    seen: set[str] = set()
    _node_candidates(project.network, (), (), "", out, seen)
    return out


def _has_image_input(network: GraphDocument) -> bool:
    shapes = [n.params.get("shape") for n in network.nodes.values() if n.type_id == "Input"]
    return any(isinstance(s, (tuple, list)) and len(s) == 3 for s in shapes)


def _setting_candidate(s: Setting, training: Mapping[str, Any], images: bool) -> Candidate | None:
    try:
        sweep_setting(s.path)
    except SweepConfigError:
        return None
    if s.path.startswith("augment.") and not images:
        return None  # augmentation works on images only
    current = get_path(training, s.keys, s.default)
    low, high = s.widget_bounds()
    if s.kind in ("choice", "bool"):
        choices: tuple[Any, ...] = s.choices if s.kind == "choice" else (False, True)
        return Candidate(setting_target(s.path), s.where, s.section, current,
                         ParamRange(setting_target(s.path), "choice", choices=choices), ("choice",),
                         choices=choices)
    kind = "int" if s.kind == "int" else "float"
    if s.path == "epochs":
        epochs = current if isinstance(current, int) and current > 0 else 10
        natural: tuple[str, float, float, bool] = ("int", max(1, epochs // 2), max(2, epochs * 2), False)
    elif s.path == "schedule.warmup_epochs":
        epochs = get_path(training, ("epochs",), 10)
        natural = ("int", 0, max(1, (epochs if isinstance(epochs, int) else 10) // 4), False)
    else:
        natural = _SETTING_RANGES.get(s.path) or _natural(kind, current, low, high)
    rng = _range(setting_target(s.path), natural)
    return Candidate(rng.target, s.where, s.section, current, rng, (kind, "choice"), low, high)


def _node_candidates(doc: GraphDocument, ids: tuple[str, ...], names: tuple[str, ...], group: str,
                     out: list[Candidate], seen: set[str]) -> None:
    bound: set[tuple[str, str]] = set()
    if doc.owner is not None:
        bound = {pair for p in doc.owner.params for pair in p.targets}
    for node in doc.nodes.values():
        spec = doc.spec_of(node)
        if spec.is_input or spec.is_output:
            continue  # the data's shape and type, and the network's result, are the dataset's to decide
        path, labels = (*ids, node.id), (*names, node.name)
        for param in spec.params:
            if param.kind not in NODE_PARAM_KINDS or (node.id, param.name) in bound:
                continue
            current = node.params.get(param.name, param.default)
            candidate = _node_candidate(path, labels, group or NETWORK_GROUP, param, current)
            if candidate is not None:
                out.append(candidate)
        if doc.is_block(node.id):
            definition = doc.definition_of(node.id)
            if definition.name not in seen:  # a definition's inside is one set of targets, however often used
                seen.add(definition.name)
                _node_candidates(definition.body, path, labels,
                                 f"Block {definition.display_title} (every instance)", out, seen)


def _node_candidate(path: tuple[str, ...], labels: tuple[str, ...], group: str, param: Param,
                    current: Any) -> Candidate | None:
    target = node_target(path, param.name)
    label = PATH_SEPARATOR.join((*labels, param.name))
    if param.kind in ("choice", "bool"):
        choices: tuple[Any, ...] = param.choices if param.kind == "choice" else (False, True)
        return Candidate(target, label, group, current, ParamRange(target, "choice", choices=choices), ("choice",),
                         choices=choices)
    if param.kind == "int_pair" and not isinstance(current, int):
        return None  # a (height, width) pair is not one number to sample
    kind = "float" if param.kind == "float" else "int"
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        return None  # an optional parameter left to be inferred
    return Candidate(target, label, group, current,
                     _range(target, _natural(kind, current, param.minimum, param.maximum)),
                     _node_kinds(param), param.minimum, param.maximum)


def _natural(kind: str, current: Any, low: float | None, high: float | None) -> tuple[str, float, float, bool]:
    """A range around the current value, inside the declared limits: a quarter to four times for whole
    numbers, a tenth to ten times for positive reals (sampled on a log scale when that spans a decade)."""
    value = float(current) if isinstance(current, (int, float)) and math.isfinite(current) else 1.0
    factor = 4.0 if kind == "int" else 10.0
    if value > 0:
        lo, hi = value / factor, value * factor
    else:
        lo, hi = (low if low is not None else 0.0), (low if low is not None else 0.0) + 1.0
    if low is not None:
        lo = max(lo, low)
    if high is not None:
        hi = min(hi, high)
    if kind == "int":
        lo, hi = math.ceil(lo), math.floor(hi)
        if hi <= lo:  # too narrow to sample: widen by one, upwards where the limit allows
            if high is None or lo + 1 <= high:
                hi = lo + 1
            else:
                lo = hi - 1
    elif hi <= lo:
        hi = lo + 1.0 if high is None else high
    if kind == "float":  # three significant digits read better in a range editor, kept inside the limits
        lo, hi = _round(lo, low, high), _round(hi, low, high)
    log = lo > 0 and hi / lo >= 8
    return kind, lo, hi, log


def _round(x: float, low: float | None, high: float | None) -> float:
    x = float(f"{x:.3g}")
    if low is not None:
        x = max(x, low)
    return min(x, high) if high is not None else x


def _range(target: str, natural: tuple[str, float, float, bool]) -> ParamRange:
    kind, low, high, log = natural
    if kind == "int":
        return ParamRange(target, "int", int(low), int(high), log)
    return ParamRange(target, "float", float(low), float(high), log)
