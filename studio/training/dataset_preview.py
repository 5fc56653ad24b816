"""Loading a dataset for its preview on a worker thread, never on the GUI thread.

`DatasetPreviewer.request(config_json, base_dir)` starts `load_dataset` + `sample_grid` in the
thread pool and emits `loaded(PreviewResult)` or `failed(message)` on the GUI thread; a newer
request makes older results stale (they are dropped). The result holds the `DatasetSummary`,
up to 16 sample images (uint8 N×H×W×C) or, for two-feature inputs, the first points with their
classes, and the labels. `summary_for(config)` gives the last good summary when it belongs to
that dataset section, for the checks of the Training panel and the Train action.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Signal, SignalInstance

from engine.data.config import DatasetSummary
from studio.training.pool import training_pool

SAMPLES = 16
POINTS = 600


@dataclass
class PreviewResult:
    """What the Dataset panel shows."""

    summary: DatasetSummary
    images: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # the dataset section it was loaded from
    points: np.ndarray | None = None  # (N, 2) float32
    point_classes: np.ndarray | None = None  # (N,) int64 (classification) or float32 targets
    thread: str = ""


def load_preview(config_json: dict[str, Any], base_dir: Path | None) -> PreviewResult:
    """Load the dataset and pick what the preview shows (runs on a worker thread)."""
    from engine.data import DatasetConfig, load_dataset, sample_grid

    splits = load_dataset(DatasetConfig.from_json(config_json), base_dir)
    images, labels = sample_grid(splits, SAMPLES)
    result = PreviewResult(splits.summary, images, labels, dict(config_json), thread=threading.current_thread().name)
    x, y = splits.train
    if images is None and x.dim() == 2 and x.shape[1] == 2 and x.is_floating_point():
        result.points = x[:POINTS].numpy().astype(np.float32)
        result.point_classes = y[:POINTS].reshape(len(y[:POINTS]), -1)[:, 0].numpy()
    return result


class _Signals(QObject):
    loaded = Signal(int, object)
    failed = Signal(int, str)


class _PreviewJob(QRunnable):
    def __init__(self, generation: int, config: dict[str, Any], base_dir: Path | None, signals: _Signals) -> None:
        super().__init__()
        self.generation, self.config, self.base_dir, self.signals = generation, config, base_dir, signals

    def run(self) -> None:
        from engine.data import DatasetError

        try:
            result = load_preview(self.config, self.base_dir)
        except DatasetError as exc:
            self._emit(self.signals.failed, str(exc))
            return
        except Exception as exc:  # a bug in a loader: say so, never take the studio down
            self._emit(self.signals.failed, f"the dataset could not be loaded: {exc!r}")
            return
        self._emit(self.signals.loaded, result)

    def _emit(self, signal: SignalInstance, payload: PreviewResult | str) -> None:
        with contextlib.suppress(RuntimeError):  # the previewer is gone (the window closed while loading)
            signal.emit(self.generation, payload)


class DatasetPreviewer(QObject):
    """Dataset previews, loaded off the GUI thread, newest request wins."""

    loading = Signal()
    loaded = Signal(object)  # PreviewResult
    failed = Signal(str)
    wanted_now = Signal()  # previews are wanted from now on (a panel that shows them came into view)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.summary: DatasetSummary | None = None
        self.result: PreviewResult | None = None
        self.error = ""
        self.busy = False
        self._config: dict[str, Any] | None = None  # the section of the newest request
        self.wanted = False  # previews load data, and so torch: not before a panel that shows them is seen
        self._generation = 0
        self._signals = _Signals(self)
        self._signals.loaded.connect(self._loaded)
        self._signals.failed.connect(self._failed)

    def want(self) -> None:
        """From now on keep a preview of the project's dataset (the Dataset or Training panel is seen, or
        Train was pressed); an editing session that never looks at them never loads data."""
        if not self.wanted:
            self.wanted = True
            self.wanted_now.emit()

    def request(self, config_json: dict[str, Any], base_dir: Path | None) -> None:
        """Load `config_json` for a preview, on the training pool."""
        self._generation += 1
        self.busy = True
        self._config = dict(config_json)
        self.loading.emit()
        training_pool().start(_PreviewJob(self._generation, dict(config_json), base_dir, self._signals))

    def summary_for(self, config_json: dict[str, Any]) -> DatasetSummary | None:
        """The last summary if it was loaded from exactly `config_json` (else None: it would mislead)."""
        if self.result is not None and not self.busy and self.result.config == config_json:
            return self.summary
        return None

    def error_for(self, config_json: dict[str, Any]) -> str:
        """Why `config_json` could not be loaded, when its newest preview failed (else "")."""
        return self.error if not self.busy and self._config == config_json else ""

    def forget(self) -> None:
        """Drop the current preview (another project, or no dataset)."""
        self._generation += 1
        self.summary, self.result, self.error, self.busy, self._config = None, None, "", False, None

    def _loaded(self, generation: int, result: PreviewResult) -> None:
        if generation == self._generation:
            self.busy, self.error = False, ""
            self.summary, self.result = result.summary, result
            self.loaded.emit(result)

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.busy, self.error = False, message
            self.summary, self.result = None, None
            self.failed.emit(message)
