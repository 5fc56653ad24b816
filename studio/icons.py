"""Toolbar and menu icons: small line-art SVGs from ``resources/icons``, tinted per theme.

The SVGs draw with ``currentColor``; `action_icon(name, color)` substitutes the
theme's text colour and renders them crisp at the usual sizes. A missing file
gives an empty icon, never an error.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from engine.resources import RESOURCES

ICONS = RESOURCES / "icons"


@lru_cache(maxsize=128)
def action_icon(name: str, color: str) -> QIcon:
    """The icon `name` (file stem in resources/icons) drawn in `color`."""
    path = ICONS / f"{name}.svg"
    icon = QIcon()
    if not path.exists():
        return icon
    data = path.read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(data.encode("utf-8")))
    for size in (16, 20, 24, 32, 48):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(pixmap)
    return icon
