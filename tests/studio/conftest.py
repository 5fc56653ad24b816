"""Fixtures for the studio tests: isolated settings, a shown main window, and gesture helpers."""

from __future__ import annotations

import pytest
from qt_fixtures import app, isolated_settings, qapp_cls, window  # noqa: F401


def pytest_collection_modifyitems(items):
    """The offscreen platform warns that it cannot size, raise or grab for windows and popups: noise of
    the test platform, not faults of the studio."""
    for item in items:
        if "tests/studio" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(
                r"This plugin does not support (propagateSizeHints|raise|grabbing the keyboard)"))
