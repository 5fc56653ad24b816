"""Undo commands for the parts of a project that are not the network: dataset, training settings, runs.

`SetSectionCommand` replaces ``project.dataset`` or ``project.training`` with a new dict; edits of
one spin-box session merge into one step, like the inspector's parameter edits.
`DeleteRunCommand` removes a run's files from the project's attachments and puts them back on
undo. Like the editor's commands they only change the project; panels follow through the undo
stack's ``indexChanged``.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.project import Project
from engine.runs import delete_run

SECTION_IDS = {"dataset": 2001, "training": 2002}
RUNS = "runs/"


class SetSectionCommand(QUndoCommand):
    """Replace the project's dataset or training section (one undo step per editing session)."""

    def __init__(self, project: Project, section: str, new: dict[str, Any], text: str,
                 session: int | None = None) -> None:
        super().__init__(text)
        if section not in SECTION_IDS:
            raise ValueError(f"unknown project section {section!r}")
        self.project, self.section, self.session = project, section, session
        self.old = copy.deepcopy(getattr(project, section))
        self.new = copy.deepcopy(new)

    def redo(self) -> None:
        setattr(self.project, self.section, copy.deepcopy(self.new))

    def undo(self) -> None:
        setattr(self.project, self.section, copy.deepcopy(self.old))

    def id(self) -> int:
        return SECTION_IDS[self.section] if self.session is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetSectionCommand) or other.session != self.session \
                or other.section != self.section or other.project is not self.project:
            return False
        self.new = copy.deepcopy(other.new)
        self.setText(other.text())
        return True


class DeleteRunCommand(QUndoCommand):
    """Remove one run (all its files) from the project."""

    def __init__(self, project: Project, run_id: str) -> None:
        super().__init__(f"Delete run {run_id}")
        self.project, self.run_id = project, run_id
        prefix = f"{RUNS}{run_id}/"
        self.files = {n: d for n, d in project.attachments.items() if n.startswith(prefix)}

    def redo(self) -> None:

        delete_run(self.project, self.run_id, missing_ok=True)

    def undo(self) -> None:
        self.project.attachments.update(self.files)
