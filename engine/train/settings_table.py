"""Every training setting, declared once: path, kind, default, range or choices, label, help, section.

`TRAINING_SETTINGS` is read by `engine.train.settings` (parsing, range checks and the dataclass
defaults), by ``layerloom train --set path=value``, by the studio's Training panel (one field per
entry, grouped by `SECTIONS`) and by the README's format documentation (`engine.settings_doc`).
The augmentation settings are `engine.data.augment_config.AUGMENT_SETTINGS` stored under
``augment.``. Rules between settings stay in code, in `engine.train.settings`. No torch, no Qt.
"""

from __future__ import annotations

from typing import Any

from engine.data.augment_config import AUGMENT_SETTINGS
from engine.data.augment_config import SECTION as AUGMENTATION
from engine.settings_schema import Setting, by_path, prefixed, setting
from engine.train.recipes.declared import RECIPE, RECIPE_SETTINGS

LOSSES = ("cross_entropy", "nll", "bce_with_logits", "mse", "l1", "smooth_l1")
CLASS_LOSSES = ("cross_entropy", "nll")
REGRESSION_LOSSES = ("mse", "l1", "smooth_l1")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("none", "step", "cosine", "one_cycle", "reduce_on_plateau")
PRECISIONS = ("none", "bf16", "fp16")
METRICS = ("accuracy", "top_k", "mae")
WATCHED = ("val_loss", "train_loss", *(f"val_{m}" for m in METRICS))
INT_MAX = 2**31 - 1
EPOCHS_MAX = 1_000_000

RUN, LOSS, OPTIMIZER, SCHEDULE, EARLY = "Run", "Loss and metrics", "Optimizer", "Learning-rate schedule", \
    "Early stopping"
DATA, TELEMETRY, PROBES = "Data loading", "Live telemetry", "Feature-map probes"
TENSORBOARD = "TensorBoard logs"
SECTIONS = (RUN, RECIPE, LOSS, OPTIMIZER, SCHEDULE, EARLY, AUGMENTATION, DATA, TELEMETRY, PROBES, TENSORBOARD)

TRAINING_SETTINGS: tuple[Setting, ...] = (
    setting("epochs", "int", 10, "Epochs", RUN, "How many passes over the training data.",
            minimum=1, maximum=EPOCHS_MAX),
    setting("batch_size", "int", 64, "Batch size", RUN, "Samples per optimisation step (per process).",
            minimum=1, maximum=1_000_000),
    setting("seed", "int", 0, "Seed", RUN, "Seed for weights, shuffling and augmentation.",
            minimum=0, maximum=INT_MAX),
    setting("deterministic", "bool", False, "Deterministic", RUN,
            "Use deterministic algorithms (slower on GPUs)."),
    setting("device", "device", "auto", "Device", RUN,
            "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."),
    setting("precision", "choice", "none", "Mixed precision", RUN,
            "Autocast to bf16 or fp16 on CUDA; elsewhere training runs in float32 and says so.",
            choices=PRECISIONS),
    setting("cpu_threads", "int", 0, "CPU threads", RUN,
            "Torch's intra-op threads for the run (0 keeps torch's default; 1 is often fastest for small "
            "networks).", minimum=0, maximum=1024),
    setting("keep_epoch_weights", "int", 5, "Epoch weights kept", RUN,
            "How many epochs' weights a run keeps to fork from, spread over the run (each costs the size of the "
            "weights in the project file; best and last are always "
            "kept; 0 keeps none).", minimum=0, maximum=1000),
    *RECIPE_SETTINGS,
    setting("loss.kind", "choice", "cross_entropy", "Loss", LOSS,
            "The function minimised: nll expects LogSoftmax outputs.", choices=LOSSES),
    setting("loss.label_smoothing", "float", 0.0, "Label smoothing", LOSS, "cross_entropy only.",
            minimum=0.0, below=1.0),
    setting("metrics", "choices", ["accuracy"], "Metrics", LOSS,
            "Measured every epoch on training and validation data.", choices=METRICS),
    setting("top_k", "int", 5, "Top-k", LOSS, "k of the top_k metric (k = 1 is plain accuracy).",
            minimum=2, maximum=1000),
    setting("optimizer.kind", "choice", "adam", "Optimizer", OPTIMIZER, "How weights are updated.",
            choices=OPTIMIZERS),
    setting("optimizer.lr", "float", 1e-3, "Learning rate", OPTIMIZER,
            "Step size of the optimiser (the peak for one_cycle).", above=0.0),
    setting("optimizer.weight_decay", "float", 0.0, "Weight decay", OPTIMIZER,
            "L2 penalty (decoupled for adamw).", minimum=0.0, maximum=100.0),
    setting("optimizer.momentum", "float", 0.9, "Momentum", OPTIMIZER, "sgd and rmsprop.",
            minimum=0.0, below=1.0),
    setting("optimizer.nesterov", "bool", False, "Nesterov", OPTIMIZER, "sgd with momentum only."),
    setting("grad_clip", "optional_float", None, "Gradient clipping", OPTIMIZER,
            "Clip the gradient norm to this value; null (empty) for none.", above=0.0, maximum=1e6),
    setting("schedule.kind", "choice", "none", "Schedule", SCHEDULE,
            "none; step (every step_size epochs times gamma); cosine (to min_lr); one_cycle (its own "
            "warm-up, peak = lr); reduce_on_plateau (on validation loss).", choices=SCHEDULES),
    setting("schedule.warmup_epochs", "int", 0, "Warm-up epochs", SCHEDULE,
            "Linear warm-up from 0, with every schedule but one_cycle.", minimum=0, maximum=EPOCHS_MAX),
    setting("schedule.step_size", "int", 10, "Step size", SCHEDULE, "step: epochs between decays.",
            minimum=1, maximum=EPOCHS_MAX),
    setting("schedule.gamma", "float", 0.1, "Gamma", SCHEDULE, "step: decay factor.", above=0.0, maximum=1.0),
    setting("schedule.patience", "int", 3, "Plateau patience", SCHEDULE,
            "reduce_on_plateau: epochs without improvement before the rate drops.", minimum=0, maximum=EPOCHS_MAX),
    setting("schedule.factor", "float", 0.5, "Plateau factor", SCHEDULE, "reduce_on_plateau: decay factor.",
            above=0.0, below=1.0),
    setting("schedule.min_lr", "float", 0.0, "Minimum learning rate", SCHEDULE,
            "cosine and reduce_on_plateau floor.", minimum=0.0, maximum=100.0),
    setting("early_stopping.enabled", "bool", False, "Stop early", EARLY,
            "Stop when the watched metric stops improving."),
    setting("early_stopping.metric", "choice", "val_loss", "Watched metric", EARLY,
            "Also decides the best epoch; val_<metric> needs that metric measured.", choices=WATCHED),
    setting("early_stopping.patience", "int", 5, "Patience", EARLY, "Epochs without improvement before stopping.",
            minimum=1, maximum=EPOCHS_MAX),
    setting("early_stopping.restore_best", "bool", True, "Restore best weights", EARLY,
            "Keep the best epoch's weights at the end."),
    *prefixed(AUGMENT_SETTINGS, "augment"),
    setting("data.num_workers", "int", 0, "Loader workers", DATA,
            "DataLoader workers for data sets too big to live on the device.", minimum=0, maximum=256),
    setting("data.resident_limit_mb", "float", 256.0, "Resident limit (MB)", DATA,
            "Data sets smaller than this move to the training device once.", minimum=0.0, maximum=1_000_000.0),
    setting("telemetry.enabled", "bool", True, "Live pictures and statistics", TELEMETRY,
            "Feature maps, histograms and predictions while training."),
    setting("telemetry.feature_map_interval", "float", 0.5, "Feature-map interval (s)", TELEMETRY,
            "Seconds between probe forwards.", minimum=0.001, maximum=3600.0),
    setting("telemetry.stats_interval", "float", 2.0, "Statistics interval (s)", TELEMETRY,
            "Seconds between weight and gradient statistics.", minimum=0.001, maximum=3600.0),
    setting("probes", "names", [], "Probed nodes", PROBES,
            "Node ids whose feature maps stream from the start; selecting a node on the canvas switches it."),
    setting("tensorboard.enabled", "bool", False, "Write TensorBoard logs", TENSORBOARD,
            "Also write the run as TensorBoard event files (needs pip install \"layerloom[tensorboard]\")."),
    setting("tensorboard.log_dir", "str", "", "Log folder", TENSORBOARD,
            "Where runs are written, as <folder>/<project>/<run id>; empty: a tensorboard folder beside the "
            "project (a relative folder is taken from the project's folder)."),
    setting("tensorboard.histograms", "bool", True, "Weight and gradient histograms", TENSORBOARD,
            "Histograms of every weight and its gradient at the end of each epoch."),
)
TABLE = by_path(TRAINING_SETTINGS)


def default(path: str) -> Any:
    """The declared default of one setting (a fresh list for list kinds)."""
    value = TABLE[path].default
    return list(value) if isinstance(value, list) else value
