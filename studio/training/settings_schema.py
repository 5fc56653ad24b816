"""Every training setting the engine has, as form fields built from the same `Param` records as layers.

`training_fields()` lists one `SettingField` per leaf of `engine.train.settings.TrainingSettings`
(path into its JSON, a `Param` with kind, default, range or choices and help text, and the
section it belongs to), so the Training panel is generated from data like the inspector. The
choices come from the engine's own tuples (losses, optimisers, schedules, precisions, metrics).
A test checks that the fields cover every setting. Import this only once the training engine is
loaded (it imports torch through `engine.data`).

Three kinds are added to the layer kinds: ``choices`` (several of a list: metrics), ``names``
(a comma-separated list of node ids: probes) and ``optional_float`` (a number or empty for none:
gradient clipping); ``device`` is text with suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.layers.spec import Param
from engine.train import settings as s

SECTIONS = ("Run", "Loss and metrics", "Optimizer", "Learning-rate schedule", "Early stopping", "Augmentation",
            "Data loading", "Live telemetry", "Feature-map probes")
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class SettingField:
    """One setting: where it lives in the settings JSON, its schema and its section."""

    path: tuple[str, ...]
    param: Param
    label: str
    section: str

    def get(self, data: dict[str, Any]) -> Any:
        for key in self.path[:-1]:
            data = data.get(key, {})
        return data.get(self.path[-1], self.param.default)

    def set(self, data: dict[str, Any], value: Any) -> None:
        for key in self.path[:-1]:
            data = data.setdefault(key, {})
        data[self.path[-1]] = value


def _f(path: str, kind: str, label: str, section: str, help: str = "", minimum: float | None = None,
       maximum: float | None = None, choices: tuple[str, ...] = ()) -> SettingField:
    keys = tuple(path.split("."))
    default = _default(keys)
    return SettingField(keys, Param(keys[-1], kind, default, help, minimum, maximum, choices), label, section)


def _default(keys: tuple[str, ...]) -> Any:
    data: Any = s.TrainingSettings().to_json()
    for key in keys:
        data = data[key]
    return data


def training_fields() -> list[SettingField]:
    """The fields of the Training panel, in display order."""
    run, loss, opt, sched, early, aug, data, tel, probes = SECTIONS
    metric_names = ("val_loss", "train_loss", *(f"val_{m}" for m in s.METRICS))
    return [
        _f("epochs", "int", "Epochs", run, "How many passes over the training data.", 1, 1_000_000),
        _f("batch_size", "int", "Batch size", run, "Samples per optimisation step.", 1, 1_000_000),
        _f("seed", "int", "Seed", run, "Seed for weights, shuffling and augmentation.", 0, INT_MAX),
        _f("deterministic", "bool", "Deterministic", run, "Use deterministic algorithms (slower on GPUs)."),
        _f("device", "device", "Device", run, "auto, cpu, cuda, cuda:N or mps."),
        _f("precision", "choice", "Mixed precision", run, "Autocast to bf16 or fp16 on devices that support it.",
           choices=s.PRECISIONS),
        _f("cpu_threads", "int", "CPU threads", run, "Torch CPU threads (0 keeps torch's default).", 0, 1024),
        _f("loss.kind", "choice", "Loss", loss, "The function minimised.", choices=s.LOSSES),
        _f("loss.label_smoothing", "float", "Label smoothing", loss, "cross_entropy only.", 0.0, 0.99),
        _f("metrics", "choices", "Metrics", loss, "Measured every epoch on training and validation data.",
           choices=s.METRICS),
        _f("top_k", "int", "Top-k", loss, "k of the top_k metric.", 2, 1000),
        _f("optimizer.kind", "choice", "Optimizer", opt, "How weights are updated.", choices=s.OPTIMIZERS),
        _f("optimizer.lr", "float", "Learning rate", opt, "Step size of the optimiser.", 0.0, 100.0),
        _f("optimizer.weight_decay", "float", "Weight decay", opt, "L2 penalty (decoupled for adamw).", 0.0, 100.0),
        _f("optimizer.momentum", "float", "Momentum", opt, "sgd and rmsprop.", 0.0, 0.999),
        _f("optimizer.nesterov", "bool", "Nesterov", opt, "sgd with momentum only."),
        _f("grad_clip", "optional_float", "Gradient clipping", opt,
           "Clip the gradient norm to this value; empty for none."),
        _f("schedule.kind", "choice", "Schedule", sched, "How the learning rate changes over the run.",
           choices=s.SCHEDULES),
        _f("schedule.warmup_epochs", "int", "Warm-up epochs", sched, "Linear warm-up from 0.", 0, 100_000),
        _f("schedule.step_size", "int", "Step size", sched, "step: epochs between decays.", 1, 100_000),
        _f("schedule.gamma", "float", "Gamma", sched, "step: decay factor.", 0.0, 1.0),
        _f("schedule.patience", "int", "Plateau patience", sched, "reduce_on_plateau: epochs to wait.", 0, 100_000),
        _f("schedule.factor", "float", "Plateau factor", sched, "reduce_on_plateau: decay factor.", 0.0, 1.0),
        _f("schedule.min_lr", "float", "Minimum learning rate", sched, "cosine and reduce_on_plateau floor.",
           0.0, 100.0),
        _f("early_stopping.enabled", "bool", "Stop early", early, "Stop when the metric stops improving."),
        _f("early_stopping.metric", "choice", "Watched metric", early, "Also decides the best epoch.",
           choices=metric_names),
        _f("early_stopping.patience", "int", "Patience", early, "Epochs without improvement.", 0, 100_000),
        _f("early_stopping.restore_best", "bool", "Restore best weights", early, "Keep the best epoch's weights."),
        _f("augment.hflip", "bool", "Horizontal flips", aug, "Images only."),
        _f("augment.crop_padding", "int", "Crop padding", aug, "Pad and crop back randomly (pixels).", 0, 64),
        _f("augment.rotation", "float", "Rotation", aug, "Largest random rotation in degrees.", 0.0, 180.0),
        _f("augment.color_jitter", "float", "Colour jitter", aug, "Brightness and contrast strength.", 0.0, 1.0),
        _f("data.num_workers", "int", "Loader workers", data, "For data sets too big to live on the device.",
           0, 256),
        _f("data.resident_limit_mb", "float", "Resident limit (MB)", data,
           "Data sets smaller than this move to the device once.", 0.0, 1_000_000.0),
        _f("telemetry.enabled", "bool", "Live pictures and statistics", tel,
           "Feature maps, histograms and predictions while training."),
        _f("telemetry.feature_map_interval", "float", "Feature-map interval (s)", tel, "Seconds between probes.",
           0.01, 3600.0),
        _f("telemetry.stats_interval", "float", "Statistics interval (s)", tel,
           "Seconds between weight and gradient statistics.", 0.05, 3600.0),
        _f("probes", "names", "Probed nodes", probes,
           "Node ids whose feature maps stream at the start; selecting a node on the canvas switches it."),
    ]


def covered_paths() -> set[tuple[str, ...]]:
    """Every leaf path of the settings JSON (without the version): what the fields must cover."""
    paths: set[tuple[str, ...]] = set()

    def walk(data: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                walk(value, (*prefix, key))
            elif (*prefix, key) != ("version",):
                paths.add((*prefix, key))

    walk(s.TrainingSettings().to_json(), ())
    return paths
