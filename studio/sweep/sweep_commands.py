"""The undo command for a project's sweep settings: what varies, the metric, pruner, trials and workers.

The engine keeps the sweep configuration as the project member ``sweep/config.json``
(`engine.sweep.space.write_config`); how many worker processes run trials at once is a choice of
this machine as much as of the project, so it is kept beside it in the project's ``ui`` section
(``ui["sweep"]["workers"]``). `SetSweepCommand` replaces both and puts them back on undo, so a
range edited in the Sweep panel marks the project unsaved and Ctrl+Z takes it back like any edit.
Edits of one field's typing session merge into one step, as the Training panel's do.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.project import Project
from engine.sweep.space import CONFIG_MEMBER, SweepConfig

SWEEP_COMMAND_ID = 2101
UI_KEY = "sweep"
DEFAULT_WORKERS = 1
MAX_WORKERS = 64


def workers_of(project: Project) -> int:
    """The stored number of trial workers (1 when none is stored or the stored value is not sensible)."""
    value = project.ui.get(UI_KEY, {}).get("workers") if isinstance(project.ui.get(UI_KEY), dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_WORKERS:
        return value
    return DEFAULT_WORKERS


class SetSweepCommand(QUndoCommand):
    """Replace the project's sweep configuration (and the number of workers)."""

    def __init__(self, project: Project, config: SweepConfig | None, workers: int, text: str,
                 session: int | None = None) -> None:
        super().__init__(text)
        self.project, self.session = project, session
        self.old = (project.attachments.get(CONFIG_MEMBER), copy.deepcopy(project.ui.get(UI_KEY)))
        ui = dict(project.ui.get(UI_KEY) or {}) if isinstance(project.ui.get(UI_KEY), dict) else {}
        ui["workers"] = workers
        self.new = (None if config is None else config.to_bytes(), ui)

    def _apply(self, state: tuple[bytes | None, Any]) -> None:
        raw, ui = state
        if raw is None:
            self.project.attachments.pop(CONFIG_MEMBER, None)
        else:
            self.project.attachments[CONFIG_MEMBER] = raw
        if ui is None:
            self.project.ui.pop(UI_KEY, None)
        else:
            self.project.ui[UI_KEY] = copy.deepcopy(ui)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)

    def id(self) -> int:
        return SWEEP_COMMAND_ID if self.session is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSweepCommand) or other.session != self.session \
                or other.project is not self.project:
            return False
        self.new = other.new
        self.setText(other.text())
        return True
