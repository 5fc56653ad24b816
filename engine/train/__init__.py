"""The training engine: settings, the trainer loop, callbacks, and one entry point per front end.

- `TrainingSettings` (settings.py): what the project stores in ``project.training``.
- `TrainingJob`, `check_job` (job.py): network + dataset + settings, checked before training.
- `run_job` (session.py): one whole run, reporting telemetry dicts to a sink.
- `Trainer`, `Callback` (trainer.py, callbacks.py): the loop and its hooks.
The worker process and its client live in `engine.runner`; saved runs in `engine.runs`.
"""

from engine.train.callbacks import Callback, EarlyStopping, EpochRecord, Failure, Progress
from engine.train.job import TrainingJob, check_job
from engine.train.session import Placement, RunResult, run_job
from engine.train.settings import SettingsError, TrainingSettings
from engine.train.trainer import Trainer, TrainSetup

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
