"""The one call that adds sweeps to the studio's main window: the Sweep dock, its Run-menu entries.

``install_sweep(window)`` builds a `SweepUi` on the window's public Qt API and the training UI's
panel context (the workspace that follows the open project, the theme, the redraw scheduler):

- a *Sweep* dock (``dock_sweep``, so saved layouts restore it) tabbed with Runs in the row under
  the canvas, listed in View ▸ Panels; it starts closed and opens from Run ▸ Sweep…, or when a
  project whose study has trials opens;
- Run ▸ Sweep… (show the panel), Start/Resume Sweep, Start New Study…, Stop Sweep and Apply Best
  Trial, enabled as the panel's buttons are;
- each finished trial's run (the engine attaches it to the project) marks the project unsaved,
  appears in the Runs panel and goes into the recovery file, like a finished training run;
- `shutdown()` ends a running sweep when the window closes; `active` tells the window not to
  replace the project a sweep is writing to.

The window calls it after the training UI exists::

    self.sweep = install_sweep(self)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel

from studio.sweep.panel import SweepPanel
from studio.sweep.sweep_controller import SweepController
from studio.theme import Theme

if TYPE_CHECKING:  # the window is above sweeps: named for annotations only, never imported
    from studio.main_window import MainWindow

ROW_HEIGHT = 330  # the plots need more height than a loss curve: the row grows to this when the panel opens


class SweepUi(QObject):
    """Everything sweeps add to the main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.training = window.training
        self.controller = SweepController(self)
        self.panel = SweepPanel(self.training.context, self.controller)
        self.dock = self._make_dock()
        self.actions = self._make_actions()
        self.controller.trial_finished.connect(self._trial_finished)
        self.controller.finished.connect(self._finished)
        self.progress = QLabel("")  # "Sweep: 3 of 10 trials done, 2 training" in the status bar while it runs
        self.progress.setObjectName("sweepProgress")
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)
        self._counts = {"done": 0, "running": set()}
        self.controller.started.connect(self._progress_started)
        self.controller.trial_started.connect(self._progress_trial_started)
        self.controller.state_changed.connect(lambda _state: self._show_progress())
        self.panel.buttons_changed.connect(self._update_actions)
        self.training.workspace.project_opened.connect(self._project_opened)
        # its trials train in worker processes and add runs to the project: no run of its own beside them
        self.training.busy_checks.append(
            lambda: "A sweep is running: stop it first (Run ▸ Stop Sweep)." if self.controller.active else "")
        self._update_actions()

    # ---- construction ----------------------------------------------------------------------
    def _make_dock(self) -> QDockWidget:
        window = self.window
        dock = QDockWidget(self.panel.title, window)
        dock.setObjectName("dock_sweep")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setWidget(self.panel)
        dock.visibilityChanged.connect(self.panel.set_on_screen)
        dock.topLevelChanged.connect(lambda _floating: self.panel.set_on_screen(True))
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()  # the window's saved layout, restored once every dock exists, places it where it was left
        action = dock.toggleViewAction()
        action.setObjectName("action_panel_sweep")
        window.actions.panels_menu.addAction(action)
        return dock

    def _make_actions(self) -> dict[str, QAction]:
        specs = {  # name: (text, tip, slot)
            "show": ("S&weep…", "Show the Sweep panel: search space, trials and results", self.show_panel),
            "start": ("Start S&weep", "Train trials of the search space in worker processes",
                      lambda: self.start()),
            "new_study": ("Start &New Study…", "Forget the stored study's trials and start the sweep anew",
                          lambda: self.start(new_study=True)),
            "stop": ("Stop Swee&p", "End the running trials at their next epoch", self.controller.stop),
            "apply_best": ("Apply &Best Trial", "Give the network and settings the best trial's values "
                           "(one undo step)", lambda: self.panel.apply_best()),
        }
        menu = self.training.run_menu
        menu.addSeparator()
        actions = {}
        for name, (text, tip, slot) in specs.items():
            action = QAction(text, self.window)
            action.setObjectName(f"action_sweep_{name}")
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(slot)
            menu.addAction(action)
            actions[name] = action
        return actions

    # ---- actions ------------------------------------------------------------------------------
    def _join_row(self) -> None:
        """Tab the hidden dock with the row under the canvas when that row is open (Runs, Loss...).

        Done when it opens rather than when it is made: a dock tabbed with hidden docks leaves the saved
        window state with a tab group Qt restores at the wrong size."""
        dock, window = self.dock, self.window
        if dock.isVisible() or dock.isFloating() or window.tabifiedDockWidgets(dock):
            return
        if window.dockWidgetArea(dock) != Qt.DockWidgetArea.BottomDockWidgetArea:
            return
        row = [d for n, d in self.training.docks.items() if n in ("runs", "loss", "log") and d.isVisible()
               and not d.isFloating() and window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        if row:
            window.tabifyDockWidget(row[0], dock)

    def show_panel(self) -> None:
        """Open the Sweep dock in front, the row under the canvas tall enough for its plots."""
        dock = self.dock
        self._join_row()
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < ROW_HEIGHT:
            self.window.resizeDocks([dock], [ROW_HEIGHT], Qt.Orientation.Vertical)

    def start(self, new_study: bool = False) -> bool:
        self.show_panel()
        return self.panel.start_new_study() if new_study else self.panel.start_sweep()

    @property
    def active(self) -> bool:
        return self.controller.active

    def _update_actions(self) -> None:
        buttons = {"start": self.panel.start_button, "stop": self.panel.stop_button,
                   "apply_best": self.panel.apply_button, "new_study": self.panel.new_study_button}
        for name, button in buttons.items():
            self.actions[name].setEnabled(button.isEnabled())
        self.actions["start"].setText("Resume S&weep" if self.panel.stored_trials() else "Start S&weep")
        chosen = self.panel.apply_button.text().removeprefix("Apply trial ")  # a trial chosen in the history
        self.actions["apply_best"].setText("Apply &Best Trial" if chosen.startswith("Apply") else
                                           f"Apply &Trial {chosen}")

    # ---- progress in the status bar ------------------------------------------------------------
    def _progress_started(self) -> None:
        self._counts = {"done": 0, "running": set()}
        self._show_progress()

    def _progress_trial_started(self, event: dict[str, Any]) -> None:
        self._counts["running"].add(event.get("number"))
        self._show_progress()

    def _show_progress(self) -> None:
        run = self.controller.run
        if run is None:
            self.progress.hide()
            return
        running = len(self._counts["running"])
        words = "stopping" if self.controller.state == "stopping" else f"{running} training" if running else "starting"
        self.progress.setText(f"Sweep: {self._counts['done']} of {run.trials} trials done, {words}")
        self.progress.show()

    # ---- trials become runs -----------------------------------------------------------------------
    def _trial_finished(self, event: dict[str, Any]) -> None:
        self._counts["done"] += 1
        self._counts["running"].discard(event.get("number"))
        self._show_progress()
        run_id = event.get("run_id")
        if run_id:
            self.training.workspace.mark_modified()  # its run and the journal are in the project now
            self.training.panels["runs"].refresh()
            files = getattr(self.window, "files", None)
            if files is not None:
                files.run_stored()  # into the recovery file at once, as a finished training run is
            self.training.log(f"{run_id}: trial {event.get('number')} {event.get('state')}"
                              + (f" ({event['message']})" if event.get("message") else ""))
        elif event.get("message"):
            self.training.log(f"trial {event.get('number')} {event.get('state')}: {event['message']}", "warning")

    def _finished(self, text: str) -> None:
        self.training.workspace.mark_modified()
        self.training.log(text)
        self.window.statusBar().showMessage(text, 10000)

    def _project_opened(self, _controller: object = None) -> None:
        """A project whose study has trials opens with its Sweep panel shown (behind the others' tabs)."""
        project = self.training.workspace.project
        if project is not None and self.panel.stored_study_opener() is not None and self.dock.isHidden():
            self._join_row()
            self.dock.show()

    def apply_theme(self, theme: Theme) -> None:
        self.panel.apply_theme(theme)

    def shutdown(self) -> None:
        self.controller.shutdown()


def install_sweep(window: MainWindow) -> SweepUi:
    """Add sweeps to `window` (a studio MainWindow whose training UI is installed); returns the sweep UI."""
    return SweepUi(window)
