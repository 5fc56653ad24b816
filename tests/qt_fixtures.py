"""Qt fixtures shared by the studio and end-to-end tests: isolated settings, a shown main window and
the folder screenshots are saved to.

Imported by ``tests/studio/conftest.py`` and ``tests/e2e/conftest.py``; the root conftest stays
Qt-free so the engine tests run without Qt.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from studio.app import create_application
from studio.main_window import MainWindow


@pytest.fixture(scope="session")
def qapp_cls():
    return QApplication


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Point QSettings at a fresh folder so tests never read or write the user's preferences."""
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


SCREENSHOTS_ENV = "LAYERLOOM_SCREENSHOTS"


@pytest.fixture(scope="session")
def screenshots(request) -> Path:
    """Where tests save screenshots for a person to look at: ``build/screenshots/`` under the project
    (git-ignored, outside the sources), or the folder named by ``$LAYERLOOM_SCREENSHOTS``."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or request.config.rootpath / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def app(qapp):
    return create_application()


@pytest.fixture
def window(app, qtbot):
    """A shown main window (with its training UI) and nothing open yet."""
    w = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_theme("light", remember=False)
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
