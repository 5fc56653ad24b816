"""Run ▸ Export Network…: write the trained network as ONNX, .pt2, safetensors or PyTorch code.

`ExportAction` asks where to write (the file's suffix picks the format), snapshots the network
and the chosen run's weights on the GUI thread (the run selected in the Runs panel, else the
newest run, else freshly initialised weights, which it says), and runs `engine.export.
export_network` on the training thread pool: the export builds, writes and checks the file
against the network (onnxruntime for ONNX), which takes seconds and imports torch. The result,
or the reason it failed, comes back to the status bar and the log; a failure also shows the
error banner. The editor never waits for it.

Run ▸ Export Part… exports one part of the network alone, as the project's training recipe has them
(a GAN's generator or discriminator, an autoencoder's encoder or decoder: `engine.export.parts`),
with that part's weights, checked the same way.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog

from engine.project import Project
from engine.project_zip import INITIAL_WEIGHTS_MEMBER
from studio.training.pool import training_pool

if TYPE_CHECKING:  # the training UI owns this action; a run-time import would be circular
    from studio.training.training_ui import TrainingUi

FORMATS = {".onnx": "onnx", ".pt2": "pt2", ".safetensors": "safetensors", ".py": "code"}
FILTERS = "ONNX (*.onnx);;torch.export program (*.pt2);;safetensors weights (*.safetensors);;PyTorch code (*.py)"


def weights_description(run_id: str | None, project: Project | None = None) -> str:
    """Whose weights an export writes, in the words the dialog, the log and the report use."""
    if run_id:
        return f"the best weights of run '{run_id}'"
    if project is not None and INITIAL_WEIGHTS_MEMBER in project.attachments:
        return "the project's initial (imported) weights (no run yet)"
    return "freshly initialised weights (no run yet)"


class _Signals(QObject):
    done = Signal(str)  # the report's line
    failed = Signal(str)  # the reason


class _ExportJob(QRunnable):
    def __init__(self, network: dict[str, Any], project: Project, run_id: str | None, fmt: str, path: Path,
                 signals: _Signals, part: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.network, self.project, self.run_id, self.fmt, self.path = network, project, run_id, fmt, path
        self.signals = signals
        self.part = part  # (recipe, part) to export one part alone

    def run(self) -> None:
        try:
            from engine.export import export_network
            from engine.graph.serialize import document_from_data
            from engine.runs import load_run_weights

            network = document_from_data(self.network)
            weights = load_run_weights(self.project, self.run_id) if self.run_id else None
            if weights is None:  # no run: the project's initial (imported) weights, where it has them
                from engine.train.fine_tune import initial_state

                start = initial_state(network, self.project.attachments)
                weights = start[0] if start is not None else None
            source = weights_description(self.run_id, self.project)
            if self.part is not None:
                from engine.export.parts import export_part

                report = export_part(network, *self.part, self.fmt, self.path, weights, weights_from=source)
            else:
                report = export_network(network, self.fmt, self.path, weights, weights_from=source)
        except Exception as exc:  # every failure is reported, never silent
            with contextlib.suppress(RuntimeError):  # the window closed meanwhile
                self.signals.failed.emit(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
            return
        with contextlib.suppress(RuntimeError):
            self.signals.done.emit(report.line())


class ExportAction(QObject):
    """The Export Network… action and the exports it starts."""

    def __init__(self, ui: TrainingUi) -> None:
        super().__init__(ui)
        self.ui = ui
        self.pending = 0
        self.action = QAction("&Export Network…", ui.window)
        self.action.setObjectName("action_export")
        self.action.setShortcut("Ctrl+E")
        self.action.setStatusTip("Export the network with a run's weights (ONNX, torch.export, safetensors, code)")
        self.action.triggered.connect(self.ask_and_export)
        self.part_action = QAction("Export &Part…", ui.window)
        self.part_action.setObjectName("action_export_part")
        self.part_action.setStatusTip("Export one part of the network alone: a GAN's generator or discriminator, "
                                      "an autoencoder's encoder or decoder")
        self.part_action.triggered.connect(self.ask_and_export_part)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._signals.failed.connect(self._failed)

    def ask_and_export(self) -> None:
        project = self.ui.workspace.project
        if project is None:
            return
        start = str(Path(self.ui.workspace.path or project.name).with_suffix(".onnx"))
        # the caption says whose weights go out before the user picks a file, not only afterwards
        caption = f"Export Network with {weights_description(self._run_to_export(project), project)}"
        path, _ = QFileDialog.getSaveFileName(self.ui.window, caption, start, FILTERS)
        if path:
            self.export(Path(path))

    def parts(self) -> tuple[str, ...]:
        """The parts of the open network that export alone under the project's recipe."""
        from engine.graph.analysis import analyze
        from engine.train.preflight import recipe_kind
        from engine.train.recipes.structure import available_parts

        project = self.ui.workspace.project
        if project is None:
            return ()
        analysis = analyze(project.network)
        return available_parts(project.network, analysis, recipe_kind(project.training)) if analysis.ok else ()

    def ask_and_export_part(self) -> None:
        project = self.ui.workspace.project
        if project is None:
            return
        parts = self.parts()
        if not parts:
            self.ui.show_error("No part to export", "only a network trained with the autoencoder, vae or gan recipe "
                               "has parts (encoder and decoder, generator and discriminator), and it must be valid")
            return
        part, ok = QInputDialog.getItem(self.ui.window, "Export Part", "Export alone:", list(parts), 0, False)
        if not ok:
            return
        stem = Path(self.ui.workspace.path or project.name).with_suffix("")
        start = str(stem.with_name(f"{stem.name}_{part}.onnx"))
        caption = f"Export the {part} with {weights_description(self._run_to_export(project))}"
        path, _ = QFileDialog.getSaveFileName(self.ui.window, caption, start, FILTERS)
        if path:
            self.export(Path(path), part)

    def export(self, path: Path, part: str | None = None) -> bool:
        """Start exporting to `path` (its suffix picks the format), the whole network or one `part`; False when
        it cannot start."""
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            self.ui.show_error("Cannot export", f"{path.name}: choose a name ending in {', '.join(FORMATS)}")
            return False
        project = self.ui.workspace.project
        from engine.graph.serialize import document_to_data  # Qt-free and light: no torch here

        run_id = self._run_to_export(project)
        what = f"the {part}" if part else fmt
        self.ui.log(f"exporting {what} to {path} with {weights_description(run_id, project)}")
        self.ui.window.statusBar().showMessage(f"Exporting {path.name}…")
        self.pending += 1
        # a snapshot of the stored runs: the GUI thread may add runs while the export reads one
        weights_source = Project(project.network, project.name, attachments=dict(project.attachments))
        from engine.train.preflight import recipe_kind

        chosen = (recipe_kind(project.training), part) if part else None
        job = _ExportJob(document_to_data(project.network), weights_source, run_id, fmt, path, self._signals, chosen)
        training_pool().start(job)
        return True

    def _run_to_export(self, project: Project) -> str | None:
        chosen = self.ui.panels["runs"].selected_ids()
        if chosen:
            return chosen[0]
        from engine.runs import run_ids

        ids = run_ids(project)
        return ids[-1] if ids else None

    def _done(self, line: str) -> None:
        self.pending -= 1
        self.ui.log(f"exported {line}")
        self.ui.window.statusBar().showMessage(f"Exported {line}", 15000)

    def _failed(self, reason: str) -> None:
        self.pending -= 1
        self.ui.show_error("Export failed", reason)
