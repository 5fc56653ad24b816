"""Hyper-parameter sweeps with Optuna: what varies, the study stored in the project, trials in worker processes.

- `engine.sweep.space`: `ParamRange`, `SweepConfig` (JSON, hostile-input checks), `read_config` /
  `write_config` (the project member ``sweep/config.json``). No torch, no optuna.
- `engine.sweep.targets`: `candidate_targets(project)`, `config_problems` / `check_config`,
  `apply_params(document, training, params)`. No torch, no optuna.
- `engine.sweep.study`: `open_study(project path, project, journal file or storage URL)`, the study's
  journal kept in the project (``sweep/journal.log``), samplers and pruners built from the config.
- `engine.sweep.runner`: `SweepRun` (trials in spawned worker processes, polled like a run) and
  `run_sweep`; `engine.sweep.cli` is ``layerloom sweep``.

Names are loaded on first use (PEP 562), so importing this package loads neither optuna nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ParamRange": "engine.sweep.space",
    "SweepConfig": "engine.sweep.space",
    "SweepConfigError": "engine.sweep.space",
    "read_config": "engine.sweep.space",
    "write_config": "engine.sweep.space",
    "short_name": "engine.sweep.space",
    "format_params": "engine.sweep.space",
    "CONFIG_MEMBER": "engine.sweep.space",
    "JOURNAL_MEMBER": "engine.sweep.space",
    "Candidate": "engine.sweep.targets",
    "candidate_targets": "engine.sweep.targets",
    "config_problems": "engine.sweep.targets",
    "check_config": "engine.sweep.targets",
    "apply_params": "engine.sweep.targets",
    "open_study": "engine.sweep.study",
    "SweepStudyError": "engine.sweep.study",
    "SweepRun": "engine.sweep.runner",
    "run_sweep": "engine.sweep.runner",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
