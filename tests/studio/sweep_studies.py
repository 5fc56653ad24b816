"""Real Optuna studies for the Sweep panel's tests: TPE and the median pruner over a small objective.

`tuning_study(trials)` runs an in-memory study whose objective is a learning curve that a trial
reports step by step (`trial.report`): its final level depends on the learning rate (best near
3e-3, on a log scale), the width and the optimiser, so the sampler has something to find and the
median pruner stops the trials whose curves run above the others'. Parameters are named as
sweeps name them (``setting:...``, ``node:...:param``).
"""

from __future__ import annotations

import math

import optuna

LR = "setting:optimizer.lr"
WIDTH = "node:fc1:out_features"
OPTIMIZER = "setting:optimizer.kind"
STEPS = 8


def curve_objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float(LR, 1e-5, 1e-1, log=True)
    width = trial.suggest_int(WIDTH, 8, 128, log=True)
    kind = trial.suggest_categorical(OPTIMIZER, ["sgd", "adam"])
    floor = 0.05 + 0.25 * (math.log10(lr) + 2.5) ** 2 + 8.0 / width + (0.1 if kind == "sgd" else 0.0)
    value = floor
    for step in range(STEPS):
        value = floor + 1.5 * math.exp(-0.6 * (step + 1))
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def tuning_study(trials: int = 10, seed: int = 3, storage=None, name: str = "tuning") -> optuna.Study:
    """A real study with `trials` finished trials; with the default seed some are pruned."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", study_name=name, storage=storage,
                                sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=4),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    study.set_user_attr("metric", "val_loss")
    study.optimize(curve_objective, n_trials=trials)
    return study


def stored_journal(trials: int = 10, name: str = "lenet5") -> bytes:
    """A project's ``sweep/journal.log``: the journal of a real study of `trials` trials named `name`."""
    from optuna.storages.journal import JournalStorage

    from engine.sweep.study import MemoryJournal, journal_bytes

    backend = MemoryJournal()
    tuning_study(trials, storage=JournalStorage(backend), name=name)
    return journal_bytes(backend.logs)
