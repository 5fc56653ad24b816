"""The sample chosen for an explanation: clicked in Sample Predictions or in the dataset preview.

`SampleSelection.select(split, index)` names one sample by its split and its index in that split
(`engine.explain.SampleRef`: Sample Predictions shows the first validation samples, the dataset
preview the first training samples) and emits `changed`; the Explain panel explains it and the
training UI asks a run under way to refresh its Grad-CAM each epoch. `clear()` forgets it (another
project was opened).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.explain import SampleRef


class SampleSelection(QObject):
    """Which sample is being explained (None: none yet)."""

    changed = Signal(object)  # SampleRef | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sample: SampleRef | None = None

    def select(self, split: str, index: int) -> None:
        sample = SampleRef(split, int(index))
        if sample != self.sample:
            self.sample = sample
        self.changed.emit(sample)  # a second click on the same sample shows the Explain panel again

    def clear(self) -> None:
        if self.sample is not None:
            self.sample = None
            self.changed.emit(None)
