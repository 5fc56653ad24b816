"""A real tiny sweep started from the studio: trials train in spawned worker processes, each becomes a run in
the Runs panel with its parameters, the panel draws the study live, the study is kept in the saved project
and a second Start resumes it."""

from __future__ import annotations

from e2e_projects import example
from PySide6.QtCore import Qt

from engine.project import load_project
from engine.runs import get_run, list_runs
from engine.sweep.space import JOURNAL_MEMBER, ParamRange, SweepConfig, write_config
from engine.sweep.study import open_study
from studio.training.project_commands import SetSectionCommand

LR, WIDTH = "setting:optimizer.lr", "node:hidden1:out_features"


def test_start_a_sweep_from_the_studio_watch_it_and_resume_it(window, studio, qtbot, screenshots, tmp_path):
    project = example("mlp_spirals", samples=300, epochs=3)
    project.training["telemetry"] = {"enabled": False}
    write_config(project, SweepConfig(ranges=(ParamRange(LR, "float", 1e-3, 1e-1, True),
                                              ParamRange(WIDTH, "int", 4, 32)),
                                      trials=2, seed=7, pruner="none"))
    path = tmp_path / "spirals.loom"
    window.open_project(project, path)
    sweep = window.sweep
    panel = sweep.panel
    sweep.show_panel()
    assert panel.start_button.text() == "Start sweep" and panel.stored_trials() == 0

    progress = []  # the status bar's words after each finished trial
    sweep.controller.trial_finished.connect(lambda _event: progress.append(sweep.progress.text()))

    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert sweep.active and panel.poller.polling and not panel.editor.isEnabled()
    assert sweep.progress.isVisible() and sweep.progress.text().startswith("Sweep: 0 of 2 trials done")
    first_run = sweep.controller.run
    assert panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    # F5 (Train) while the trials train: refused with the reason, no run of its own beside them
    qtbot.keyClick(window.view, Qt.Key.Key_F5)
    assert not studio.runs.active
    assert studio.error_banner.isVisible() and "Cannot train now" in studio.error_banner.title.text()
    assert "A sweep is running" in studio.error_banner.message.text()
    assert studio.find_learning_rate() is None and not studio.runs.active
    qtbot.waitUntil(lambda: not sweep.active, timeout=240_000)
    assert progress[0].startswith("Sweep: 1 of 2 trials done") and progress[1].startswith("Sweep: 2 of 2")
    assert len(first_run.workers) == 1  # the project's stored number of workers (one: the suite stays light)
    assert not sweep.progress.isVisible()
    qtbot.waitUntil(lambda: panel.snapshot is not None and not panel.dirty
                    and [t.state for t in panel.snapshot.trials] == ["complete", "complete"], timeout=30_000)

    # every finished trial is an ordinary run of the project, listed with its parameters
    trials = [s for s in list_runs(project) if s.sweep is not None]
    assert len(trials) == 2 and {s.run_id for s in trials} == {"trial-0", "trial-1"}
    runs_panel = studio.panels["runs"]
    assert {"trial-0", "trial-1"} <= set(runs_panel.run_ids())
    row = next(runs_panel.tree.topLevelItem(i) for i in range(runs_panel.tree.topLevelItemCount())
               if runs_panel.tree.topLevelItem(i).text(0) == "trial-0")
    assert row.text(6).startswith("trial 0: hidden1.out_features ") and "optimizer.lr " in row.text(6)
    record = get_run(project, "trial-0")
    assert set(record.sweep["params"]) == {LR, WIDTH} and record.status == "completed"
    assert record.network["nodes"] and window.isWindowModified()
    # the panel drew the study; the study is in the project and the Start button resumes it
    completed = len(panel.snapshot.completed)
    assert completed == 2 and panel.results.history.point_count() == 2
    assert panel.results.intermediate.curve_count() == 2 and panel.results.parallel.drawn_lines() == 2
    assert JOURNAL_MEMBER in project.attachments and panel.start_button.text() == "Resume sweep"
    assert panel.editor.isEnabled() and panel.apply_button.isEnabled()
    assert panel.summary.text() == (f"2 trials: 2 completed · best val_loss {panel.snapshot.best.value:.4g} in trial "
                                    f"{panel.snapshot.best.number} · Sweep finished: 2 trials (2 completed)")
    assert "Sweep finished: 2 trials (2 completed)" in studio.panels["log"].lines[-1]
    qtbot.wait(50)
    sweep.dock.grab().save(str(screenshots / "sweep_e2e_panel.png"))

    # saved and reopened, the study is still there; Resume adds the configured trials to it, and Stop ends
    # the running trial at its next report (a long one here: 400 epochs)
    assert window.save_to(path)
    window.open_project(load_project(path), path)
    qtbot.waitUntil(lambda: panel.stored_trials() == 2, timeout=30_000)
    reopened = window.controller.project
    window.controller.push([SetSectionCommand(reopened, "training", {**reopened.training, "epochs": 400}, "epochs")])
    panel.editor.trials.setValue(1)
    epochs = []
    sweep.controller.trial_epoch.connect(epochs.append)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(epochs), timeout=240_000)
    # drawn live: the running trial's reported values, read from the sweep's working journal
    qtbot.waitUntil(lambda: panel.results.intermediate.curve_count("running") == 1, timeout=30_000)
    assert panel.results.history.point_count() == 2
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not sweep.active, timeout=120_000)
    qtbot.waitUntil(lambda: panel.stored_trials() == 3, timeout=30_000)
    study = open_study(reopened)
    assert len(study.trials) == 3 and study.trials[2].state.name == "FAIL"
    assert "stopped" in study.trials[2].user_attrs["error"]
    assert "trial-2" in studio.panels["runs"].run_ids() and get_run(reopened, "trial-2").status == "stopped"
    assert get_run(reopened, "trial-2").epochs and len(get_run(reopened, "trial-2").epochs) < 400

    # a new study forgets the stored trials (after asking; their runs stay); closing the studio while its
    # trial trains ends it: no worker process outlives the window
    epochs.clear()
    asked = []
    panel.confirm = lambda parent, text: asked.append(text) or True
    assert panel.new_study_button.isEnabled()
    qtbot.mouseClick(panel.new_study_button, Qt.MouseButton.LeftButton)
    assert asked and "The 3 trials of the stored study are forgotten" in asked[0]
    run = sweep.controller.run
    qtbot.waitUntil(lambda: bool(epochs), timeout=240_000)
    window.close()
    assert not sweep.active and all(not w.process.is_alive() for w in run.workers)
    assert len(open_study(reopened).trials) == 1  # the new study, its stopped trial in the project's journal
    assert {"trial-0", "trial-1", "trial-2"} <= {s.run_id for s in list_runs(reopened)}
