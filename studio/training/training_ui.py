"""The training UI of the main window: run controls, panels, lock, errors and runs, wired together.

`TrainingUi(window)` builds everything on the window's public Qt API (``view``, ``toolbar``,
``docks``, menus and status bar) and learns about the open project only through the editor's
session (``window.session``, wrapped as `Workspace`): the run controller, the dock panels, the
Run menu and toolbar actions, the status-bar progress, the lock and error banners on the canvas and the canvas health
overlays. Then:

- `train()` checks the network (the editor's analysis), the dataset and the settings with the
  engine's own checks, and starts a worker for the open project (the selected node, when the
  settings name no probe, is probed; when they leave the CPU threads to Layerloom, the worker
  gets every core but one, so the GUI never competes with torch's threads);
- while a run is active the open project is read-only (`EditLock` asks the editor's document
  controller, which refuses edits), and selecting a node switches the feature-map probe (and the
  PCA view of the Latent Space panel) without restarting; a sample chosen for the Explain panel
  has its Grad-CAM refreshed by the worker every epoch;
- an error from the worker (bad data, NaN, out of memory, a dead worker) appears as a non-modal
  banner and in the log, and the node it names is selected and centred; the document is never
  touched;
- a finished run (with weights) is added to the project's runs (its files are read as bytes on a
  pool thread and attached as they are, `RunSaver`) and the project marked unsaved;
- one worker process is kept warm (torch imported) from shortly after start-up, so Train starts
  at once; a fresh one is prepared after each run and ended when the studio closes;
- the Training panel's "Find learning rate…" opens the learning-rate finder
  (`studio.training.lr_finder_dialog`, its own worker) and its live field sets the rate of the
  running worker; the Runs panel's "Fork from epoch…" starts a fork (`studio.training.fork_action`).

The studio process never imports torch for training: the forms, the pre-flight, the job and the
run store are the engine's light schema layer; torch loads in the worker process (kept warm) and,
for dataset previews, on a pool thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from engine import telemetry as t
from engine.project import Project
from engine.runs import new_run_id
from engine.train.job import TrainingJob
from studio.run_controller import RunController
from studio.theme import theme
from studio.training.banners import BannerStack, ErrorBanner, LockBanner
from studio.training.canvas_health import CanvasHealth
from studio.training.checks import dataset_problem, network_errors, settings_problems
from studio.training.dataset_preview import DatasetPreviewer
from studio.training.docks import default_sizes, make_docks, restore_state, show_row
from studio.training.edit_lock import EditLock
from studio.training.export_action import ExportAction
from studio.training.fork_action import ForkAction
from studio.training.lr_finder_dialog import LRFinderDialog
from studio.training.panels.base import PanelContext, RunComparison
from studio.training.recipe_docks import RecipeDocks, hide_on_demand
from studio.training.run_actions import RunActions
from studio.training.run_saver import RunSaver
from studio.training.workspace import Workspace

if TYPE_CHECKING:  # the window is above training: named for annotations only, never imported
    from studio.main_window import MainWindow


def worker_threads() -> int:
    """Torch threads for a run whose settings leave it to Layerloom: every core but one (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)


LOCK_WORDS = {"starting": "Starting training", "running": "Training", "paused": "Training paused",
              "stopping": "Stopping training"}
ERROR_TITLES = {"worker_died": "The training process stopped unexpectedly", "non_finite": "Training diverged",
                "out_of_memory": "Out of memory", "settings": "Training cannot start",
                "data": "The dataset could not be used", "shape": "A layer failed", "device": "No such device"}


class TrainingUi(QObject):
    """Everything training adds to the main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.launcher: Callable[..., Any] | None = None  # None: a spawned worker (tests may pass LocalRun.start)
        self._last_error = ""
        self.runs = RunController(self)
        self.workspace = Workspace(window.session, self)
        self.preview = DatasetPreviewer(self)
        self.context = PanelContext(self.runs, self.workspace, self.preview, RunComparison(self),
                                    theme(getattr(window, "theme_name", "light")))
        self.panels, self.docks = make_docks(window, self.context)
        hide_on_demand(self.docks)  # the recipe and Explain docks come when they mean something
        self.recipe_docks = RecipeDocks(self.runs, self.context.samples, self.docks, self)
        self.lock_banner = LockBanner(window.view)
        self.error_banner = ErrorBanner(window.view)
        self.banners = BannerStack(window.view, [self.lock_banner, self.error_banner])
        self.lock = EditLock(self.workspace, self.lock_banner, self)
        self.health = CanvasHealth(self.runs, self.workspace, self)
        self.saver = RunSaver(self)
        self.actions = RunActions(window)
        self.run_menu = self.actions.add_to(window.toolbar, window.menuBar(), window.actions.help_menu)
        self.exporter = ExportAction(self)
        self.run_menu.addSeparator()
        self.run_menu.addAction(self.exporter.action)
        self.run_menu.addAction(self.exporter.part_action)
        self.forks = ForkAction(self)
        self.lr_finder: LRFinderDialog | None = None
        # what else holds the machine and the project (a sweep): each says why a run cannot start now, or ""
        self.busy_checks: list[Callable[[], str]] = []
        self._connect()
        if not restore_state(window):
            QTimer.singleShot(0, self, lambda: default_sizes(window, self.docks))
        self.apply_theme(getattr(window, "theme_name", "light"))
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _connect(self) -> None:
        a, runs = self.actions.all, self.runs
        a["train"].triggered.connect(lambda: self.train())
        a["pause"].triggered.connect(runs.pause)
        a["resume"].triggered.connect(runs.resume)
        a["stop"].triggered.connect(runs.stop)
        for mode, action in self.actions.health.items():
            action.triggered.connect(lambda _=False, m=mode: self.health.set_mode(m))
        runs.state_changed.connect(self._state_changed)
        runs.progress_changed.connect(self.actions.show_progress)
        runs.run_started.connect(self._run_started)
        runs.error_arrived.connect(self._worker_error)
        runs.run_finished.connect(self._run_finished)
        runs.run_files_read.connect(self.saver.attach)
        runs.run_files_failed.connect(self.saver.give_up)
        self.saver.saved.connect(self._run_saved)
        self.saver.failed.connect(lambda run_id, reason: self.show_error(f"{run_id} could not be stored", reason))
        self.workspace.selection_changed.connect(self._selection_changed)
        self.context.samples.changed.connect(lambda _sample: self._explain_live())
        self.panels["explain"].request_changed.connect(self._explain_live)
        self.workspace.project_opened.connect(self._project_changed)
        self.error_banner.show_node_requested.connect(self.workspace.reveal_node)
        self.error_banner.details_requested.connect(lambda: self.show_panel("log"))
        self.panels["training"].lr_tools.find_requested.connect(lambda: self.find_learning_rate())
        self.panels["runs"].fork_requested.connect(self.forks.request)

    # ---- starting ------------------------------------------------------------------------
    def train(self) -> bool:
        """Check the open project and start a run; False (with the reason shown) when it cannot start."""
        if self.runs.active or self.workspace.project is None or not self.ready_to_start():
            return False
        self._start(self.workspace.project)
        return True

    def ready_to_start(self) -> bool:
        """Whether the open project can train (network, dataset, settings); when not, the reason is shown."""
        if self.workspace.project is None:
            return False
        busy = next((reason for reason in (check() for check in self.busy_checks) if reason), "")
        if busy:
            self.show_error("Cannot train now", busy)
            return False
        self.preview.want()
        controller, project = self.workspace.controller, self.workspace.project
        analysis = controller.flush_analysis() if controller.analysis_pending else controller.analysis
        errors = network_errors(analysis)
        if errors:
            node_id, message = errors[0]
            where = f"'{self.workspace.node_name(node_id)}': " if node_id else ""
            more = f" (and {len(errors) - 1} more, see Problems)" if len(errors) > 1 else ""
            self.show_error("Cannot train: the network has errors", f"{where}{message}{more}", node_id)
            return False
        problem = dataset_problem(project)
        if problem:
            self.show_error("Cannot train", problem)
            self.show_panel("dataset")
            return False
        problems = settings_problems(project, analysis, self.preview.summary_for(project.dataset))
        if problems:
            self.show_error("Cannot train: check the training settings", "; ".join(problems))
            self.show_panel("training")
            return False
        return True

    def _start(self, project: Project) -> None:
        self.start_job(TrainingJob.from_project(project, new_run_id(project), self.workspace.base_dir))

    def start_job(self, job: TrainingJob, note: str = "") -> None:
        """Start a checked job of the open project (a new run, or a fork: `note` says from where)."""
        run_id = job.run_id
        threads = ""
        if job.settings.cpu_threads == 0:  # leave a core to the GUI, so it stays smooth and never stalls torch
            job.settings.cpu_threads = worker_threads()
            threads = f", {job.settings.cpu_threads} CPU thread(s): one core is left to the studio"
        target = self._probe_target(self.workspace.selected())
        if not job.settings.probes and target:
            job.settings.probes = [target]
        self.error_banner.hide()
        self._last_error = ""
        self.runs.start(job, run_id, base_dir=self.workspace.base_dir, launcher=self.launcher)
        if job.settings.probes:
            self.panels["feature_maps"].show_node(job.settings.probes[0])
        self._explain_live()
        self.log(f"{run_id}: starting{' ' + note if note else ''} ({job.settings.epochs} epochs, batch "
                 f"{job.settings.batch_size}, {job.settings.optimizer.kind} lr {job.settings.optimizer.lr:g}{threads})")

    def find_learning_rate(self) -> LRFinderDialog | None:
        """Open the learning-rate finder on the open project and start its sweep (None when it cannot)."""
        if self.runs.active or self.workspace.project is None or not self.ready_to_start():
            return None
        if self.lr_finder is not None:
            self.lr_finder.close()
        self.lr_finder = LRFinderDialog(self.workspace, self.runs, self.context.theme, self.launcher,
                                        worker_threads(), self.window)
        self.lr_finder.show()
        self.lr_finder.start()
        return self.lr_finder

    def _probe_target(self, node_ids: list[str]) -> str | None:
        """The first of `node_ids` whose output can be probed (any node but an Output)."""
        project = self.workspace.project
        for node_id in node_ids:
            if project is not None and node_id in project.network.nodes \
                    and not project.network.spec(node_id).is_output:
                return node_id
        return None

    # ---- while running --------------------------------------------------------------------
    def _state_changed(self, state: str) -> None:
        self.actions.show_state(state)
        if state in LOCK_WORDS:
            self.lock.lock(LOCK_WORDS[state])
            if state == "starting":
                show_row(self.docks, "loss")
                self.docks["feature_maps"].raise_()
        else:
            self.lock.unlock()
        self.banners.place()

    def _project_changed(self, _controller: object = None) -> None:
        """Another project: an error about the previous one no longer applies; its runs are shown."""
        from engine.runs import run_ids

        project = self.workspace.project
        if project is not None and run_ids(project):
            show_row(self.docks, "runs")
        self.error_banner.hide()
        self._last_error = ""
        self.banners.place()
        self.context.samples.clear()  # the chosen sample belonged to the previous project's data

    def _selection_changed(self, node_ids: list[str]) -> None:
        target = self._probe_target(node_ids)
        if target and self.runs.active:
            self.runs.set_probes([target])
            self.panels["feature_maps"].show_node(target)

    def _explain_live(self) -> None:
        """Have the run under way refresh Grad-CAM of the sample chosen for the Explain panel each epoch."""
        sample = self.context.samples.sample
        if self.runs.active and sample is not None:
            self.runs.explain(sample.to_json(), self.panels["explain"].node_id)

    def _run_started(self, message: t.RunStarted) -> None:
        self.log(f"{message.run_id}: training {message.parameter_count:,} parameters on {message.device} "
                 f"for {message.epochs} epochs of {message.steps_per_epoch} steps")

    def _worker_error(self, message: t.Error) -> None:
        self._last_error = message.message
        node_id = message.node_id
        known = bool(node_id) and node_id in self.workspace.node_ids()
        self.show_error(ERROR_TITLES.get(message.kind, "Training failed"), message.message,
                        node_id if known else None)
        if known:
            self.workspace.reveal_node(node_id)

    def _run_finished(self, message: t.Finished) -> None:
        status, run_id = message.status, message.run_id
        project = self.workspace.project
        if project is not None and message.weights and message.record_dir:
            self.saver.expect(project, run_id)  # its files arrive with runs.run_files_read
        best = message.best
        shown = ", ".join(f"{k.removeprefix('val_')} {v * 100:.1f}%" if "accuracy" in k else f"{k} {v:.4g}"
                          for k, v in best.items() if k.startswith("val_"))
        text = f"{run_id}: {status} after {message.epochs} epoch(s)" + (f"; best {shown}" if shown else "")
        self.log(text, "error" if status == "failed" else "info")
        if status == "failed" and self._last_error:
            text = f"{run_id} failed: {self._last_error.splitlines()[0]}"
        self.window.statusBar().showMessage(text, 10000)

    def _run_saved(self, run_id: str) -> None:
        self.workspace.mark_modified()
        self.panels["runs"].refresh()
        self.log(f"{run_id}: saved in the project (it is written to disk when you save the project)")

    # ---- helpers ---------------------------------------------------------------------------
    def show_error(self, title: str, message: str, node_id: str | None = None) -> None:
        """The non-modal error banner, the log and the status bar."""
        self.error_banner.show_error(title, message, node_id)
        self.banners.place()
        self.log(f"{title}: {message}", "error")
        self.window.statusBar().showMessage(f"{title}: {message.splitlines()[0] if message else ''}", 10000)

    def log(self, text: str, level: str = "info") -> None:
        self.panels["log"].append(text, level)

    def show_panel(self, name: str) -> None:
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def apply_theme(self, name: str) -> None:
        t = theme(name)
        self.context.theme = t
        for panel in self.panels.values():
            panel.apply_theme(t)
        self.lock_banner.apply_theme(t)
        self.error_banner.apply_theme(t)
        self.actions.tint(t.text)

    def keep_worker_warm(self) -> None:
        """From now on keep one worker process ready, torch loaded (`studio.app` calls this shortly after
        start-up; tests that train in-process never do)."""
        self.runs.warm_workers = True
        if not self.runs.active:
            self.runs.prepare_worker()

    def shutdown(self) -> None:
        """Stop any run and end the warm worker (the studio is closing: the window calls this once its close
        is accepted)."""
        self.runs.shutdown()  # first: no warm worker is prepared for a closing studio
        if self.lr_finder is not None:
            self.lr_finder.close()
