"""The *Open Recent* list: the last ten projects opened or saved, kept in QSettings.

`RecentFiles(settings)` stores absolute paths under the ``recentFiles`` key, newest first, at
most `MAX_RECENT`; files that no longer exist are pruned whenever the list is read, so the menu
never offers a dead entry. `RecentMenu` rebuilds itself from the list each time it opens and
calls back with the chosen path; it never opens anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QWidget

MAX_RECENT = 10
KEY = "recentFiles"


class RecentFiles:
    """The recent-project list in a QSettings store."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def _stored(self) -> list[str]:
        value = self.settings.value(KEY, [])
        if isinstance(value, str):  # QSettings gives a lone entry back as a plain string
            value = [value]
        return [str(v) for v in value or [] if v]

    def _store(self, paths: list[str]) -> None:
        self.settings.setValue(KEY, paths)
        self.settings.sync()

    def paths(self) -> list[Path]:
        """The recent projects that still exist, newest first (missing ones are dropped for good)."""
        stored = self._stored()
        alive = [p for p in stored if Path(p).is_file()][:MAX_RECENT]
        if alive != stored:
            self._store(alive)
        return [Path(p) for p in alive]

    def add(self, path: str | Path) -> None:
        """Put `path` first (opening or saving it)."""
        entry = str(Path(path).resolve())
        rest = [p for p in self._stored() if p != entry]
        self._store([entry, *rest][:MAX_RECENT])

    def clear(self) -> None:
        self._store([])


def _label(index: int, path: Path) -> str:
    """``&1 lenet5.loom — /home/me/projects`` (the digit is the menu accelerator)."""
    accel = f"&{index + 1} " if index < 9 else "1&0 " if index == 9 else ""
    return f"{accel}{path.name.replace('&', '&&')}  —  {str(path.parent).replace('&', '&&')}"


class RecentMenu(QMenu):
    """File ▸ Open Recent, rebuilt from `RecentFiles` every time it opens."""

    def __init__(self, recent: RecentFiles, open_path: Callable[[Path], object], parent: QWidget | None = None) -> None:
        super().__init__("Open &Recent", parent)
        self.setObjectName("menu_recent")
        self.recent = recent
        self.open_path = open_path
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        paths = self.recent.paths()
        for i, path in enumerate(paths):
            action = self.addAction(_label(i, path))
            action.setToolTip(str(path))
            action.setData(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not paths:
            empty = self.addAction("No recent projects")
            empty.setEnabled(False)
        self.addSeparator()
        clear = self.addAction("&Clear Recent")
        clear.setObjectName("action_clear_recent")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self._clear)

    def _clear(self) -> None:
        self.recent.clear()
        self.rebuild()

    def path_actions(self) -> list:
        """The actions that open a project (tests and the File menu's state use this)."""
        return [a for a in self.actions() if a.data()]
