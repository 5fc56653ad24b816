"""Light and dark themes: a QPalette, a QSS stylesheet and the canvas colours.

`apply_theme(app, name)` sets the Fusion style, a palette and the stylesheet
from ``resources/styles/<name>.qss`` on the application and returns the
`Theme`, whose `canvas` colours the scene hands to its items (the canvas paints
itself, so the stylesheet cannot reach it). Themes are data; the choice is
remembered by the main window in QSettings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from engine.resources import RESOURCES

STYLES = RESOURCES / "styles"
DEFAULT_THEME = "light"


@dataclass(frozen=True)
class CanvasColors:
    """Every colour the canvas paints with."""

    background: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_header: str
    text: str
    text_muted: str
    selection: str
    wire: str
    wire_selected: str
    label_bg: str
    label_text: str
    port_float: str
    port_int: str
    valid: str
    invalid: str
    error: str
    warning: str
    minimap_bg: str
    minimap_node: str
    minimap_view: str


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    button: str
    highlight: str
    highlight_text: str
    canvas: CanvasColors

    def color(self, field: str) -> QColor:
        return QColor(getattr(self, field))


LIGHT = Theme(
    name="light", title="Light", window="#f3f4f6", base="#ffffff", alternate="#f7f8fa", text="#1f2328",
    muted="#6b7280", button="#ffffff", highlight="#2563eb", highlight_text="#ffffff",
    canvas=CanvasColors(
        background="#eef0f3", grid_minor="#e6e9ed", grid_major="#dadee4", node_body="#ffffff",
        node_border="#c5cad3", node_header="#f6f7f9", text="#1f2328", text_muted="#6b7280",
        selection="#2563eb", wire="#8a94a6", wire_selected="#2563eb", label_bg="#ffffff",
        label_text="#374151", port_float="#3b82f6", port_int="#d97706", valid="#16a34a",
        invalid="#dc2626", error="#dc2626", warning="#d97706", minimap_bg="#f8f9fb",
        minimap_node="#9aa3b2", minimap_view="#2563eb",
    ),
)

DARK = Theme(
    name="dark", title="Dark", window="#1e2127", base="#16181d", alternate="#1b1e23", text="#e5e7eb",
    muted="#9aa3b2", button="#2a2e36", highlight="#3b82f6", highlight_text="#ffffff",
    canvas=CanvasColors(
        background="#1a1d22", grid_minor="#1d2025", grid_major="#23272e", node_body="#262a32",
        node_border="#3a404b", node_header="#2e333c", text="#e5e7eb", text_muted="#9aa3b2",
        selection="#60a5fa", wire="#6b7385", wire_selected="#60a5fa", label_bg="#2a2e36",
        label_text="#d1d5db", port_float="#60a5fa", port_int="#f59e0b", valid="#22c55e",
        invalid="#ef4444", error="#ef4444", warning="#f59e0b", minimap_bg="#16181d",
        minimap_node="#5b6373", minimap_view="#60a5fa",
    ),
)

THEMES: dict[str, Theme] = {t.name: t for t in (LIGHT, DARK)}


def theme(name: str) -> Theme:
    """The theme called `name`, or the default one for an unknown name."""
    return THEMES.get(name, THEMES[DEFAULT_THEME])


def palette_for(t: Theme) -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.base, QPalette.ColorRole.AlternateBase: t.alternate,
        QPalette.ColorRole.Text: t.text, QPalette.ColorRole.Button: t.button,
        QPalette.ColorRole.ButtonText: t.text, QPalette.ColorRole.Highlight: t.highlight,
        QPalette.ColorRole.HighlightedText: t.highlight_text, QPalette.ColorRole.ToolTipBase: t.base,
        QPalette.ColorRole.ToolTipText: t.text, QPalette.ColorRole.PlaceholderText: t.muted,
        QPalette.ColorRole.Link: t.highlight, QPalette.ColorRole.Mid: t.canvas.node_border,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(t.muted))
    return pal


def stylesheet(t: Theme) -> str:
    """The theme's QSS, with ``@ICONS@`` pointing at the bundled icons."""
    path = Path(STYLES / f"{t.name}.qss")
    if not path.exists():
        return ""
    return path.read_text(encoding="utf-8").replace("@ICONS@", (RESOURCES / "icons").as_posix())


def apply_theme(app: QApplication, name: str) -> Theme:
    """Style the whole application with the theme `name`; returns it."""
    t = theme(name)
    if app.property("layerloom_theme") == t.name:
        return t  # restyling every widget is costly: skip it when nothing changes
    app.setStyle("Fusion")
    app.setPalette(palette_for(t))
    app.setStyleSheet(stylesheet(t))
    app.setProperty("layerloom_theme", t.name)
    return t
