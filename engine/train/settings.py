"""Training settings: one dataclass tree, stored as JSON in ``project.training``.

The JSON form (every key optional; missing keys take the defaults shown)::

    {
      "version": 1,
      "epochs": 10, "batch_size": 64,
      "recipe":    {"kind": "supervised", "input_noise": 0.0, "reconstruction_loss": "mse", "kl_weight": 0.001,
                    "gan_loss": "non_saturating", "generator_optimizer": "adam", "generator_lr": 0.0002,
                    "discriminator_optimizer": "adam", "discriminator_lr": 0.0002, "adam_beta1": 0.5,
                    "discriminator_steps": 1},
      "loss":      {"kind": "cross_entropy", "label_smoothing": 0.0},
      "optimizer": {"kind": "adam", "lr": 0.001, "weight_decay": 0.0, "momentum": 0.9, "nesterov": false},
      "schedule":  {"kind": "none", "warmup_epochs": 0, "step_size": 10, "gamma": 0.1,
                    "patience": 3, "factor": 0.5, "min_lr": 0.0},
      "grad_clip": null,
      "early_stopping": {"enabled": false, "metric": "val_loss", "patience": 5, "restore_best": true},
      "precision": "none", "device": "auto", "cpu_threads": 0, "seed": 0, "deterministic": false,
      "keep_epoch_weights": 5,
      "metrics": ["accuracy"], "top_k": 5,
      "augment": {"hflip": false, "crop_padding": 0, "rotation": 0.0, "color_jitter": 0.0},
      "probes": [],
      "data": {"num_workers": 0, "resident_limit_mb": 256},
      "telemetry": {"enabled": true, "feature_map_interval": 0.5, "stats_interval": 2.0},
      "tensorboard": {"enabled": false, "log_dir": "", "histograms": true}
    }

- recipe kinds (`engine.train.recipes`): supervised, autoencoder (input_noise: denoising), vae (kl_weight),
  gan (per-network optimizer and lr, discriminator_steps); loss and metrics checks against the dataset's
  targets apply to supervised training only (the recipes check their network's structure instead).
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

Every setting is declared once in `engine.train.settings_table.TRAINING_SETTINGS` (kind, default,
range or choices, help); the dataclasses below give the tree its shape and take their defaults from
there. `TrainingSettings.from_json` checks stored JSON against the declaration (types, ranges,
choices, unknown keys) and rejects anything else with `SettingsError`; `validate()` returns
readable problems (empty when fine) before any training starts: the declared ranges again (for
settings changed in code) and the rules between settings, and with a dataset summary and the
network's output it also checks that loss, metrics and shapes fit the data. This module imports
neither torch nor Qt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.data.augment_config import AugmentConfig
from engine.settings_schema import SettingValueError, apply_override, parse_tree
from engine.train.settings_table import (
    CLASS_LOSSES,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    PRECISIONS,
    REGRESSION_LOSSES,
    SCHEDULES,
    TRAINING_SETTINGS,
    default,
)

if TYPE_CHECKING:
    from engine.data.config import DatasetSummary
    from engine.layers.spec import TensorSpec

__all__ = ["CLASS_LOSSES", "LOSSES", "METRICS", "OPTIMIZERS", "PRECISIONS", "REGRESSION_LOSSES", "SCHEDULES",
           "SettingsError", "TrainingSettings", "apply_overrides"]

VERSION = 1


class SettingsError(ValueError):
    """Stored training settings are malformed; the message names the setting."""


def _d(path: str) -> Any:
    return field(default_factory=lambda: default(path))


@dataclass
class LossSettings:
    kind: str = _d("loss.kind")
    label_smoothing: float = _d("loss.label_smoothing")


@dataclass
class OptimizerSettings:
    kind: str = _d("optimizer.kind")
    lr: float = _d("optimizer.lr")
    weight_decay: float = _d("optimizer.weight_decay")
    momentum: float = _d("optimizer.momentum")  # sgd and rmsprop
    nesterov: bool = _d("optimizer.nesterov")  # sgd only


@dataclass
class ScheduleSettings:
    kind: str = _d("schedule.kind")
    warmup_epochs: int = _d("schedule.warmup_epochs")
    step_size: int = _d("schedule.step_size")
    gamma: float = _d("schedule.gamma")
    patience: int = _d("schedule.patience")
    factor: float = _d("schedule.factor")
    min_lr: float = _d("schedule.min_lr")


@dataclass
class EarlyStoppingSettings:
    enabled: bool = _d("early_stopping.enabled")
    metric: str = _d("early_stopping.metric")
    patience: int = _d("early_stopping.patience")
    restore_best: bool = _d("early_stopping.restore_best")


@dataclass
class DataSettings:
    num_workers: int = _d("data.num_workers")
    resident_limit_mb: float = _d("data.resident_limit_mb")


@dataclass
class TelemetrySettings:
    enabled: bool = _d("telemetry.enabled")
    feature_map_interval: float = _d("telemetry.feature_map_interval")
    stats_interval: float = _d("telemetry.stats_interval")


@dataclass
class TensorBoardSettings:
    enabled: bool = _d("tensorboard.enabled")
    log_dir: str = _d("tensorboard.log_dir")
    histograms: bool = _d("tensorboard.histograms")


@dataclass
class RecipeSettings:
    """What a step optimises (`engine.train.recipes`): supervised, autoencoder, vae or gan."""

    kind: str = _d("recipe.kind")
    input_noise: float = _d("recipe.input_noise")
    reconstruction_loss: str = _d("recipe.reconstruction_loss")
    kl_weight: float = _d("recipe.kl_weight")
    gan_loss: str = _d("recipe.gan_loss")
    generator_optimizer: str = _d("recipe.generator_optimizer")
    generator_lr: float = _d("recipe.generator_lr")
    discriminator_optimizer: str = _d("recipe.discriminator_optimizer")
    discriminator_lr: float = _d("recipe.discriminator_lr")
    adam_beta1: float = _d("recipe.adam_beta1")
    discriminator_steps: int = _d("recipe.discriminator_steps")


@dataclass
class TrainingSettings:
    """Everything that decides how a network is trained."""

    epochs: int = _d("epochs")
    batch_size: int = _d("batch_size")
    recipe: RecipeSettings = field(default_factory=RecipeSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    grad_clip: float | None = _d("grad_clip")
    early_stopping: EarlyStoppingSettings = field(default_factory=EarlyStoppingSettings)
    precision: str = _d("precision")
    device: str = _d("device")
    cpu_threads: int = _d("cpu_threads")
    seed: int = _d("seed")
    deterministic: bool = _d("deterministic")
    keep_epoch_weights: int = _d("keep_epoch_weights")  # snapshots to fork from (engine.train.fork)
    metrics: list[str] = field(default_factory=lambda: default("metrics"))
    top_k: int = _d("top_k")
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    probes: list[str] = field(default_factory=lambda: default("probes"))
    data: DataSettings = field(default_factory=DataSettings)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    tensorboard: TensorBoardSettings = field(default_factory=TensorBoardSettings)

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
        try:
            values = parse_tree(TRAINING_SETTINGS, data, "training")
        except SettingValueError as exc:
            raise SettingsError(str(exc)) from None
        settings = cls()
        for path, value in values.items():
            settings._set(path, value)
        return settings

    def _set(self, path: str, value: Any) -> None:
        *parents, leaf = path.split(".")
        target: Any = self
        for key in parents:
            target = getattr(target, key)
        setattr(target, leaf, value)

    def _get(self, path: str) -> Any:
        target: Any = self
        for key in path.split("."):
            target = getattr(target, key)
        return target

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
        problems = self._declared_problems() + _rules(self)
        if summary is not None and self.recipe.kind == "supervised":
            problems += _data_problems(self, summary, output)
        elif summary is not None and self.augment.enabled and not summary.is_image:
            problems.append("augmentation works on images only; switch it off for this dataset")
        if node_ids is not None:
            missing = [p for p in self.probes if p not in node_ids]
            if missing:
                problems.append(f"probe node(s) {', '.join(missing)} are not in the network")
        return problems

    def _declared_problems(self) -> list[str]:
        """The declared kind and range of every setting, on the values as they are now."""
        problems = []
        for s in TRAINING_SETTINGS:
            try:
                s.coerce(self._get(s.path))
            except SettingValueError as exc:
                problems.append(str(exc))
        return problems

    @property
    def monitor_mode(self) -> str:
        """'max' when a larger early-stopping metric is better, else 'min'."""
        metric = self.early_stopping.metric
        return "max" if metric.endswith(("accuracy", "top_k")) else "min"


def apply_overrides(data: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Stored training JSON with ``path=value`` overrides applied (each checked); raises `SettingsError`."""
    out = dict(data)
    for key, value in out.items():  # nested groups are copied, never changed in place
        if isinstance(value, dict):
            out[key] = dict(value)
    try:
        for assignment in assignments:
            apply_override(TRAINING_SETTINGS, out, assignment)
    except SettingValueError as exc:
        raise SettingsError(str(exc)) from None
    return out


# ---- rules between settings ----------------------------------------------------------
def _rules(s: TrainingSettings) -> list[str]:
    p: list[str] = []
    if s.loss.label_smoothing > 0 and s.loss.kind != "cross_entropy":
        p.append(f"label smoothing only applies to the cross_entropy loss, not {s.loss.kind!r}")
    opt = s.optimizer
    if opt.nesterov and (opt.kind != "sgd" or opt.momentum <= 0):
        p.append("Nesterov momentum needs the sgd optimizer with momentum above 0")
    sched = s.schedule
    if sched.warmup_epochs and isinstance(s.epochs, int) and sched.warmup_epochs >= s.epochs:
        p.append(f"warm-up ({sched.warmup_epochs} epochs) must be shorter than training ({s.epochs} epochs)")
    if sched.kind == "one_cycle" and sched.warmup_epochs:
        p.append("the one_cycle schedule warms up by itself; set warm-up epochs to 0")
    if s.recipe.kind == "gan" and s.precision == "fp16":
        p.append("the gan recipe trains in float32 or bf16 (fp16 would need a loss scale per network); choose "
                 "bf16 or none")
    es = s.early_stopping
    allowed = ("val_loss", "train_loss", *(f"val_{m}" for m in s.metrics))
    if es.metric not in allowed:
        p.append(f"early stopping watches {es.metric!r}, which is not measured; choose one of "
                 f"{', '.join(allowed)}")
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
