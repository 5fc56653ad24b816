"""Training settings: one dataclass tree, stored as JSON in ``project.training``.

The JSON form (every key optional; missing keys take the defaults shown)::

    {
      "version": 1,
      "epochs": 10, "batch_size": 64,
      "loss":      {"kind": "cross_entropy", "label_smoothing": 0.0},
      "optimizer": {"kind": "adam", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9, "nesterov": false},
      "schedule":  {"kind": "none", "warmup_epochs": 0, "step_size": 10, "gamma": 0.1,
                    "patience": 3, "factor": 0.5, "min_lr": 0.0},
      "grad_clip": null,
      "early_stopping": {"enabled": false, "metric": "val_loss", "patience": 5, "restore_best": true},
      "precision": "none", "device": "auto", "cpu_threads": 0, "seed": 0, "deterministic": false,
      "metrics": ["accuracy"], "top_k": 5,
      "augment": {"hflip": false, "crop_padding": 0, "rotation": 0.0, "color_jitter": 0.0},
      "probes": [],
      "data": {"num_workers": 0, "resident_limit_mb": 256},
      "telemetry": {"enabled": true, "feature_map_interval": 0.5, "stats_interval": 2.0}
    }

- loss kinds: cross_entropy (label_smoothing), nll (after LogSoftmax), bce_with_logits, mse, l1, smooth_l1.
- optimizer kinds: sgd (momentum, nesterov), adam, adamw, rmsprop (momentum), adagrad.
- schedule kinds: none, step (every step_size epochs times gamma), cosine (to min_lr), one_cycle
  (its own warm-up; peak = lr), reduce_on_plateau (val loss; patience, factor, min_lr); a linear
  warm-up of warmup_epochs combines with every kind but one_cycle.
- precision: none, bf16 or fp16 (CUDA only; elsewhere training runs in float32 and says so).
- device: auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps. cpu_threads: torch's intra-op
  threads for the run (0 keeps torch's default; 1 is often fastest for small networks).
- metrics: accuracy, top_k (with top_k), mae. early_stopping.metric is val_loss, train_loss or
  val_<metric>. probes: node ids whose feature maps stream while training.
- augment: an `engine.data.augment.AugmentConfig` in its JSON form, applied to training batches on
  the device.

`TrainingSettings.from_json` rejects malformed data with `SettingsError`; `validate()` returns
readable problems (empty when fine) before any training starts, and with a dataset summary and
the network's output it also checks that loss, metrics and shapes fit the data.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from engine.data.augment import AugmentConfig
from engine.data.errors import DatasetError

if TYPE_CHECKING:
    from engine.data.config import DatasetSummary
    from engine.layers.spec import TensorSpec

VERSION = 1
LOSSES = ("cross_entropy", "nll", "bce_with_logits", "mse", "l1", "smooth_l1")
CLASS_LOSSES = ("cross_entropy", "nll")
REGRESSION_LOSSES = ("mse", "l1", "smooth_l1")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("none", "step", "cosine", "one_cycle", "reduce_on_plateau")
PRECISIONS = ("none", "bf16", "fp16")
METRICS = ("accuracy", "top_k", "mae")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class SettingsError(ValueError):
    """Stored training settings are malformed; the message names the setting."""


@dataclass
class LossSettings:
    kind: str = "cross_entropy"
    label_smoothing: float = 0.0


@dataclass
class OptimizerSettings:
    kind: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd and rmsprop
    nesterov: bool = False  # sgd only


@dataclass
class ScheduleSettings:
    kind: str = "none"
    warmup_epochs: int = 0
    step_size: int = 10  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor
    patience: int = 3  # reduce_on_plateau: epochs without improvement
    factor: float = 0.5  # reduce_on_plateau: decay factor
    min_lr: float = 0.0  # cosine and reduce_on_plateau floor


@dataclass
class EarlyStoppingSettings:
    enabled: bool = False
    metric: str = "val_loss"
    patience: int = 5
    restore_best: bool = True


@dataclass
class DataSettings:
    num_workers: int = 0  # DataLoader workers for data sets too big to live on the device
    resident_limit_mb: float = 256.0  # below this the whole data set is moved to the device once


@dataclass
class TelemetrySettings:
    enabled: bool = True
    feature_map_interval: float = 0.5  # seconds between probe forwards
    stats_interval: float = 2.0  # seconds between weight/gradient statistics


@dataclass
class TrainingSettings:
    """Everything that decides how a network is trained."""

    epochs: int = 10
    batch_size: int = 64
    loss: LossSettings = field(default_factory=LossSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    grad_clip: float | None = None
    early_stopping: EarlyStoppingSettings = field(default_factory=EarlyStoppingSettings)
    precision: str = "none"
    device: str = "auto"
    cpu_threads: int = 0
    seed: int = 0
    deterministic: bool = False
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    top_k: int = 5
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    probes: list[str] = field(default_factory=list)
    data: DataSettings = field(default_factory=DataSettings)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)

    # ---- JSON -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> TrainingSettings:
        """Parse stored settings (missing keys take defaults), or raise `SettingsError`."""
        if not isinstance(data, dict):
            raise SettingsError(f"training settings must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            raise SettingsError(f"training settings version {version!r} is newer than this Layerloom reads "
                                f"({VERSION}); update Layerloom")
        return _parse(cls, data, "training")

    def copy(self) -> TrainingSettings:
        return TrainingSettings.from_json(self.to_json())

    # ---- checks ---------------------------------------------------------------
    def validate(self, summary: DatasetSummary | None = None, output: TensorSpec | None = None,
                 node_ids: list[str] | None = None) -> list[str]:
        """Every problem with these settings, in words; empty when training can start.

        Args:
            summary: the loaded dataset, to check loss, metrics and shapes against it.
            output: the network's output (without batch), to check against the targets.
            node_ids: the network's node ids, to check the probes.
        """
        problems = _general_problems(self)
        if summary is not None:
            problems += _data_problems(self, summary, output)
        if node_ids is not None:
            missing = [p for p in self.probes if p not in node_ids]
            if missing:
                problems.append(f"probe node(s) {', '.join(missing)} are not in the network")
        return problems

    @property
    def monitor_mode(self) -> str:
        """'max' when a larger early-stopping metric is better, else 'min'."""
        metric = self.early_stopping.metric
        return "max" if metric.endswith(("accuracy", "top_k")) else "min"


# ---- parsing ----------------------------------------------------------------------
def _parse(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"unknown {where} setting(s) {', '.join(map(repr, unknown))}; "
                            f"known: {', '.join(known)}")
    defaults = cls()
    values = {}
    for name, value in data.items():
        values[name] = _coerce(getattr(defaults, name), value, f"{where}.{name}")
    return cls(**values)


def _coerce(default: Any, value: Any, where: str) -> Any:
    """`value` in the type of `default` (the annotation's runtime shape), or SettingsError."""
    if isinstance(default, AugmentConfig):
        try:
            return AugmentConfig.from_json(value)
        except (DatasetError, TypeError) as exc:
            raise SettingsError(f"{where}: {exc}") from None
    if hasattr(default, "__dataclass_fields__"):
        if not isinstance(value, dict):
            raise SettingsError(f"{where} must be an object")
        return _parse(type(default), value, where)
    if where.endswith("grad_clip"):
        return None if value is None else _number(value, where)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise SettingsError(f"{where} must be a whole number, got {value!r}")
        return int(value)
    if isinstance(default, float):
        return _number(value, where)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SettingsError(f"{where} must be text, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{where} must be a list of names, got {value!r}")
        return list(value)
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be an object")
    return dict(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(f"{where} must be a finite number, got {value!r}")
    return float(value)


# ---- validation -------------------------------------------------------------------
def _choice(problems: list[str], what: str, value: str, choices: tuple[str, ...]) -> bool:
    if value in choices:
        return True
    problems.append(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return False


def _general_problems(s: TrainingSettings) -> list[str]:
    p: list[str] = []
    if s.epochs < 1:
        p.append("epochs must be at least 1")
    if s.batch_size < 1:
        p.append("batch size must be at least 1")
    p += _loss_problems(s.loss)
    p += _optimizer_problems(s.optimizer)
    p += _schedule_problems(s.schedule, s.epochs)
    if s.grad_clip is not None and s.grad_clip <= 0:
        p.append("gradient clipping must be a positive norm (or null for none)")
    p += _early_stopping_problems(s)
    _choice(p, "precision", s.precision, PRECISIONS)
    if not _DEVICE.match(s.device):
        p.append(f"unknown device {s.device!r}; use auto, cpu, cuda, cuda:N or mps")
    if s.seed < 0:
        p.append("seed must be at least 0")
    if s.cpu_threads < 0:
        p.append("CPU threads must be at least 0 (0 keeps the default)")
    for metric in s.metrics:
        _choice(p, "metric", metric, METRICS)
    if "top_k" in s.metrics and s.top_k < 2:
        p.append("top-k accuracy needs k of at least 2 (k = 1 is plain accuracy)")
    if s.data.num_workers < 0:
        p.append("data loader workers must be at least 0")
    if s.data.resident_limit_mb < 0:
        p.append("the resident data limit must be at least 0 MB")
    if s.telemetry.feature_map_interval <= 0 or s.telemetry.stats_interval <= 0:
        p.append("telemetry intervals must be positive numbers of seconds")
    try:
        s.augment.validate()
    except DatasetError as exc:
        p.append(f"augmentation: {exc}")
    return p


def _loss_problems(loss: LossSettings) -> list[str]:
    p: list[str] = []
    _choice(p, "loss", loss.kind, LOSSES)
    if not 0.0 <= loss.label_smoothing < 1.0:
        p.append("label smoothing must be at least 0 and below 1")
    elif loss.label_smoothing > 0 and loss.kind != "cross_entropy":
        p.append(f"label smoothing only applies to the cross_entropy loss, not {loss.kind!r}")
    return p


def _optimizer_problems(opt: OptimizerSettings) -> list[str]:
    p: list[str] = []
    _choice(p, "optimizer", opt.kind, OPTIMIZERS)
    if not opt.lr > 0:
        p.append("learning rate must be positive")
    if opt.weight_decay < 0:
        p.append("weight decay must be at least 0")
    if not 0.0 <= opt.momentum < 1.0:
        p.append("momentum must be at least 0 and below 1")
    if opt.nesterov and (opt.kind != "sgd" or opt.momentum <= 0):
        p.append("Nesterov momentum needs the sgd optimizer with momentum above 0")
    return p


def _schedule_problems(sched: ScheduleSettings, epochs: int) -> list[str]:
    p: list[str] = []
    _choice(p, "learning-rate schedule", sched.kind, SCHEDULES)
    if sched.warmup_epochs < 0:
        p.append("warm-up epochs must be at least 0")
    elif sched.warmup_epochs and sched.warmup_epochs >= epochs:
        p.append(f"warm-up ({sched.warmup_epochs} epochs) must be shorter than training ({epochs} epochs)")
    if sched.kind == "one_cycle" and sched.warmup_epochs:
        p.append("the one_cycle schedule warms up by itself; set warm-up epochs to 0")
    if sched.kind == "step" and sched.step_size < 1:
        p.append("the step schedule needs a step size of at least 1 epoch")
    if sched.kind == "step" and not 0 < sched.gamma <= 1:
        p.append("the step schedule's gamma must be above 0 and at most 1")
    if sched.kind == "reduce_on_plateau":
        if sched.patience < 0:
            p.append("plateau patience must be at least 0 epochs")
        if not 0 < sched.factor < 1:
            p.append("the plateau factor must be above 0 and below 1")
    if sched.min_lr < 0:
        p.append("the minimum learning rate must be at least 0")
    return p


def _early_stopping_problems(s: TrainingSettings) -> list[str]:
    es = s.early_stopping
    p: list[str] = []
    allowed = ("val_loss", "train_loss", *(f"val_{m}" for m in s.metrics))
    if es.metric not in allowed:
        p.append(f"early stopping watches {es.metric!r}, which is not measured; choose one of "
                 f"{', '.join(allowed)}")
    if es.enabled and es.patience < 1:
        p.append("early stopping patience must be at least 1 epoch")
    return p


def _data_problems(s: TrainingSettings, summary: DatasetSummary, output: TensorSpec | None) -> list[str]:
    p: list[str] = []
    kind, classes = s.loss.kind, summary.num_classes
    is_class = summary.task == "classification"
    if kind in CLASS_LOSSES and not is_class:
        p.append(f"loss {kind!r} needs class labels but the dataset is a regression task; use mse, l1 or "
                 "smooth_l1")
    if kind in REGRESSION_LOSSES and is_class:
        p.append(f"loss {kind!r} needs numeric targets but the dataset is a classification task; use "
                 "cross_entropy")
    for metric in s.metrics:
        if metric in ("accuracy", "top_k") and not is_class:
            p.append(f"metric {metric!r} needs class labels but the dataset is a regression task; use mae")
        if metric == "mae" and is_class:
            p.append("metric 'mae' needs numeric targets but the dataset is a classification task")
    if is_class and "top_k" in s.metrics and classes is not None and s.top_k >= classes:
        p.append(f"top-{s.top_k} accuracy needs more than {s.top_k} classes; the dataset has {classes}")
    if s.augment.enabled and not summary.is_image:
        p.append("augmentation works on images only; switch it off for this dataset")
    if output is not None:
        p += _output_problems(kind, summary, output)
    return p


def _output_problems(kind: str, summary: DatasetSummary, output: TensorSpec) -> list[str]:
    shape = "×".join(["N", *map(str, output.shape)])
    if output.dtype != "float32":
        return [f"the output is {output.dtype} but a loss needs float values"]
    if summary.task == "classification" and summary.num_classes:
        classes = summary.num_classes
        wanted = [(classes,)] + ([(1,)] if kind == "bce_with_logits" and classes == 2 else [])
        if kind in (*CLASS_LOSSES, "bce_with_logits") and output.shape not in wanted:
            return [f"the output has shape {shape} but the dataset has {classes} classes; end the network "
                    f"with Linear(out_features={classes})"]
        return []
    target = tuple(summary.target_shape)
    if output.shape != target:
        wanted = "×".join(["N", *map(str, target)])
        return [f"the output has shape {shape} but the targets have shape {wanted}"]
    return []
