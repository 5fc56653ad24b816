"""Fixtures of the end-to-end tests: an offscreen main window with the training UI and real workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QApplication

from studio.app import create_application
from studio.main_window import MainWindow

SCREENSHOTS = Path(__file__).resolve().parents[1] / "_screenshots"


@pytest.fixture(scope="session")
def qapp_cls():
    return QApplication


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
def window(qapp, qtbot):
    create_application()
    w = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def studio(window, qtbot):
    """The window's training UI, starting real spawned workers."""
    ui = window.training
    ui.engine.load()
    qtbot.waitUntil(lambda: ui.engine.is_ready, timeout=120_000)
    yield ui
    ui.shutdown()
    QThreadPool.globalInstance().waitForDone(60_000)


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
