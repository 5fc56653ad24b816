"""Storing a finished run in the project: its files as the worker wrote them, attached on the GUI thread.

The run controller reads a finished run's files as bytes on a pool thread (`RunClient.run_files`);
`RunSaver.attach(project, run_id, files)` then stores them in the project's attachments with
`engine.runs.attach_run_files` (a dict update: nothing is decoded or re-encoded) and emits
`saved(run_id)`. `expect(run_id)` counts a run whose files are on their way (`pending`), so tests
and the window know when the project is complete. The project is only ever changed on the GUI
thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.project import Project
from engine.runs import RunError, attach_run_files


class RunSaver(QObject):
    """Adds finished runs to their project."""

    saved = Signal(str)  # run id
    failed = Signal(str, str)  # run id, reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._expected: dict[str, Project] = {}

    @property
    def pending(self) -> int:
        """Runs whose files have not arrived yet."""
        return len(self._expected)

    def expect(self, project: Project, run_id: str) -> None:
        """A run of `project` finished with weights: its files will come through `attach`."""
        self._expected[run_id] = project

    def attach(self, run_id: str, files: dict[str, bytes]) -> None:
        """Store the files of an expected run in its project (replacing a run of that id)."""
        project = self._expected.pop(run_id, None)
        if project is None:
            return
        try:
            attach_run_files(project, run_id, files)
        except RunError as exc:
            self.failed.emit(run_id, str(exc))
            return
        self.saved.emit(run_id)

    def give_up(self, run_id: str, reason: str) -> None:
        """The files of an expected run could not be read."""
        if self._expected.pop(run_id, None) is not None:
            self.failed.emit(run_id, reason)
