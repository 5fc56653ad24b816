"""The Sweep panel's plots draw a real Optuna study: points, lines, pruned marks, bars, and what they read."""

from __future__ import annotations

import itertools
import math

import numpy as np
import optuna
import pytest
from sweep_studies import LR, OPTIMIZER, WIDTH, tuning_study

from studio.sweep.results_view import ResultsView, summary_text
from studio.sweep.study_snapshot import PRUNED, normalised, param_label, read_study
from studio.theme import theme


@pytest.fixture(scope="module")
def study():
    return tuning_study(10)


def test_the_snapshot_reads_trials_states_best_and_importances(study):
    snap = read_study(study)
    states = [t.state.name.lower() for t in study.trials]
    assert [t.state for t in snap.trials] == [s if s != "pruned" else PRUNED for s in states]
    assert len(snap.completed) == states.count("complete") and len(snap.in_state(PRUNED)) == states.count("pruned")
    assert snap.best.number == study.best_trial.number and snap.best.value == study.best_value
    _xs, ys = snap.best_so_far()
    assert ys[-1] == study.best_value and all(b <= a for a, b in itertools.pairwise(ys))
    assert set(snap.param_names()) == {LR, WIDTH, OPTIMIZER}
    assert set(snap.importances) == {LR, WIDTH, OPTIMIZER} and math.isclose(sum(snap.importances.values()), 1.0)
    pruned = snap.in_state(PRUNED)[0]
    assert pruned.intermediate == tuple(sorted(study.trials[pruned.number].intermediate_values.items()))


def test_importances_before_two_completed_trials_say_why(qtbot):
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    snap = read_study(study)
    assert snap.importances == {} and "2 completed trials (1 so far)" in snap.importance_note
    view = ResultsView(theme("light"))
    qtbot.addWidget(view)
    view.show_snapshot(snap)
    assert view.importance.bar_count() == 0 and view.importance.note.isVisible()
    assert "2 completed trials" in view.importance.note.textItem.toPlainText()


def test_importances_without_variation_say_why():
    study = optuna.create_study()
    study.optimize(lambda t: 0.0 * t.suggest_float("x", 0.0, 1.0) + 1.0, n_trials=3)
    snap = read_study(study)
    assert snap.importances == {} and "same objective" in snap.importance_note


def test_normalised_values_follow_the_range_kind():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    assert normalised(1e-3, FloatDistribution(1e-5, 1e-1, log=True)) == pytest.approx(0.5)
    assert normalised(8, IntDistribution(0, 16)) == 0.5
    assert normalised("adam", CategoricalDistribution(["sgd", "adam", "rmsprop"])) == 0.5
    assert math.isnan(normalised("lion", CategoricalDistribution(["sgd", "adam"])))
    assert param_label("node:layer2/conv1:out_channels") == "layer2/conv1.out_channels"
    assert param_label("setting:optimizer.lr") == "optimizer.lr"


def test_the_four_plots_draw_every_trial(qtbot, study, screenshots):
    view = ResultsView(theme("light"))
    qtbot.addWidget(view)
    view.resize(1400, 270)
    view.show()
    qtbot.waitExposed(view)
    snap = read_study(study)
    view.show_snapshot(snap)
    done, pruned = len(snap.completed), len(snap.in_state(PRUNED))
    assert done >= 3 and pruned >= 2
    assert view.history.point_count() == done
    assert len(view.history.pruned.getData()[0]) == pruned
    best_x, best_y = view.history.best.getData()
    assert best_y[-1] == study.best_value and best_x[-1] == snap.completed[-1].number
    assert view.intermediate.curve_count() == len(study.trials)
    assert view.intermediate.curve_count(PRUNED) == pruned and view.intermediate.pruned_marks() == pruned
    assert view.parallel.drawn_lines() == done
    assert view.parallel.full_names == ["val_loss", "fc1.out_features", "optimizer.kind", "optimizer.lr"]
    assert view.importance.bar_count() == 3
    ticks = view.importance.item.getAxis("left")._tickLevels[0]
    assert max(ticks)[1] == param_label(next(iter(snap.importances)))  # most important on top
    assert summary_text(snap).startswith(f"10 trials: {done} completed, {pruned} pruned")
    qtbot.wait(30)  # one pass of the event loop lays the axes out, as on screen
    view.grab().save(str(screenshots / "sweep_plots_light.png"))


def test_plots_follow_a_growing_study_and_make_curves_once(qtbot):
    from sweep_studies import curve_objective

    study = tuning_study(4)
    view = ResultsView(theme("dark"))
    qtbot.addWidget(view)
    view.show_snapshot(read_study(study))
    items = len(view.intermediate.item.listDataItems())
    study.optimize(curve_objective, n_trials=3)
    view.show_snapshot(read_study(study))
    assert view.intermediate.curve_count() == 7
    assert len(view.intermediate.item.listDataItems()) == items  # more trials, no more items to draw
    nan_breaks = sum(int(np.isnan(np.asarray(c.getData()[1], dtype=float)).sum())
                     for c in view.intermediate.groups.values() if c.getData()[1] is not None)
    assert nan_breaks == 7  # one line per trial
    view.show_snapshot(None)
    assert view.intermediate.curve_count() == 0 and view.history.point_count() == 0
    assert view.parallel.drawn_lines() == 0 and view.parallel.empty.isVisible() is not None
