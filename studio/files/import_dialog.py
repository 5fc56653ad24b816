"""File ▸ Import Model…: a PyTorch model, a torch.export program or an ONNX file as a new project.

The dialog takes a source (a ``.py``, ``.pt2`` or ``.onnx`` file chosen with
*Browse…*, or ``package.module:NAME`` / ``torchvision:NAME`` typed in), the
input shape, keyword arguments and an optional weights file, and runs
`engine.importing.sources.import_source` on a worker thread while a busy bar
moves, so the window never freezes. The import report is shown in the dialog:
when something could not be mapped it stays open with the report; when the
import succeeds `imported` is emitted with the new project (its weights as the
initial weights) and the dialog closes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

SOURCE_FILTER = "Models (*.py *.pt2 *.onnx);;Python (*.py);;torch.export programs (*.pt2);;ONNX (*.onnx)"
WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth *.bin *.ckpt)"


class ImportJob(QObject):
    """Runs one import on a worker thread; emits the result or the text that explains the failure."""

    succeeded = Signal(object, str)  # ImportResult, report text
    failed = Signal(str)

    def __init__(self, source: str, kwargs: dict[str, Any], shapes: list[tuple[int, ...]] | None,
                 weights: str | None) -> None:
        super().__init__()
        self.args = (source, kwargs, shapes, weights)

    def run(self) -> None:
        from engine.importing.report import ImportFailed
        from engine.importing.sources import SourceError, import_source
        from engine.importing.weights import WeightsError

        source, kwargs, shapes, weights = self.args
        try:
            result = import_source(source, kwargs, shapes, weights)
        except ImportFailed as exc:
            self.failed.emit(exc.report.text())
        except (SourceError, WeightsError, OSError, ValueError) as exc:
            self.failed.emit(f"Cannot import {source}: {exc}")
        except Exception as exc:  # the user's model code can raise anything: say so, never crash
            self.failed.emit(f"Importing {source} failed: {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result, result.report.text())


class ImportDialog(QDialog):
    """The Import Model dialog; `imported(project)` is emitted once an import succeeded."""

    imported = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Model")
        self.setObjectName("importDialog")
        self.thread: QThread | None = None
        self.job: ImportJob | None = None
        self.source = QLineEdit(placeholderText="torchvision:resnet18, package.module:Net, model.py:Net, "
                                                "program.pt2 or model.onnx")
        self.shape = QLineEdit(placeholderText="e.g. 3,224,224 (without the batch; torchvision knows its own)")
        self.arguments = QLineEdit(placeholderText="e.g. num_classes=10, width=32")
        self.weights = QLineEdit(placeholderText="optional: .safetensors or a state dict (.pt/.pth)")
        form = QFormLayout()
        form.addRow("Source", self._with_browse(self.source, self._browse_source))
        form.addRow("Input shape", self.shape)
        form.addRow("Arguments", self.arguments)
        form.addRow("Weights", self._with_browse(self.weights, self._browse_weights))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: tracing has no honest percentage
        self.progress.setVisible(False)
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setObjectName("importReport")
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The import report appears here.")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)
        self.resize(760, 460)

    def _with_browse(self, field: QLineEdit, browse: Any) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(browse)
        layout.addWidget(button)
        return row

    def _browse_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "", SOURCE_FILTER)
        if path:
            # a Python file still needs the name of the class or factory in it
            self.source.setText(f"{path}:" if path.endswith(".py") else path)
            self.source.setFocus()

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights to import", "", WEIGHTS_FILTER)
        if path:
            self.weights.setText(path)

    # ---- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self) -> None:
        """Check the fields, then import on a worker thread."""
        from engine.importing.cli import parse_shape
        from engine.importing.sources import parse_kwargs

        source = self.source.text().strip()
        if not source or self.running:
            self.report.setPlainText("Name a model to import." if not source else self.report.toPlainText())
            return
        try:
            shapes = [parse_shape(self.shape.text())] if self.shape.text().strip() else None
            items = [a.strip() for a in self.arguments.text().split(",") if a.strip()]
            kwargs = parse_kwargs(items)
        except ValueError as exc:
            self.report.setPlainText(str(exc))
            return
        self._set_busy(True)
        self.report.setPlainText(f"Importing {source}…")
        self.thread = QThread(self)
        self.job = ImportJob(source, kwargs, shapes, self.weights.text().strip() or None)
        self.job.moveToThread(self.thread)
        self.thread.started.connect(self.job.run)
        self.job.succeeded.connect(self._succeeded)
        self.job.failed.connect(self._failed)
        self.thread.start()

    def _finish(self) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
            self.thread.deleteLater()
        if self.job is not None:
            self.job.deleteLater()
        self.thread, self.job = None, None
        self._set_busy(False)

    def _succeeded(self, result: Any, text: str) -> None:
        from engine.importing.sources import project_from_import

        self._finish()
        self.report.setPlainText(text)
        name = Path(self.source.text().strip().split(":")[-1] or "imported").stem or "imported"
        self.imported.emit(project_from_import(result, name))
        self.accept()

    def _failed(self, text: str) -> None:
        self._finish()
        self.report.setPlainText(text)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        for widget in (self.source, self.shape, self.arguments, self.weights, self.import_button):
            widget.setEnabled(not busy)

    def reject(self) -> None:
        if self.running:  # an import cannot be interrupted halfway; let it end first
            return
        super().reject()
