"""The Sweep panel: a project's sweep drawn live, its search space edited, started, stopped and applied.

Over two tabs (Results: the four plots of `ResultsView`; Search space: the `RangeEditor`) sits one
row: a summary of the study and the buttons Start (Resume when the project's study has trials),
Stop and Apply best trial; Start new study… (which forgets the stored trials, after asking) sits under
the search space. The panel follows the open project like every panel (`project_changed`
from the workspace): it shows that project's sweep configuration and its stored study (the journal
the engine keeps in the project), and forgets the previous one's. Edits of the search space are
undo steps (`SetSweepCommand`); the editor and Apply are disabled while the project is read-only.

Reading the study happens on a pool thread (`StudyPoller`), once when a project opens and every
second while a sweep runs, so the GUI never waits for the storage; a snapshot that arrives marks
the panel dirty and it redraws with the other panels, only while it can be seen.

Running is the `SweepController`'s (`studio.sweep.sweep_controller`): the engine's sweep trains its
trials in worker processes and is drained on a thread of its own; the controller reports trials, the
end and errors. Apply best trial turns the best trial's
parameters (or those of the trial clicked in the optimisation history: the button then says which)
into undo commands (`studio.sweep.apply_best`) pushed as one macro: one Ctrl+Z undoes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QPushButton, QTabWidget, QVBoxLayout, QWidget

from engine.sweep.space import JOURNAL_MEMBER, SweepConfig, SweepConfigError, read_config
from engine.sweep.study import journal_storage, study_name_for
from engine.sweep.targets import candidate_targets, check_node_range, config_problems
from studio.sweep.apply_best import ApplyError, commands_for
from studio.sweep.range_editor import RangeEditor
from studio.sweep.results_view import ResultsView, summary_text
from studio.sweep.study_poller import StudyOpener, StudyPoller
from studio.sweep.study_snapshot import StudySnapshot, TrialPoint, describe_value, param_label
from studio.sweep.sweep_commands import SetSweepCommand, workers_of
from studio.sweep.sweep_controller import SweepController
from studio.theme import Theme
from studio.training.checks import dataset_problem, network_errors
from studio.training.panels.base import Panel, PanelContext

if TYPE_CHECKING:
    from engine.project import Project


def ask(parent: QWidget, text: str) -> bool:
    answer = QMessageBox.question(parent, "Start a new study", text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


class SweepPanel(Panel):
    """Plots, search space and controls of the open project's sweep."""

    name, title = "sweep", "Sweep"
    buttons_changed = Signal()  # Start, Stop, Apply, Start new study: enabled or named anew (menus follow)

    def __init__(self, context: PanelContext, sweeps: SweepController | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.sweeps = sweeps if sweeps is not None else SweepController(self)
        self.snapshot: StudySnapshot | None = None
        self.config = SweepConfig()
        self.read_error = ""
        self.results = ResultsView(context.theme, with_summary=False)
        self.chosen: int | None = None  # a trial chosen in the optimisation history (None: the best)
        self.results.history.trial_clicked = self._trial_chosen
        self.editor = RangeEditor()
        self.editor.config_edited.connect(self._config_edited)
        self.poller = StudyPoller(self)
        self.poller.snapshot_read.connect(self._snapshot_read)
        self.poller.read_failed.connect(self._read_failed)
        self.summary = self.results.summary  # shown in the header row rather than over the plots
        self.note = ""  # the latest event or refusal, after the study's summary
        self.start_button = QPushButton("Start sweep")
        self.start_button.setObjectName("sweep_start")
        self.start_button.clicked.connect(lambda: self.start_sweep())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("sweep_stop")
        self.stop_button.setToolTip("End the running trials at their next epoch and start no more")
        self.stop_button.clicked.connect(self.sweeps.stop)
        self.apply_button = QPushButton("Apply best trial")
        self.apply_button.setObjectName("sweep_apply_best")
        self.apply_button.setToolTip("Set the network and training settings to the best trial's values (or "
                                     "those of the trial clicked in the history), as one undo step")
        self.apply_button.clicked.connect(lambda: self.apply_best())
        self.new_study_button = QPushButton("Start new study…")
        self.new_study_button.setObjectName("sweep_new_study")
        self.new_study_button.setToolTip("Forget the stored study's trials and start the sweep anew (after a change "
                                         "of metric, or of what varies)")
        self.new_study_button.clicked.connect(lambda: self.start_new_study())
        self.confirm: Callable[[QWidget, str], bool] = ask
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.editor, "Search space")
        self.editor.add_footer_button(self.new_study_button)
        self._candidates_stale = False
        self.tabs.currentChanged.connect(self._tab_changed)
        self._layout()
        ws = context.workspace
        ws.document_changed.connect(self._document_changed)
        ws.editable_changed.connect(lambda _editable: self._update_buttons())
        self.sweeps.state_changed.connect(lambda _state: self._update_buttons())
        self.sweeps.trial_finished.connect(self._trial_finished)
        self.sweeps.finished.connect(self._sweep_finished)
        self.sweeps.worker_error.connect(lambda text: self.say(f"A sweep worker failed: {text}"))
        self._update_buttons()

    def _layout(self) -> None:
        header = QHBoxLayout()
        header.setContentsMargins(4, 2, 4, 0)
        header.addWidget(self.summary, 1)
        for button in (self.start_button, self.stop_button, self.apply_button):
            header.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)

    # ---- the open project --------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.context.workspace.project

    def project_changed(self) -> None:
        """Another project: its sweep settings and its stored study; nothing of the previous one."""
        self.snapshot = None
        self.read_error = ""
        self.note = ""
        self.chosen = None
        self.results.history.chosen = None
        self.results.show_snapshot(None)
        self._show_config()
        self.poller.follow(self.stored_study_opener())

    def stored_study_opener(self) -> StudyOpener | None:
        """How to read the study stored in the open project (None when it has none yet)."""
        project = self.project
        if project is None or not project.attachments.get(JOURNAL_MEMBER):
            return None
        raw = project.attachments[JOURNAL_MEMBER]  # bytes: what is stored now, whatever the project does next
        wanted = study_name_for(self.config, project.name)

        def open_stored() -> optuna.Study | None:  # on the reader's thread
            storage = journal_storage(raw, "the project's sweep journal")
            names = [s.study_name for s in storage.get_all_studies()]
            name = wanted if wanted in names else names[0] if len(names) == 1 else None
            return None if name is None else optuna.load_study(study_name=name, storage=storage)

        return open_stored

    def stored_trials(self) -> int:
        """Trials of the open project's stored study, as last read (0 before any)."""
        return len(self.snapshot.trials) if self.snapshot is not None else 0

    def follow_study(self, opener: StudyOpener | None, metric: str | None = None) -> None:
        """Draw the study `opener` opens (a running sweep's, or one a test made)."""
        self.poller.follow(opener, metric or self.config.metric)

    def _show_config(self) -> None:
        project = self.project
        if project is None:
            self.config = SweepConfig()
            self.editor.show_config(self.config, 1, [])
            self._update_buttons()
            return
        try:
            config = read_config(project) or SweepConfig()
            problem = ""
        except SweepConfigError as exc:  # a damaged member: say so, offer a fresh start (the file keeps it)
            config, problem = SweepConfig(), f"The project's sweep settings cannot be read: {exc}"
        self.config = config
        self._candidates_stale = False
        self.editor.check = self._check_ranges
        self.editor.show_config(config, workers_of(project), candidate_targets(project))
        self.editor.problem.setText(problem or self.readiness())
        self._update_buttons()
        self._show_summary()

    def readiness(self) -> str:
        """Why a sweep cannot start with these settings (empty when it can)."""
        project = self.project
        if project is None:
            return "No project is open"
        problems = config_problems(self.config, project.network, project.training, project.dataset)
        return "; ".join(problems)

    def _check_ranges(self, config: SweepConfig) -> None:
        project = self.project
        if project is None:
            return
        for rng in config.ranges:
            if rng.target.startswith("node:"):
                check_node_range(project.network, rng)

    def _config_edited(self, config: SweepConfig, workers: int, text: str, session: object) -> None:
        project = self.project
        if project is None:
            return
        self.context.workspace.push(SetSweepCommand(project, config, workers, text, session))

    def _document_changed(self) -> None:
        """An edit, undo or redo: the stored sweep settings may have changed (or the network's candidates)."""
        project = self.project
        if project is None:
            return
        try:
            stored = read_config(project) or SweepConfig()
        except SweepConfigError:
            return
        if stored != self.config or workers_of(project) != self.editor.workers or not self.editor.candidates:
            self._show_config()
        else:  # a network or settings edit: what can vary may have changed; the form catches up when seen
            self._candidates_stale = True
            if self.tabs.currentWidget() is self.editor and self.editor.isVisible():
                self._show_config()
            else:
                self.editor.problem.setText(self.readiness())

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.editor and self._candidates_stale:
            self._show_config()

    # ---- running ------------------------------------------------------------------------------------
    def start_problem(self) -> str:
        """Why a sweep of the open project cannot start now (empty when it can)."""
        project, controller = self.project, self.context.workspace.controller
        if project is None:
            return "No project is open"
        if self.sweeps.active:
            return "A sweep is already running"
        if self.context.runs.active:
            return "A run is training: let it finish or stop it first"
        analysis = None
        if controller is not None:
            analysis = controller.flush_analysis() if controller.analysis_pending else controller.analysis
        errors = network_errors(analysis)
        if errors:
            return f"The network has errors (see Problems): {errors[0][1]}"
        return dataset_problem(project) or self.readiness()

    def start_sweep(self, *, new_study: bool = False) -> bool:
        """Start the open project's sweep (or resume its study; with `new_study`, begin it anew); False, with
        the reason shown, when it cannot."""
        problem = self.start_problem()
        project = self.project
        if not problem and project is not None:
            try:
                self.sweeps.start(project, self.config, workers_of(project), self.context.workspace.base_dir,
                                  restart=new_study)
            except (ValueError, OSError) as exc:  # the engine's checks: config, study, settings, dataset
                problem = str(exc).replace("(--restart, or another study name)", "(Start New Study…)")
        if problem:
            self.say(f"Cannot start the sweep: {problem}")
            self.editor.problem.setText(problem)
            return False
        self.say(f"Sweep started: {self.config.trials} trials, {workers_of(project)} at a time…")
        self.tabs.setCurrentWidget(self.results)
        self.poller.follow(self.sweeps.live_opener(), self.config.metric)
        self.poller.start()
        return True

    def start_new_study(self) -> bool:
        """Forget the stored study's trials (after asking; their runs stay) and start a sweep anew."""
        if self.stored_trials() and not self.confirm(
                self, f"Start a new study? The {self.stored_trials()} trials of the stored study are forgotten "
                      "(their runs stay in the Runs panel); this cannot be undone."):
            return False
        return self.start_sweep(new_study=True)

    def _trial_finished(self, event: dict[str, Any]) -> None:
        self.poller.refresh()
        state = {"complete": "completed", "fail": "failed"}.get(event.get("state"), event.get("state"))
        value = event.get("value")
        shown = f" with {self.config.metric} {describe_value(value)}" if isinstance(value, float) else ""
        self.say(f"Trial {event.get('number')} {state}{shown}")

    def _sweep_finished(self, text: str) -> None:
        self.poller.stop()
        self.poller.follow(self.stored_study_opener(), self.config.metric)  # the journal is in the project now
        self.say(text)
        self._update_buttons()

    # ---- the study ------------------------------------------------------------------------------
    def _snapshot_read(self, snapshot: StudySnapshot | None) -> None:
        self.snapshot = snapshot
        self.read_error = ""
        self._update_buttons()  # Apply and Resume follow the study at once, also while the panel is hidden
        self.mark_dirty()

    def _read_failed(self, reason: str) -> None:
        self.read_error = reason
        self.say(f"The sweep's study cannot be read: {reason}")

    def redraw(self) -> None:
        self.results.show_snapshot(self.snapshot)
        self._show_summary()
        self._update_buttons()

    def clear(self) -> None:
        """A training run starting does not end a sweep's results: they stay."""

    # ---- apply best (or the chosen trial) ---------------------------------------------------------
    def trial_to_apply(self) -> TrialPoint | None:
        """The trial chosen in the optimisation history, else the best completed one (None: none yet)."""
        if self.snapshot is None:
            return None
        chosen = next((t for t in self.snapshot.completed if t.number == self.chosen), None)
        return chosen if chosen is not None else self.snapshot.best

    def params_text(self, trial: TrialPoint | None = None) -> str:
        trial = trial if trial is not None else self.trial_to_apply()
        if trial is None:
            return ""
        return ", ".join(f"{param_label(k)} = {describe_value(v)}" for k, v in sorted(trial.params.items()))

    def _trial_chosen(self, number: int | None) -> None:
        self.chosen = number
        self._update_buttons()
        trial = self.trial_to_apply()
        if number is not None and trial is not None:
            self.say(f"Trial {number} chosen: {self.params_text(trial)}")

    def apply_best(self) -> bool:
        """Give the open project the parameters of the best trial (or of the trial chosen in the history), as
        one undo step; False when nothing applies."""
        from engine.sweep.targets import apply_params

        project, snapshot, trial = self.project, self.snapshot, self.trial_to_apply()
        if project is None or snapshot is None or trial is None or not self.context.workspace.editable:
            return False
        try:
            network, training = apply_params(project.network, project.training, trial.params)
            commands = commands_for(project, network, training)
        except (SweepConfigError, ApplyError) as exc:
            self.editor.problem.setText(f"Trial {trial.number} cannot be applied: {exc}")
            self.say(f"Trial {trial.number} cannot be applied: {exc}")
            return False
        text = f"Apply trial {trial.number} ({snapshot.metric} {describe_value(trial.value)})"
        if not commands:
            self.say(f"The project already has trial {trial.number}'s values")
            return False
        if len(commands) == 1:
            commands[0].setText(text)
        self.context.workspace.push(*commands, text=text)
        self.say(f"Applied trial {trial.number}: {self.params_text(trial)}")
        return True

    # ---- buttons --------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        editable = self.context.workspace.editable
        running = self.sweeps.active
        trial = self.trial_to_apply()
        best = self.snapshot.best if self.snapshot is not None else None
        chosen = trial is not None and best is not None and trial.number != best.number
        self.apply_button.setText(f"Apply trial {trial.number}" if chosen else "Apply best trial")
        self.apply_button.setEnabled(trial is not None and editable)
        self.apply_button.setToolTip(f"Set {self.params_text(trial)} (one undo step)" if trial is not None
                                     else "No completed trial yet")
        self.editor.setEnabled(editable and not running)  # a running sweep keeps the ranges it started with
        resumes = self.stored_trials() > 0
        self.start_button.setText("Resume sweep" if resumes else "Start sweep")
        self.start_button.setToolTip(f"Run {self.config.trials} more trials of this study" if resumes
                                     else f"Run {self.config.trials} trials of the search space")
        self.start_button.setEnabled(not running and self.project is not None)
        self.new_study_button.setEnabled(not running and resumes)
        self.buttons_changed.emit()
        self.stop_button.setEnabled(running and self.sweeps.state == "running")

    def apply_theme(self, t: Theme) -> None:
        self.results.apply_theme(t)

    # ---- the header line ---------------------------------------------------------------------
    def say(self, note: str) -> None:
        """Show `note` after the study's summary until the next one (an event, a refusal)."""
        self.note = note
        self._show_summary()

    def _show_summary(self) -> None:
        text = summary_text(self.snapshot) if self.snapshot is not None or not self.note else ""
        if self.snapshot is None and not self.note and self.config.ranges:
            text = f"No trials yet: Start sweep runs {self.config.trials} trials of the search space."
        self.summary.setText(" · ".join(t for t in (text, self.note) if t))
