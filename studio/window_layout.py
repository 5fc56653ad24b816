"""The default workspace layout: the canvas gets most of the window, and every dock stays readable.

Used the first time the studio opens (no layout saved in QSettings yet) and by *View ▸ Reset Layout*:

- left column: the Layers palette over Problems and History (tabbed): what editing needs;
- right column: the Inspector (tabbed with Dataset and Training) over the pictures of a run;
- under the canvas only (the side columns own the bottom corners): the curves, Runs and the log.

`default_sizes(window)` sizes the columns and the bottom row in proportion to the window (clamped,
so a 1366×768 laptop and a 1920×1080 monitor both leave the canvas the largest region), and
`unelide_tabs(window)` makes the dock tab bars scroll instead of cutting titles to "Feat…".
Sizes only stick once the window is on screen, so callers apply them after the first show.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar


def _clamp(value: float, low: int, high: int) -> int:
    return int(max(low, min(high, value)))


def column_widths(width: int) -> tuple[int, int]:
    """(left, right) column widths for a window `width` pixels wide."""
    return _clamp(0.14 * width, 190, 260), _clamp(0.2 * width, 290, 400)


def bottom_height(height: int) -> int:
    return _clamp(0.22 * height, 170, 250)


def default_sizes(window: QMainWindow) -> None:
    """Column widths, the bottom row's height and the splits inside the columns, for this window size."""
    docks = window.docks
    training = getattr(getattr(window, "training", None), "docks", {})
    left, right = column_widths(window.width())
    window.resizeDocks([docks["palette"], docks["inspector"]], [left, right], Qt.Orientation.Horizontal)
    column = max(window.height() - 120, 300)
    window.resizeDocks([docks["palette"], docks["problems"]], [int(column * 0.62), int(column * 0.38)],
                       Qt.Orientation.Vertical)
    if "feature_maps" in training:
        window.resizeDocks([docks["inspector"], training["feature_maps"]], [int(column * 0.58), int(column * 0.42)],
                           Qt.Orientation.Vertical)
    if "loss" in training:
        window.resizeDocks([training["loss"]], [bottom_height(window.height())], Qt.Orientation.Vertical)
    unelide_tabs(window)


def unelide_tabs(window: QMainWindow) -> None:
    """Dock tab bars show whole titles and scroll when they run out of room.

    Qt can leave behind, shown, the tab bar of a group's earlier state while docks were being tabbed
    together (one saying "Loss, Metrics" in the middle of the palette); a bar that sits under no shown
    dock of its own is such a leftover, and is hidden (Qt shows the bars it uses again itself)."""
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
    for bar in window.findChildren(QTabBar):
        if bar.parent() is not window:
            continue
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
        if bar.isVisible() and not any(_owns(d.geometry(), bar.geometry()) for d in docks):
            bar.hide()


def _owns(dock: QRect, bar: QRect) -> bool:
    """Whether a tab bar at `bar` is the one under (or over) a dock at `dock`."""
    aligned = abs(dock.left() - bar.left()) <= 4 and abs(dock.width() - bar.width()) <= 8
    return aligned and (abs(dock.bottom() - bar.top()) <= 6 or abs(bar.bottom() - dock.top()) <= 6)
