"""Fixtures for the studio tests: isolated settings, a shown main window, a screenshot folder."""

from __future__ import annotations

from qt_fixtures import app, isolated_settings, qapp_cls, screenshots, window  # noqa: F401
