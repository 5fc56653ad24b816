"""Fixtures of the end-to-end tests: an offscreen main window with the training UI and real workers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThreadPool
from qt_fixtures import app, isolated_settings, qapp_cls, screenshots, window  # noqa: F401


@pytest.fixture
def studio(window, qtbot):
    """The window's training UI, starting real spawned workers."""
    ui = window.training
    ui.preview.want()  # as when a person opens the Dataset or Training panel
    yield ui
    ui.shutdown()
    QThreadPool.globalInstance().waitForDone(60_000)
