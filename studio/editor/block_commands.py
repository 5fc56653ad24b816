"""Undo commands for the block operations: one `QUndoCommand` per engine `Step`.

The engine's hierarchy operations (`engine.graph.hierarchy`: group, ungroup, make
unique, place, add a definition, ...) apply themselves and return a `Step` that
holds the network's saved form before and after. `StepCommand` puts that step on
the undo stack: its first `redo` (which `QUndoStack.push` calls) does nothing,
because the operation has already run; later redos and undos apply the saved
forms, which restores the network and its block library exactly. Like every
command, it never touches the scene or a widget: the canvas follows the
document's events.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from engine.graph.hierarchy import Step


class StepCommand(QUndoCommand):
    """One reversible block operation, already applied when pushed."""

    def __init__(self, step: Step, text: str | None = None) -> None:
        super().__init__()
        self.step = step
        self._applied = True
        self.setText(text or step.text)

    def redo(self) -> None:
        if self._applied:  # pushing calls redo once: the operation already ran
            self._applied = False
            return
        self.step.redo()

    def undo(self) -> None:
        self.step.undo()
