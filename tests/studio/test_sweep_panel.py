"""The Sweep panel in the main window: it follows the open project, its search space is edited as a person
does (undoable, stored in the project), and Apply best trial is one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sweep_studies import LR, OPTIMIZER, WIDTH, stored_journal

from engine.project import load_project
from engine.resources import example_path
from engine.sweep.space import CONFIG_MEMBER, JOURNAL_MEMBER, ParamRange, SweepConfig, read_config, write_config
from studio.sweep.study_snapshot import PRUNED


def lenet(trials: int = 0):
    """The LeNet-5 example, with a stored study of `trials` real trials when asked."""
    project = load_project(example_path("lenet5"))
    if trials:
        project.attachments[JOURNAL_MEMBER] = stored_journal(trials, project.name)
    return project


def open_project(window, qtbot, project):
    window.open_project(project)
    window.controller.flush_analysis()
    panel = window.sweep.panel
    window.sweep.show_panel()
    qtbot.waitUntil(lambda: panel.poller.reads >= 1 or panel.stored_study_opener() is None, timeout=30_000)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=10_000)
    return panel


def test_the_panel_draws_the_projects_stored_study_and_follows_the_open_project(window, qtbot, screenshots):
    panel = open_project(window, qtbot, lenet(10))
    view = panel.results
    assert window.sweep.dock.isVisible() and panel.snapshot is not None and len(panel.snapshot.trials) == 10
    pruned = len(panel.snapshot.in_state(PRUNED))
    done = len(panel.snapshot.completed)
    assert pruned >= 2 and done >= 3
    assert view.history.point_count() == done and view.intermediate.pruned_marks() == pruned
    assert view.intermediate.curve_count() == 10 and view.parallel.drawn_lines() == done
    assert view.importance.bar_count() == 3
    assert panel.summary.text().startswith(f"10 trials: {done} completed, {pruned} pruned")
    assert "best val_loss" in panel.summary.text()
    assert panel.start_button.text() == "Resume sweep" and panel.apply_button.isEnabled()
    assert window.sweep.actions["start"].text().replace("&", "") == "Resume Sweep"
    qtbot.wait(50)
    window.sweep.dock.grab().save(str(screenshots / "sweep_panel_results.png"))
    window.grab().save(str(screenshots / "sweep_panel_in_window.png"))
    window.set_theme("dark", remember=False)
    qtbot.wait(50)
    from studio.theme import theme

    assert view.history.plot_widget.backgroundBrush().color().name() == theme("dark").base.lower()
    window.sweep.dock.grab().save(str(screenshots / "sweep_panel_results_dark.png"))

    other = lenet(0)  # another project without a study: nothing of the first one stays
    other.attachments[CONFIG_MEMBER] = SweepConfig(ranges=(ParamRange(LR, "float", 1e-4, 1e-2, True),),
                                                   trials=7).to_bytes()
    window.open_project(other)
    qtbot.waitUntil(lambda: panel.snapshot is None and not panel.dirty, timeout=10_000)
    assert view.history.point_count() == 0 and view.intermediate.curve_count() == 0
    assert view.parallel.drawn_lines() == 0 and view.importance.bar_count() == 0
    assert panel.start_button.text() == "Start sweep" and not panel.apply_button.isEnabled()
    assert panel.editor.config.targets == [LR] and panel.editor.trials.value() == 7
    assert panel.editor.table.rowCount() == 1


def test_the_search_space_is_edited_in_the_form_stored_in_the_project_and_undone(window, qtbot, screenshots):
    panel = open_project(window, qtbot, lenet(0))
    project, stack = window.controller.project, window.controller.undo_stack
    editor = panel.editor
    panel.tabs.setCurrentWidget(editor)
    assert read_config(project) is None and editor.table.rowCount() == 0

    # type a name that matches several things: nothing is added, the matches are named
    choice = editor.target_choice
    assert choice.findData(WIDTH) >= 0 and choice.findData(LR) >= 0 and choice.findData(OPTIMIZER) >= 0
    choice.setFocus()
    choice.lineEdit().selectAll()
    qtbot.keyClicks(choice.lineEdit(), "out_features")
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert read_config(project) is None and "3 things match 'out_features'" in editor.problem.text()
    # "fc1 ▸ out_features" by its short name, then Vary
    choice.lineEdit().selectAll()
    qtbot.keyClicks(choice.lineEdit(), "fc1.out_features")
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    config = read_config(project)
    assert config.targets == [WIDTH] and window.isWindowModified()
    natural = config.range_of(WIDTH)
    assert natural.kind == "int" and natural.low < 120 < natural.high  # around the current 120
    assert stack.undoText().startswith("Vary")

    # type a new low bound and press Enter
    low = editor.cell(WIDTH, 2)
    low.setFocus()
    low.selectAll()
    qtbot.keyClicks(low, "16")
    qtbot.keyClick(low, Qt.Key.Key_Return)
    assert read_config(project).range_of(WIDTH).low == 16
    # a low above the high is refused: said under the table, and the field shows the stored value again
    low = editor.cell(WIDTH, 2)
    low.setFocus()
    low.selectAll()
    qtbot.keyClicks(low, "100000")
    qtbot.keyClick(low, Qt.Key.Key_Return)
    assert read_config(project).range_of(WIDTH).low == 16
    assert "must be below high" in editor.problem.text()
    assert editor.cell(WIDTH, 2).text() == "16"
    # the log box, the metric and the trials
    qtbot.mouseClick(editor.cell(WIDTH, 4), Qt.MouseButton.LeftButton)
    assert read_config(project).range_of(WIDTH).log is not natural.log
    editor.metric.setCurrentText("val_accuracy")
    assert read_config(project).metric == "val_accuracy" and read_config(project).direction == "maximize"
    editor.trials.setFocus()
    editor.trials.selectAll()
    qtbot.keyClicks(editor.trials, "12")
    qtbot.keyClick(editor.trials, Qt.Key.Key_Return)
    assert read_config(project).trials == 12 and panel.start_button.toolTip().startswith("Run 12 trials")
    editor.workers_box.setValue(2)
    assert project.ui["sweep"]["workers"] == 2
    # also a choice range of a setting
    choice.setCurrentIndex(choice.findData(OPTIMIZER))
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    choices = editor.cell(OPTIMIZER, 5)
    choices.setFocus()
    choices.selectAll()
    qtbot.keyClicks(choices, "sgd, adam")
    qtbot.keyClick(choices, Qt.Key.Key_Return)
    assert read_config(project).range_of(OPTIMIZER).choices == ("sgd", "adam")
    assert editor.table.rowCount() == 2
    # the width as a list of values: its ends and the current value, then back to a range of them
    editor.cell(WIDTH, 1).setCurrentText("choice")
    assert read_config(project).range_of(WIDTH).choices == (16, 120, 480)
    assert editor.cell(WIDTH, 5).text() == "16, 120, 480" and not editor.cell(WIDTH, 2).isEnabled()
    editor.cell(WIDTH, 1).setCurrentText("int")
    assert (read_config(project).range_of(WIDTH).low, read_config(project).range_of(WIDTH).high) == (16, 480)
    qtbot.wait(50)
    window.sweep.dock.grab().save(str(screenshots / "sweep_panel_search_space.png"))

    # a node added to the network can vary at once
    panel.tabs.setCurrentWidget(panel.results)
    added = window.controller.add_node("Dropout", (0.0, 400.0))
    panel.tabs.setCurrentWidget(editor)
    assert choice.findData(f"node:{added}:p") >= 0
    stack.undo()
    assert choice.findData(f"node:{added}:p") < 0

    # undo walks it all back, and the form follows
    while stack.canUndo():
        stack.undo()
    assert read_config(project) is None and "sweep" not in project.ui
    assert editor.table.rowCount() == 0 and editor.metric.currentText() == "val_loss"
    stack.redo()
    assert read_config(project).targets == [WIDTH] and editor.table.rowCount() == 1
    # removing a row is one click
    qtbot.mouseClick(editor.cell(WIDTH, 6), Qt.MouseButton.LeftButton)
    assert read_config(project).targets == []


def test_apply_best_trial_is_one_click_and_one_undo_step(window, qtbot):
    panel = open_project(window, qtbot, lenet(10))
    project, stack = window.controller.project, window.controller.undo_stack
    best = panel.snapshot.best
    before_network = {n: dict(node.params) for n, node in project.network.nodes.items()}
    before_training = dict(project.training)
    assert best.params[WIDTH] != project.network.nodes["fc1"].params["out_features"]
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert project.network.nodes["fc1"].params["out_features"] == best.params[WIDTH]
    assert project.training["optimizer"]["lr"] == best.params[LR]
    assert project.training["optimizer"]["kind"] == best.params[OPTIMIZER]
    assert stack.count() == 1 and stack.undoText().startswith(f"Apply trial {best.number}")
    assert window.isWindowModified()
    assert window.inspector is not None
    # one Ctrl+Z, as a person presses it, restores everything
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {n: dict(node.params) for n, node in project.network.nodes.items()} == before_network
    assert project.training == before_training and stack.index() == 0
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert project.network.nodes["fc1"].params["out_features"] == best.params[WIDTH]


def test_apply_best_is_refused_while_the_project_is_read_only(window, qtbot):
    panel = open_project(window, qtbot, lenet(10))
    window.controller.set_editable(False, "a run is training")
    assert not panel.apply_button.isEnabled() and not panel.editor.isEnabled()
    assert not window.sweep.actions["apply_best"].isEnabled()
    assert panel.apply_best() is False and window.controller.undo_stack.count() == 0


@pytest.mark.parametrize("damage", [b"not json\n", b'{"op_code": 4, "study_id": 99}\n'])
def test_a_damaged_stored_journal_is_said_not_raised(window, qtbot, damage):
    project = lenet(0)
    project.attachments[JOURNAL_MEMBER] = damage
    panel = open_project(window, qtbot, project)
    qtbot.waitUntil(lambda: bool(panel.read_error), timeout=10_000)
    assert "cannot be read" in panel.summary.text() and panel.results.history.point_count() == 0


def test_a_trial_inside_a_block_and_a_repeat_apply_as_one_undo_step(qtbot):
    from PySide6.QtGui import QUndoStack

    from engine.sweep.targets import apply_params, candidate_targets
    from studio.sweep.apply_best import commands_for

    project = load_project(example_path("resnet_small"))
    candidates = {c.target: c for c in candidate_targets(project)}
    inner = next(t for t, c in candidates.items() if "/" in t and c.suggested.kind == "int")
    repeat = next(t for t in candidates if t.endswith(":repeat"))
    values = {inner: candidates[inner].current + 1, repeat: candidates[repeat].current + 1,
              "setting:batch_size": 32}
    before = {name: {n: dict(node.params) for n, node in doc.nodes.items()}
              for name, doc in [("", project.network)] + [(d.name, d.body) for d in project.network.library]}
    training = dict(project.training)
    network, settings = apply_params(project.network, project.training, values)
    stack = QUndoStack()
    stack.beginMacro("Apply trial")
    for command in commands_for(project, network, settings):
        stack.push(command)
    stack.endMacro()
    assert stack.count() == 1
    after = apply_params(project.network, project.training, {})[0]  # the project as it is now, copied
    assert commands_for(project, after, project.training) == [] and project.training["batch_size"] == 32
    ids, key = inner.removeprefix("node:").rpartition(":")[0].split("/"), inner.rpartition(":")[2]
    doc = project.network
    for instance in ids[:-1]:
        doc = doc.definition_of(instance).body
    assert doc.nodes[ids[-1]].params[key] == values[inner]
    instance, _, _ = repeat.removeprefix("node:").partition(":")
    assert project.network.nodes[instance].params["repeat"] == values[repeat]
    stack.undo()
    assert project.training == training
    assert {name: {n: dict(node.params) for n, node in doc.nodes.items()}
            for name, doc in [("", project.network)] + [(d.name, d.body) for d in project.network.library]} == before


def test_the_panel_follows_a_running_study_reading_it_off_the_gui_thread(window, qtbot):
    import threading

    from sweep_studies import curve_objective, tuning_study

    panel = open_project(window, qtbot, lenet(0))
    study = tuning_study(3)
    readers = []

    def opener():
        readers.append(threading.get_ident())
        return study

    panel.follow_study(opener)
    panel.poller.start(40)
    qtbot.waitUntil(lambda: panel.results.history.point_count() == len(read_done(study)), timeout=10_000)
    study.optimize(curve_objective, n_trials=5)  # trials finish while the panel polls
    qtbot.waitUntil(lambda: panel.results.intermediate.curve_count() == 8, timeout=10_000)
    panel.poller.stop()
    assert panel.results.history.point_count() == len(read_done(study))
    assert readers and threading.main_thread().ident not in readers  # the study is read on a pool thread
    assert panel.update_cpu_ms and panel.poller.reads >= 2


def read_done(study):
    return [t for t in study.trials if t.state.name == "COMPLETE"]


def test_a_study_that_cannot_resume_says_so_and_offers_a_new_one(window, qtbot):
    project = lenet(6)  # its stored study minimizes val_loss
    project.attachments[CONFIG_MEMBER] = SweepConfig(ranges=(ParamRange(LR, "float", 1e-4, 1e-2, True),),
                                                     metric="val_accuracy").to_bytes()
    stored = project.attachments[JOURNAL_MEMBER]
    panel = open_project(window, qtbot, project)
    assert panel.start_button.text() == "Resume sweep" and panel.new_study_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not window.sweep.active and "Start New Study…" in panel.summary.text()
    assert "minimizes" in panel.summary.text()
    panel.confirm = lambda parent, text: False  # asked, and declined: nothing starts, nothing is forgotten
    qtbot.mouseClick(panel.new_study_button, Qt.MouseButton.LeftButton)
    assert not window.sweep.active and project.attachments[JOURNAL_MEMBER] == stored


def test_the_run_menu_and_view_panels_reach_the_sweep(window, qtbot):
    window.open_project(lenet(6))
    sweep = window.sweep
    run_menu = window.training.run_menu
    entries = {a.objectName(): a for a in run_menu.actions()}
    assert {"action_sweep_show", "action_sweep_start", "action_sweep_new_study", "action_sweep_stop",
            "action_sweep_apply_best"} <= set(entries)
    view = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    panels = next(a.menu() for a in view.actions() if a.menu() and a.text().replace("&", "") == "Panels")
    toggle = next(a for a in panels.actions() if a.objectName() == "action_panel_sweep")
    sweep.dock.close()
    toggle.trigger()
    qtbot.waitUntil(sweep.dock.isVisible)
    sweep.dock.close()
    entries["action_sweep_show"].trigger()
    qtbot.waitUntil(sweep.dock.isVisible)
    qtbot.waitUntil(lambda: sweep.panel.snapshot is not None and entries["action_sweep_apply_best"].isEnabled(),
                    timeout=30_000)
    assert entries["action_sweep_start"].text().replace("&", "") == "Resume Sweep"
    assert not entries["action_sweep_stop"].isEnabled()
    entries["action_sweep_apply_best"].trigger()
    assert window.controller.undo_stack.undoText().startswith("Apply trial")


def test_a_damaged_stored_config_is_said_and_a_fresh_one_replaces_it(window, qtbot):
    project = lenet(0)
    project.attachments[CONFIG_MEMBER] = b'{"ranges": [{"target": "setting:optimizer.lr", "low": 1, "high": 0}]}'
    panel = open_project(window, qtbot, project)
    assert "cannot be read" in panel.editor.problem.text() and panel.editor.table.rowCount() == 0
    assert panel.editor.add_range(LR)
    assert read_config(project).targets == [LR]


def test_a_trial_clicked_in_the_history_is_the_one_applied(window, qtbot, screenshots):
    panel = open_project(window, qtbot, lenet(10))
    project, stack = window.controller.project, window.controller.undo_stack
    history = panel.results.history
    best = panel.snapshot.best
    other = next(t for t in panel.snapshot.completed if t.number != best.number)
    assert other.params[WIDTH] != project.network.nodes["fc1"].params["out_features"]
    qtbot.wait(50)  # laid out, so the point is where it is drawn
    tip = history._tip(0, 0, other.number)
    assert tip.startswith(f"trial {other.number}: val_loss ") and f"fc1.out_features = {other.params[WIDTH]}" in tip
    qtbot.mouseClick(history.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=history.point_position(other.number))
    assert panel.chosen == other.number and history.ring.data["x"].tolist() == [other.number]
    assert panel.apply_button.text() == f"Apply trial {other.number}"
    assert window.sweep.actions["apply_best"].text().replace("&", "") == f"Apply Trial {other.number}"
    qtbot.wait(30)
    window.sweep.dock.grab().save(str(screenshots / "sweep_panel_chosen_trial.png"))
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert project.network.nodes["fc1"].params["out_features"] == other.params[WIDTH]
    assert project.training["optimizer"]["lr"] == other.params[LR]
    assert stack.count() == 1 and stack.undoText().startswith(f"Apply trial {other.number} ")
    stack.undo()
    # clicking it again (later: not a double-click) goes back to the best
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mouseClick(history.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=history.point_position(other.number))
    assert panel.chosen is None and panel.apply_button.text() == "Apply best trial"
    assert len(history.ring.data) == 0


def test_a_dataset_that_holds_no_validation_out_is_a_problem_shown_before_start(window, qtbot):
    """The sweep optimises a validation metric: the panel says at once when the dataset keeps none aside (the
    same check the engine makes), rather than only once Start is pressed."""
    project = lenet()
    write_config(project, SweepConfig(ranges=(ParamRange(LR, "float", 1e-4, 1e-1, True),), trials=2))
    project.dataset["val_fraction"] = 0.0
    panel = open_project(window, qtbot, project)
    assert "holds none out (dataset.val_fraction is 0)" in panel.editor.problem.text()
    assert panel.start_sweep() is False and not window.sweep.active
