"""Dataset and Training panels: every setting, undoable edits, the engine's checks, previews off the GUI thread."""

from __future__ import annotations

import threading

from test_training_support import ScriptedRun, epoch, finished, open_small, started, training_fixture  # noqa: F401

from studio.training.settings_schema import covered_paths, training_fields


def test_the_training_panel_has_every_setting_the_engine_has(window, training):
    assert {f.path for f in training_fields()} == covered_paths()
    editors = training.panels["training"].editors
    assert set(editors) == covered_paths()


def test_a_setting_edit_is_one_undo_step_and_marks_the_project_modified(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["training"]
    spin = panel.editors[("epochs",)].field
    for value in (3, 4, 5):  # one spin-box session: one undo step
        spin.setValue(value)
    stack = window.controller.undo_stack
    assert project.training["epochs"] == 5
    assert stack.count() == 1 and stack.undoText() == "Set epochs to 5"
    assert window.isWindowModified()
    stack.undo()
    assert project.training["epochs"] == 2
    assert spin.value() == 2


def test_the_panel_shows_the_engines_own_problems_in_its_words(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["training"]
    assert panel.check() == []
    assert "Ready to train" in panel.problems_label.text()
    combo = panel.editors[("loss", "kind")].field
    combo.activated.emit(combo.findText("mse"))
    assert project.training["loss"]["kind"] == "mse"
    text = panel.problems_label.text()
    assert "Training cannot start" in text
    assert "loss 'mse' needs numeric targets but the dataset is a classification task" in text
    assert not training.train()
    assert "check the training settings" in training.error_banner.title.text()


def test_a_value_the_engine_refuses_is_not_stored(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["training"]
    editor = panel.editors[("grad_clip",)]
    editor.line_edit().setText("lots")
    editor.line_edit().editingFinished.emit()
    assert "must be a number" in panel.refused.text()
    assert project.training.get("grad_clip") is None
    editor.line_edit().setText("1.5")
    editor.line_edit().editingFinished.emit()
    assert project.training["grad_clip"] == 1.5 and panel.refused.isHidden()


def test_a_dataset_edit_is_undoable_and_reloads_the_preview_off_the_gui_thread(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["dataset"]
    first = training.preview.result
    assert first.thread != threading.main_thread().name
    assert first.summary.sizes["train"] == 420 and first.images is not None
    assert panel.samples.visible_count() == 16
    panel.editors["n_samples"].field.setValue(300)
    assert project.dataset["params"]["n_samples"] == 300
    qtbot.waitUntil(lambda: training.preview.result is not first and training.preview.result is not None,
                    timeout=30_000)
    assert training.preview.result.summary.sizes["train"] == 210
    assert training.preview.result.thread != threading.main_thread().name
    counts = training.preview.summary.class_counts["train"]
    assert len(counts) == 6 and sum(counts) == 210
    window.controller.undo_stack.undo()
    assert project.dataset["params"]["n_samples"] == 600
    assert panel.editors["n_samples"].field.value() == 600


def test_choosing_another_kind_builds_its_form_and_previews_points(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["dataset"]
    box = panel.kind_box
    box.activated.emit(box.findData("spirals"))
    assert project.dataset["kind"] == "spirals" and "arms" in panel.editors
    assert window.controller.undo_stack.undoText() == "Use the Spirals dataset"
    qtbot.waitUntil(lambda: training.preview.result is not None and training.preview.result.points is not None,
                    timeout=30_000)
    assert panel.preview_stack.currentIndex() == 1
    assert "the dataset has 2 classes" in training.panels["training"].problems_label.text()
    window.controller.undo_stack.undo()
    assert project.dataset["kind"] == "shapes" and "image_size" in panel.editors


def test_a_split_the_engine_refuses_is_explained_and_not_stored(window, training, qtbot):
    project = open_small(window, qtbot, training)
    panel = training.panels["dataset"]
    panel.editors["val_fraction"].field.setValue(0.5)
    panel.editors["test_fraction"].field.setValue(0.6)
    assert project.dataset["test_fraction"] == 0.15
    assert "val_fraction + test_fraction must be below 1" in panel.error.text()


def test_the_panel_says_a_run_is_training_not_ready_until_it_ends(window, training, qtbot, screenshots):
    """While a run trains, "Ready to train" would be stale: the line names the run and says edits apply to the
    next one; when the run ends it says ready again."""
    open_small(window, qtbot, training)
    panel = training.panels["training"]
    assert "Ready to train" in panel.problems_label.text()
    training.runs.attach(ScriptedRun([[started()], [epoch(0)]] + [[]] * 200 + [[finished(epochs=1)]]), "scripted")
    qtbot.waitUntil(lambda: training.runs.state == "running", timeout=10_000)
    text = panel.problems_label.text()
    assert "Training scripted" in text and "apply to the next run" in text and "Ready to train" not in text
    dock = training.docks["training"]
    dock.setFloating(True)
    dock.show()
    dock.resize(420, 520)
    panel.grab().save(str(screenshots / "training_panel_while_training.png"))
    qtbot.waitUntil(lambda: training.runs.handle is None, timeout=30_000)
    assert not training.runs.active
    assert "Ready to train" in panel.problems_label.text()
