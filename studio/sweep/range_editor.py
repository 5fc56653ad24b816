"""The Sweep panel's search-space form: what varies and over what, the metric, sampler, pruner, trials, workers.

`RangeEditor.show_config(config, workers, candidates)` shows a project's `SweepConfig` (engine:
`engine.sweep.space`) and the targets it could vary (`engine.sweep.targets.candidate_targets`:
every variable training setting and node parameter, each a `Candidate` with a label for people and
a natural range to start from). The table lists
the ranges that vary, one row each: kind, low and high (or the choices, comma-separated), log
scale, and a button that takes the row out. "Vary" adds the target chosen in the searchable list
with its natural range. Every change is parsed by the engine first (`ParamRange.from_json`, and
the node targets against the network by `check`), so a value it refuses is said under the table
and the field goes back to the stored value; an accepted change goes out as
`config_edited(config, workers, undo text, session)`, which the panel pushes as one undo step.
The editor never writes the project.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.sweep.space import (
    DIRECTIONS,
    MAX_TRIALS,
    METRICS,
    PRUNERS,
    SAMPLERS,
    ParamRange,
    SweepConfig,
    SweepConfigError,
)
from engine.sweep.targets import Candidate
from studio.sweep.study_snapshot import describe_value, param_label
from studio.sweep.sweep_commands import MAX_WORKERS

COLUMNS = ("Varies", "Kind", "Low", "High", "Log", "Choices", "")
TARGET, KIND, LOW, HIGH, LOG, CHOICES, REMOVE = range(len(COLUMNS))
TRIALS_SESSION, WORKERS_SESSION = 1, 2  # consecutive steps of one spin box merge into one undo step


def parse_choice(text: str) -> Any:
    """A typed choice as the value it names: ``64`` → 64, ``0.5`` → 0.5, ``true`` → True, ``adam`` → "adam"."""
    text = text.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (bool, int, float, str)) else text


def choices_text(choices: tuple[Any, ...]) -> str:
    return ", ".join(json.dumps(c) if isinstance(c, bool) else str(c) for c in choices)


class RangeEditor(QWidget):
    """The form and the table of ranges."""

    config_edited = Signal(object, int, str, object)  # SweepConfig, workers, undo text, session (int or None)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = SweepConfig()
        self.workers = 1
        self.candidates: dict[str, Candidate] = {}
        self.check: Callable[[SweepConfig], None] = lambda config: None  # the network's check of node targets
        self._showing = False
        self.metric = self._combo(METRICS, "metric")
        self.direction = self._combo(DIRECTIONS, "direction")
        self.sampler = self._combo(SAMPLERS, "sampler")
        self.pruner = self._combo(PRUNERS, "pruner")
        self.trials = self._spin(1, MAX_TRIALS, "trials", "How many trials a Start runs (a resume adds as many)")
        self.workers_box = self._spin(1, MAX_WORKERS, "workers", "Trials trained at once, each in its own process")
        self.target_choice = QComboBox()
        self.target_choice.setObjectName("sweep_target_choice")
        self.target_choice.setEditable(True)
        self.target_choice.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.target_choice.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.target_choice.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.target_choice.setMinimumContentsLength(14)
        self.target_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_button = QPushButton("Vary")
        self.add_button.setObjectName("sweep_add_range")
        self.add_button.setToolTip("Vary the chosen setting or node parameter over its natural range")
        self.add_button.clicked.connect(self._add_chosen)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("sweep_ranges")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CHOICES, QHeaderView.ResizeMode.Stretch)
        self.problem = QLabel("")
        self.problem.setObjectName("sweepProblem")
        self.problem.setWordWrap(True)
        self._layout()

    # ---- construction ------------------------------------------------------------------
    def _combo(self, values: tuple[str, ...], name: str) -> QComboBox:
        box = QComboBox()
        box.setObjectName(f"sweep_{name}")
        box.addItems(list(values))
        box.currentTextChanged.connect(lambda text, n=name: self._option_changed(n, text))
        return box

    def _spin(self, low: int, high: int, name: str, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setObjectName(f"sweep_{name}")
        box.setRange(low, high)
        box.setKeyboardTracking(False)  # typed numbers count on Enter or leaving the field
        box.setToolTip(tip)
        box.valueChanged.connect(lambda value, n=name: self._number_changed(n, value))
        return box

    def _layout(self) -> None:
        """Two rows over the table: how the study runs, then how many trials and what to add."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        rows = ((("Metric", self.metric), ("Direction", self.direction), ("Sampler", self.sampler),
                 ("Pruner", self.pruner)),
                (("Trials", self.trials), ("Workers", self.workers_box)))
        for r, row in enumerate(rows):
            for c, (label, widget) in enumerate(row):
                grid.addWidget(QLabel(label), r, 2 * c, Qt.AlignmentFlag.AlignRight)
                grid.addWidget(widget, r, 2 * c + 1)
        add = QHBoxLayout()
        add.addWidget(QLabel("Vary"))
        add.addWidget(self.target_choice, 1)
        add.addWidget(self.add_button)
        grid.addLayout(add, 1, 4, 1, 4)
        for column in (1, 3, 5, 7):
            grid.setColumnStretch(column, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)
        outer.addLayout(grid)
        outer.addWidget(self.table, 1)
        self.footer = QHBoxLayout()
        self.footer.addWidget(self.problem, 1)
        outer.addLayout(self.footer)

    def add_footer_button(self, button: QWidget) -> None:
        """A button beside the problem line under the table (the panel's Start new study…)."""
        self.footer.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)

    # ---- showing the project's sweep ---------------------------------------------------------
    def show_config(self, config: SweepConfig, workers: int, candidates: list[Candidate]) -> None:
        """Show `config` (no signal goes out)."""
        self._showing = True
        try:
            self.config, self.workers = config, workers
            self.candidates = {c.target: c for c in candidates}
            for box, value in ((self.metric, config.metric), (self.direction, config.direction),
                               (self.sampler, config.sampler), (self.pruner, config.pruner)):
                box.setCurrentText(value)
            self.trials.setValue(config.trials)
            self.workers_box.setValue(workers)
            self._fill_choice()
            self._fill_table()
        finally:
            self._showing = False

    def _fill_choice(self) -> None:
        varied = set(self.config.targets)
        current = self.target_choice.currentData()
        self.target_choice.clear()
        for target, candidate in self.candidates.items():
            if target not in varied:
                self.target_choice.addItem(candidate.label, target)
                self.target_choice.setItemData(self.target_choice.count() - 1, candidate.group,
                                               Qt.ItemDataRole.ToolTipRole)
        index = self.target_choice.findData(current)
        self.target_choice.setCurrentIndex(max(index, 0))
        self.add_button.setEnabled(self.target_choice.count() > 0)

    def _fill_table(self) -> None:
        self.table.setRowCount(0)
        for row, rng in enumerate(self.config.ranges):
            self.table.insertRow(row)
            item = QTableWidgetItem(self.label(rng.target))
            item.setToolTip(rng.target)
            item.setData(Qt.ItemDataRole.UserRole, rng.target)
            self.table.setItem(row, TARGET, item)
            self._kind_cell(row, rng)
            numeric = rng.kind != "choice"
            low = self._field(row, LOW, describe_value(rng.low) if numeric else "", numeric)
            high = self._field(row, HIGH, describe_value(rng.high) if numeric else "", numeric)
            choices = self._field(row, CHOICES, "" if numeric else choices_text(rng.choices), not numeric)
            for field, key in ((low, "low"), (high, "high"), (choices, "choices")):
                field.editingFinished.connect(lambda f=field, k=key, t=rng.target: self._field_edited(t, k, f))
            log = QCheckBox()
            log.setObjectName(f"sweep_log_{row}")
            log.setChecked(rng.log)
            log.setEnabled(numeric)
            log.toggled.connect(lambda on, t=rng.target: self._edit_range(t, {"log": on}, "log scale"))
            self.table.setCellWidget(row, LOG, log)
            remove = QToolButton()
            remove.setObjectName(f"sweep_remove_{row}")
            remove.setText("✕")
            remove.setToolTip(f"Stop varying {self.label(rng.target)}")
            remove.clicked.connect(lambda _=False, t=rng.target: self.remove_range(t))
            self.table.setCellWidget(row, REMOVE, remove)
        self.table.resizeColumnsToContents()

    def _kind_cell(self, row: int, rng: ParamRange) -> None:
        """The range's kind: a choice between the kinds its target takes (a number range or a list of values)."""
        candidate = self.candidates.get(rng.target)
        kinds = candidate.kinds if candidate is not None and rng.kind in candidate.kinds else (rng.kind,)
        if len(kinds) < 2:
            self.table.setItem(row, KIND, QTableWidgetItem(rng.kind))
            return
        box = QComboBox()
        box.setObjectName(f"sweep_kind_{row}")
        box.addItems(list(kinds))
        box.setCurrentText(rng.kind)
        box.setToolTip("A range of numbers, or a list of values to choose from")
        box.currentTextChanged.connect(lambda kind, t=rng.target: self.change_kind(t, kind))
        self.table.setCellWidget(row, KIND, box)

    def change_kind(self, target: str, kind: str) -> bool:
        """Turn a number range into a list of choices (its ends and the current value) or back (from the
        smallest to the largest number chosen, or the natural range)."""
        if self._showing:
            return False
        old, candidate = self.config.range_of(target), self.candidates.get(target)
        if kind == old.kind:
            return True
        current = candidate.current if candidate is not None else None
        if kind == "choice":
            values = [old.low, current, old.high] if old.kind != "choice" else list(old.choices)
            numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if old.kind == "int":
                numbers = [int(v) for v in numbers if float(v).is_integer()]
            data: dict[str, Any] = {"target": target, "kind": "choice", "choices": sorted(set(numbers))}
        else:
            numbers = [v for v in old.choices if isinstance(v, (int, float)) and not isinstance(v, bool)]
            natural = candidate.suggested if candidate is not None and candidate.suggested.kind == kind else None
            if len(set(numbers)) >= 2:
                low, high, log = min(numbers), max(numbers), False
            elif natural is not None:
                low, high, log = natural.low, natural.high, natural.log
            else:
                self.problem.setText(f"{self.label(target)}: list two numbers first, or remove the range and vary "
                                     "it again")
                self._fill_table()
                return False
            data = {"target": target, "kind": kind, "low": low, "high": high, "log": log}
        try:
            new = ParamRange.from_json(data)
        except SweepConfigError as exc:
            self.problem.setText(str(exc))
            self._fill_table()
            return False
        ranges = [new if r.target == target else r for r in self.config.ranges]
        return self._emit(self.config.with_ranges(ranges), self.workers, f"Sweep {self.label(target)} as {kind}")

    def _field(self, row: int, column: int, text: str, enabled: bool) -> QLineEdit:
        field = QLineEdit(text)
        field.setObjectName(f"sweep_{COLUMNS[column].lower()}_{row}")
        field.setEnabled(enabled)
        field.setFrame(False)
        field.setMinimumWidth(70)
        self.table.setCellWidget(row, column, field)
        return field

    def label(self, target: str) -> str:
        candidate = self.candidates.get(target)
        return candidate.label if candidate is not None else param_label(target)

    def row_of(self, target: str) -> int:
        return self.config.targets.index(target)

    def cell(self, target: str, column: int) -> QWidget:
        """The widget of one cell of a range's row (tests click and type into these)."""
        return self.table.cellWidget(self.row_of(target), column)

    # ---- edits -------------------------------------------------------------------------------
    def _emit(self, config: SweepConfig, workers: int, text: str, session: int | None = None) -> bool:
        try:
            self.check(config)
        except SweepConfigError as exc:
            self.problem.setText(str(exc))
            return False
        self.problem.setText("")
        self.config_edited.emit(config, workers, text, session)
        return True

    def _option_changed(self, name: str, value: str) -> None:
        if self._showing or getattr(self.config, name) == value:
            return
        changes: dict[str, Any] = {name: value}
        if name == "metric":  # the direction follows the metric, as the engine's default does
            changes["direction"] = "maximize" if value.endswith(("accuracy", "top_k")) else "minimize"
        data = {**self.config.to_json(), **changes}
        self._emit(SweepConfig.from_json(data), self.workers, f"Sweep {name}: {value}")

    def _number_changed(self, name: str, value: int) -> None:
        if self._showing:
            return
        if name == "workers":
            self._emit(self.config, value, f"Sweep workers: {value}", WORKERS_SESSION)
        else:
            data = {**self.config.to_json(), "trials": value}
            self._emit(SweepConfig.from_json(data), self.workers, f"Sweep trials: {value}", TRIALS_SESSION)

    def _add_chosen(self) -> None:
        target = self.find_target(self.target_choice.currentText())
        if target is not None:
            self.add_range(target)

    def find_target(self, text: str) -> str | None:
        """The candidate the typed or chosen `text` names: its label exactly, or the one label or short name
        (``fc1.out_features``) holding the text; otherwise None, with the reason shown."""
        text = text.strip()
        index = self.target_choice.findText(text)
        if index >= 0:
            return self.target_choice.itemData(index)
        varied = set(self.config.targets)
        needle = text.lower()
        found = [t for t, c in self.candidates.items() if t not in varied and needle
                 and (needle in c.label.lower() or needle in param_label(t).lower())]
        if len(found) == 1:
            return found[0]
        if not found:
            self.problem.setText(f"Nothing that can vary is called {text!r}")
        else:
            names = ", ".join(self.label(t) for t in found[:4]) + (", …" if len(found) > 4 else "")
            self.problem.setText(f"{len(found)} things match {text!r} ({names}): choose one from the list")
        return None

    def add_range(self, target: str) -> bool:
        """Vary `target` over its natural range."""
        if target in self.config.targets or target not in self.candidates:
            return False
        ranges = [*self.config.ranges, self.candidates[target].suggested]
        return self._emit(self.config.with_ranges(ranges), self.workers, f"Vary {self.label(target)}")

    def remove_range(self, target: str) -> bool:
        ranges = [r for r in self.config.ranges if r.target != target]
        return self._emit(self.config.with_ranges(ranges), self.workers, f"Stop varying {self.label(target)}")

    def _field_edited(self, target: str, key: str, field: QLineEdit) -> None:
        if self._showing or not field.isModified():
            return
        field.setModified(False)
        text = field.text().strip()
        if key == "choices":
            value: Any = [parse_choice(t) for t in text.split(",") if t.strip()]
        else:
            value = parse_choice(text)
        if not self._edit_range(target, {key: value}, key):
            self._fill_table()  # the stored value comes back into the field

    def _edit_range(self, target: str, changes: dict[str, Any], what: str) -> bool:
        if self._showing:
            return False
        old = self.config.range_of(target)
        try:
            new = ParamRange.from_json({**old.to_json(), **changes})
        except SweepConfigError as exc:
            self.problem.setText(str(exc))
            return False
        if new == old:
            return True
        ranges = [new if r.target == target else r for r in self.config.ranges]
        return self._emit(self.config.with_ranges(ranges), self.workers, f"Sweep {self.label(target)} {what}")
