"""Autosave and recovery: unsaved work is copied to a recovery file while it changes, offered again after a
crash (a studio process killed with SIGKILL), and removed after a normal save or close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from studio_dialogs import answer_dialog, click
from studio_networks import small_net

from engine.project import load_project, project_json_bytes, save_project
from studio.app import open_initial
from studio.files.autosave import INTERVAL_ENV
from studio.files.recovery import orphaned_slots
from studio.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("crash_driver.py")


@pytest.fixture
def quick_autosave(monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0.3")


def shown_window(qtbot) -> MainWindow:
    w = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_unsaved_changes_are_autosaved_and_forgotten_after_save_and_close(quick_autosave, app, qtbot, tmp_path):
    path = save_project(small_net(), tmp_path / "net.loom")
    window = shown_window(qtbot)
    assert window.files.autosaver.interval_ms == 300
    assert window.open_path(path)
    slot, saver = window.files.slot, window.files.autosaver
    assert not slot.project_file.exists()  # nothing unsaved, nothing written
    window.controller.add_node("ReLU", (0.0, 400.0))
    qtbot.waitUntil(lambda: saver.writes == 1, timeout=10_000)
    assert project_json_bytes(load_project(slot.project_file)) == project_json_bytes(window.controller.project)
    assert slot.meta["path"] == str(path) and slot.meta["name"] == window.controller.project.name
    qtbot.wait(1000)  # three intervals without a change: no more writes
    assert saver.writes == 1
    window.controller.set_param(window.controller.doc.node_by_name("fc1").id, "out_features", 7)
    qtbot.waitUntil(lambda: saver.writes == 2, timeout=10_000)
    assert load_project(slot.project_file).network.node_by_name("fc1").params["out_features"] == 7
    assert window.save()
    assert not slot.project_file.exists() and not slot.meta_file.exists()
    # undoing back to the saved state also leaves nothing to recover
    window.controller.add_node("ReLU", (0.0, 600.0))
    qtbot.waitUntil(lambda: slot.project_file.exists(), timeout=10_000)
    window.controller.undo_stack.undo()
    assert not slot.project_file.exists()
    window.controller.add_node("ReLU", (0.0, 600.0))
    qtbot.waitUntil(lambda: slot.project_file.exists(), timeout=10_000)
    lock = slot.folder / f"{slot.session}.lock"
    assert lock.exists()
    window.close()  # not asked in tests: the changes are knowingly dropped
    assert not slot.project_file.exists() and not slot.meta_file.exists() and not lock.exists()
    assert orphaned_slots(slot.folder) == []


def _start_crashing_studio(project: Path, dump: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), **{INTERVAL_ENV: "0.5"})
    with open(log, "wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, str(DRIVER), str(project), str(dump)], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def _wait_for(condition, process: subprocess.Popen, log: Path, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds  # a guard against a hung child, not a speed check
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the studio exited early: {log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the studio never autosaved")
        time.sleep(0.1)


def test_after_a_crash_the_next_start_offers_the_document_as_it_was_on_screen(app, qtbot, tmp_path,
                                                                                isolated_settings):
    project = save_project(small_net(), tmp_path / "work.loom")
    dump = tmp_path / "on_screen.json"
    log = tmp_path / "studio.log"
    studio = _start_crashing_studio(project, dump, log)
    try:
        _wait_for(dump.exists, studio, log)  # written after the recovery file and its description
    finally:
        studio.send_signal(signal.SIGKILL)
        studio.wait(30)
    assert studio.returncode == -signal.SIGKILL
    on_screen = dump.read_bytes()
    assert load_project(project).network.node_by_name("classifier") is None  # the edits were never saved

    # First restart: "Not Now" keeps the document for later and opens what was asked for
    later = shown_window(qtbot)
    shown = answer_dialog(qtbot, "recoveryDialog", lambda d: click(qtbot, d.later_button))
    open_initial(later, str(project))
    assert shown == ["recoveryDialog"]
    assert later.controller.doc.node_by_name("classifier") is None and not later.isWindowModified()
    later.close()

    # Second restart: Recover gives back exactly what was on screen, marked unsaved, saving to its own file
    window = shown_window(qtbot)
    offered = []

    def recover(dialog):
        offered.append(dialog.list.item(0).text())
        click(qtbot, dialog.recover_button)

    answer_dialog(qtbot, "recoveryDialog", recover)
    open_initial(window, None)
    assert offered and "work.loom" in offered[0] and "autosaved" in offered[0]
    assert project_json_bytes(window.controller.project) == on_screen
    assert window.controller.path == project
    assert window.isWindowModified() and window.windowHandle().title() == "work.loom* — Layerloom"
    slot = window.files.slot
    assert slot.project_file.exists()  # adopted: it stays until the document is saved
    assert window.save()
    assert load_project(project).network.node_by_name("classifier") is not None
    assert not slot.project_file.exists()
    window.close()
    assert list(slot.folder.glob("*.loom")) == [] and list(slot.folder.glob("*.json")) == []


def test_discard_all_removes_what_a_dead_session_left(app, qtbot, tmp_path):
    from studio.files.recovery import RecoverySlot, recovery_dir

    left = RecoverySlot.create(recovery_dir())
    save_project(small_net(), left.project_file, keep_backup=False)
    left.write_meta("small", None)
    left.lock.unlock()  # its owner is gone (as after a kill): the files stay, nobody holds the lock
    window = shown_window(qtbot)
    shown = answer_dialog(qtbot, "recoveryDialog", lambda d: click(qtbot, d.discard_button))
    assert not window.files.offer_recovery()
    assert shown == ["recoveryDialog"]
    assert not left.project_file.exists() and not left.meta_file.exists()
    assert orphaned_slots(left.folder) == []
    assert not window.files.offer_recovery()  # nothing is offered twice
