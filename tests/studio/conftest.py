"""Fixtures for the studio tests: isolated settings, a shown main window, and gesture helpers."""

from __future__ import annotations

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


@pytest.fixture
def app(qapp):
    return create_application()


@pytest.fixture
def window(app, qtbot):
    """A shown main window with nothing open yet."""
    w = MainWindow(prompt_unsaved=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_theme("light", remember=False)
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def pytest_collection_modifyitems(items):
    """The offscreen platform warns that it cannot size, raise or grab for windows and popups: noise of
    the test platform, not faults of the studio."""
    for item in items:
        if "tests/studio" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(
                r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)"))
