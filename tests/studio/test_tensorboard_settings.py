"""The Training panel's TensorBoard section: the log folder is picked with Browse… (one undo step), and
switching the logs on without the tensorboard package shows the engine's install hint before any run."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QScrollArea
from test_training_support import open_small, training_fixture  # noqa: F401


def test_browse_picks_the_log_folder_and_a_missing_package_is_a_problem_shown_at_once(
        window, training, qtbot, tmp_path, monkeypatch, screenshots):
    project = open_small(window, qtbot, training)
    training.show_panel("training")
    panel = training.panels["training"]
    chosen = str(tmp_path / "tb-logs")
    asked = []
    panel.choose_folder = lambda parent, title: asked.append(title) or chosen
    button = panel.findChild(QPushButton, "browse_log_dir")
    button.ensurePolished()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == ["Choose the folder for log_dir"]
    assert project.training["tensorboard"]["log_dir"] == chosen
    assert panel.editors[("tensorboard", "log_dir")].line_edit().text() == chosen
    stack = window.controller.undo_stack
    assert stack.undoText().startswith("Set log folder to") and chosen in stack.undoText()
    stack.undo()
    assert project.training.get("tensorboard", {}).get("log_dir", "") == ""

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if the extra were not installed
    box = panel.editors[("tensorboard", "enabled")].field
    box.click()
    assert project.training["tensorboard"]["enabled"] is True
    text = panel.problems_label.text()
    assert "Training cannot start" in text and 'pip install "layerloom[tensorboard]"' in text
    assert not training.train()  # refused before a worker starts
    panel.findChild(QScrollArea).ensureWidgetVisible(button)
    panel.grab().save(str(screenshots / "training_panel_tensorboard.png"))
