"""Where the studio keeps its preferences (window geometry, dock layout, theme).

Settings are an INI file under the user's config folder, named by
`ORGANIZATION` and `APPLICATION`. Tests point them at a temporary folder with
`QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "Layerloom"
APPLICATION = "Layerloom Studio"


def make_settings() -> QSettings:
    """The studio's settings store."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
