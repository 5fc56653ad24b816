"""The training engine: settings, the trainer loop, callbacks, and one entry point per front end.

- `TrainingSettings` (settings.py): what the project stores in ``project.training``.
- `TrainingJob` (job.py): network + dataset + settings, with its one JSON form.
- `preflight` (preflight.py): every problem that keeps a job from training, with node ids.
- `run_job` (session.py): one whole run, reporting telemetry dicts to a sink.
- `Trainer`, `Callback` (trainer.py, callbacks.py): the loop and its hooks.
The worker process and its client live in `engine.runner`; saved runs in `engine.runs`.

Names are loaded on first use (PEP 562): importing `engine.train.settings`, `.job`, `.preflight`
or `.callbacks` never loads torch; the loop, the session and the setup do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.train.callbacks import Callback, EarlyStopping, EpochRecord, Failure, Progress
    from engine.train.job import TrainingJob
    from engine.train.session import Placement, RunResult, run_job
    from engine.train.settings import SettingsError, TrainingSettings
    from engine.train.setup import check_job
    from engine.train.trainer import Trainer, TrainSetup

_WHERE = {
    "Callback": "engine.train.callbacks",
    "EarlyStopping": "engine.train.callbacks",
    "EpochRecord": "engine.train.callbacks",
    "Failure": "engine.train.callbacks",
    "Progress": "engine.train.callbacks",
    "TrainingJob": "engine.train.job",
    "check_job": "engine.train.setup",
    "Placement": "engine.train.session",
    "RunResult": "engine.train.session",
    "run_job": "engine.train.session",
    "SettingsError": "engine.train.settings",
    "TrainingSettings": "engine.train.settings",
    "TrainSetup": "engine.train.trainer",
    "Trainer": "engine.train.trainer",
}
__all__ = [
    "Callback",
    "EarlyStopping",
    "EpochRecord",
    "Failure",
    "Placement",
    "Progress",
    "RunResult",
    "SettingsError",
    "TrainSetup",
    "Trainer",
    "TrainingJob",
    "TrainingSettings",
    "check_job",
    "run_job",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.train' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
