"""What the Sweep panel draws, read from an Optuna study with Optuna's own API, as plain data.

`read_study(study)` reads ``study.get_trials()`` once and returns a `StudySnapshot`: every trial's
number, state, objective, parameters and intermediate values, the direction, the search space
(the union of the trials' distributions) and the parameter importances
(`optuna.importance.get_param_importances`, or the reason there are none yet: too few completed
trials, or no parameter varied). Reading and the importance evaluation run on a pool thread
(`studio.sweep.study_poller`); the snapshot is immutable and drawn on the GUI thread, which never
touches the study itself.

`normalised(value, distribution)` puts a parameter value on [0, 1] of its range (log ranges on a
log scale, choices by their index), which is what the parallel-coordinates plot draws. Nothing
here imports Qt.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

MIN_TRIALS_FOR_IMPORTANCE = 2  # Optuna's evaluators need two completed trials that differ

COMPLETE, PRUNED, RUNNING, FAILED, WAITING = "complete", "pruned", "running", "failed", "waiting"
_STATES = {TrialState.COMPLETE: COMPLETE, TrialState.PRUNED: PRUNED, TrialState.RUNNING: RUNNING,
           TrialState.FAIL: FAILED, TrialState.WAITING: WAITING}


@dataclass(frozen=True)
class TrialPoint:
    """One trial as the panel draws it."""

    number: int
    state: str
    value: float | None  # the objective of a completed trial
    params: dict[str, Any]
    intermediate: tuple[tuple[int, float], ...]  # (step, value) in step order

    @property
    def last_intermediate(self) -> tuple[int, float] | None:
        return self.intermediate[-1] if self.intermediate else None


@dataclass(frozen=True)
class StudySnapshot:
    """A study at one moment: trials, direction, search space, best trial and importances."""

    name: str
    direction: str  # "minimize" or "maximize"
    trials: tuple[TrialPoint, ...]
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)
    importance_note: str = ""  # why there are no importances (yet)
    metric: str = "objective"

    @property
    def minimize(self) -> bool:
        return self.direction == "minimize"

    def in_state(self, state: str) -> list[TrialPoint]:
        return [t for t in self.trials if t.state == state]

    @property
    def completed(self) -> list[TrialPoint]:
        return [t for t in self.trials if t.state == COMPLETE and t.value is not None and math.isfinite(t.value)]

    @property
    def best(self) -> TrialPoint | None:
        done = self.completed
        if not done:
            return None
        return (min if self.minimize else max)(done, key=lambda t: t.value)

    def best_so_far(self) -> tuple[list[int], list[float]]:
        """Trial numbers and the best objective up to each completed trial (the history's step line)."""
        xs, ys, best = [], [], None
        for trial in self.completed:
            if best is None or (trial.value < best if self.minimize else trial.value > best):
                best = trial.value
            xs.append(trial.number)
            ys.append(best)
        return xs, ys

    def param_names(self) -> list[str]:
        return list(self.distributions)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in (COMPLETE, PRUNED, RUNNING, FAILED, WAITING)}
        for trial in self.trials:
            out[trial.state] = out.get(trial.state, 0) + 1
        return out


def _point(trial: FrozenTrial) -> TrialPoint:
    value = trial.value if trial.state == TrialState.COMPLETE and trial.values is not None else None
    steps = tuple(sorted((int(s), float(v)) for s, v in trial.intermediate_values.items()
                         if v is not None and math.isfinite(v)))
    return TrialPoint(trial.number, _STATES.get(trial.state, FAILED), None if value is None else float(value),
                      dict(trial.params), steps)


def _search_space(trials: list[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Every parameter any trial sampled, with the widest range seen (the first distribution of each name;
    a later trial's wider float or int range widens it)."""
    space: dict[str, BaseDistribution] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            old = space.get(name)
            if old is None:
                space[name] = dist
            elif isinstance(old, (FloatDistribution, IntDistribution)) and type(dist) is type(old):
                low, high = min(old.low, dist.low), max(old.high, dist.high)
                if (low, high) != (old.low, old.high):
                    space[name] = type(old)(low, high, log=old.log)
    return dict(sorted(space.items()))


def _importances(study: optuna.Study, points: tuple[TrialPoint, ...]) -> tuple[dict[str, float], str]:
    values = [p.value for p in points if p.state == COMPLETE and p.value is not None and math.isfinite(p.value)]
    if len(values) < MIN_TRIALS_FOR_IMPORTANCE:
        return {}, f"Importances need {MIN_TRIALS_FOR_IMPORTANCE} completed trials ({len(values)} so far)"
    if max(values) == min(values):  # Optuna would give one parameter all of it: nothing is explained
        return {}, "No importances yet: every completed trial has the same objective"
    try:
        with warnings.catch_warnings():  # Optuna marks its evaluators experimental; the panel says what it shows
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # too few distinct trials, no variance
        return {}, f"No importances yet: {exc}"
    values = {k: float(v) for k, v in values.items() if math.isfinite(v)}
    if not values:
        return {}, "No importances yet: no parameter varied between completed trials"
    return values, ""


def read_study(study: optuna.Study, *, metric: str = "objective", importances: bool = True) -> StudySnapshot:
    """Read `study` once (on a pool thread: the storage may be a file another process writes)."""
    trials = study.get_trials(deepcopy=False)
    points = tuple(_point(t) for t in trials)
    direction = "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    values, note = _importances(study, points) if importances else ({}, "")
    stored = study.user_attrs.get("metric")  # what the sweep optimises, as the engine records it
    metric = stored if isinstance(stored, str) and stored else metric
    return StudySnapshot(study.study_name, direction, points, _search_space(trials), values, note, metric)


def normalised(value: Any, distribution: BaseDistribution) -> float:
    """`value` on [0, 1] of its distribution's range (log ranges on a log scale, choices by index);
    NaN for a value outside what the distribution can hold (an older trial of a changed range)."""
    if isinstance(distribution, CategoricalDistribution):
        choices = list(distribution.choices)
        if value not in choices:
            return float("nan")
        return choices.index(value) / (len(choices) - 1) if len(choices) > 1 else 0.5
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        low, high, v = float(distribution.low), float(distribution.high), float(value)
        if distribution.log and low > 0 and v > 0:
            low, high, v = math.log(low), math.log(high), math.log(v)
        if high == low:
            return 0.5
        return min(1.0, max(0.0, (v - low) / (high - low)))
    return float("nan")


def describe_value(value: Any) -> str:
    """A short text for a parameter value or objective: 0.00123, 64, adam."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def param_label(name: str) -> str:
    """How a parameter reads on an axis: ``setting:optimizer.lr`` → ``optimizer.lr``,
    ``node:layer2/conv1:out_channels`` → ``layer2/conv1.out_channels``."""
    if name.startswith("setting:"):
        return name.removeprefix("setting:")
    if name.startswith("node:"):
        path, _, param = name.removeprefix("node:").rpartition(":")
        return f"{path}.{param}" if path else param
    return name
