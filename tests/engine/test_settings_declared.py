"""Settings declared once: the schema layer stays light, and parsing, ranges, --set and docs agree.

The studio's half (every declared setting's form widget has the declared bounds) is
tests/studio/test_settings_forms.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.cli import main
from engine.data.augment_config import AUGMENT_SETTINGS, AugmentConfig
from engine.data.config import DATASET_SETTINGS, DatasetConfig
from engine.data.errors import DatasetError
from engine.examples import mlp_document
from engine.project import Project, load_project, save_project
from engine.runs import list_runs
from engine.settings_doc import current_section, settings_markdown
from engine.settings_schema import Setting, SettingValueError, defaults_tree
from engine.train.settings import SettingsError, TrainingSettings, apply_overrides
from engine.train.settings_table import TRAINING_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
LIGHT_MODULES = ("engine.train.settings", "engine.train.settings_table", "engine.data.config", "engine.data.kind",
                 "engine.data.registry", "engine.data.augment_config", "engine.train.callbacks",
                 "engine.train.formatting", "engine.telemetry", "engine.train.job", "engine.train.preflight",
                 "engine.train.recipes.declared", "engine.train.recipes.structure",
                 "engine.runs", "engine.project", "engine.graph.analysis", "engine.layers.registry",
                 "engine.runner", "engine.settings_doc", "engine.data", "engine.train")


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_schema_modules_load_no_torch_and_no_qt(module):
    code = (f"import sys, {module}; bad = [m for m in ('torch', 'PySide6', 'numpy.testing') if m in sys.modules];"
            "print(','.join(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"importing {module} loaded {proc.stdout.strip()}"


def test_the_dataclasses_hold_exactly_the_declared_settings_with_their_defaults():
    stored = TrainingSettings().to_json()
    stored.pop("version")
    assert stored == defaults_tree(TRAINING_SETTINGS)
    assert AugmentConfig().to_json() == defaults_tree(AUGMENT_SETTINGS)
    declared = {s.path: s.default for s in DATASET_SETTINGS if s.path != "kind"}
    assert {k: v for k, v in asdict(DatasetConfig("spirals")).items() if k in declared} == declared


def _below(s: Setting, bound: float) -> float:
    return bound - 1 if s.kind == "int" else bound - max(abs(bound) * 1e-3, 1e-6)


def _above(s: Setting, bound: float) -> float:
    return bound + 1 if s.kind == "int" else bound + max(abs(bound) * 1e-3, 1e-6)


def _text(value: object) -> str:
    return ",".join(value) if isinstance(value, list) else "none" if value is None else str(value).lower() \
        if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("s", TRAINING_SETTINGS, ids=lambda s: s.path)
def test_every_training_setting_parses_checks_and_overrides_from_its_declaration(s: Setting):
    """The engine's parser, the range check and the CLI's --set agree on each declared setting."""
    assert TrainingSettings.from_json({}) == TrainingSettings()
    assert TrainingSettings.from_json(apply_overrides({}, [f"{s.path}={_text(s.default)}"])) == TrainingSettings()
    low, high = s.widget_bounds()  # the values a form offers: each must be accepted
    for edge in (low, high):
        if edge is not None:
            parsed = TrainingSettings.from_json(apply_overrides({}, [f"{s.path}={edge!r}"]))
            assert parsed._get(s.path) == pytest.approx(edge)
    outside = []
    if s.minimum is not None:
        outside.append((_below(s, s.minimum), "at least"))
    if s.above is not None:
        outside.append((s.above, "above"))
    if s.maximum is not None:
        outside.append((_above(s, s.maximum), "at most"))
    if s.below is not None:
        outside.append((s.below, "below"))
    for value, words in outside:
        with pytest.raises(SettingsError, match=f"\\({s.path}\\) must be {words}"):
            apply_overrides({}, [f"{s.path}={value!r}"])
        settings = TrainingSettings()
        settings._set(s.path, value)  # changed in code: validate() says the same
        assert any(f"({s.path}) must be {words}" in p for p in settings.validate())
    if s.numeric:
        for bad in ("inf", "nan", "-inf"):
            with pytest.raises(SettingsError, match=r"finite number|whole number"):
                apply_overrides({}, [f"{s.path}={bad}"])
    if s.kind == "choice":
        with pytest.raises(SettingsError, match="must be one of"):
            apply_overrides({}, [f"{s.path}=no_such_choice"])


def test_overrides_reach_the_nested_settings_and_misspellings_are_refused():
    data = apply_overrides({"epochs": 3}, ["optimizer.kind=sgd", "early_stopping.patience=5",
                                           "metrics=accuracy,top_k", "grad_clip=1.5", "augment.hflip=yes"])
    s = TrainingSettings.from_json(data)
    assert (s.epochs, s.optimizer.kind, s.early_stopping.patience, s.metrics, s.grad_clip, s.augment.hflip) == \
        (3, "sgd", 5, ["accuracy", "top_k"], 1.5, True)
    assert TrainingSettings.from_json(apply_overrides(data, ["grad_clip=none"])).grad_clip is None
    with pytest.raises(SettingsError, match=r"unknown setting 'optimiser\.kind'"):
        apply_overrides({}, ["optimiser.kind=sgd"])
    with pytest.raises(SettingsError, match=r"did you mean schedule\.patience, early_stopping\.patience"):
        apply_overrides({}, ["patience=3"])
    with pytest.raises(SettingsError, match="path=value"):
        apply_overrides({}, ["epochs"])


def test_dataset_settings_are_checked_from_their_declaration():
    for s in DATASET_SETTINGS:
        assert isinstance(s.coerce(s.default), type(s.default))
    with pytest.raises(DatasetError, match=r"Validation fraction \(val_fraction\) must be below 1"):
        DatasetConfig.from_json({"kind": "moons", "val_fraction": 1.0})
    with pytest.raises(DatasetError, match="unknown dataset setting 'val_frac'"):
        DatasetConfig.from_json({"kind": "moons", "val_frac": 0.1})
    with pytest.raises(SettingValueError):
        DATASET_SETTINGS[1].parse_text("1.5")


def test_the_readme_documents_every_setting_as_declared():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert current_section(readme) == settings_markdown(), \
        "the README's settings section is stale: run `python -m engine.settings_doc README.md`"
    for s in TRAINING_SETTINGS:
        assert f"| `{s.path}` |" in readme


def _project(folder: Path, training: dict, dataset: dict | None = None) -> Path:
    dataset = dataset if dataset is not None else DatasetConfig("spirals", {"n_samples": 200}).to_json()
    return save_project(Project(mlp_document(), "p", dataset, training), folder / "p.loom")


def test_train_takes_set_overrides_for_nested_settings_and_dataset_params(tmp_path, capsys):
    path = _project(tmp_path, {"epochs": 5, "cpu_threads": 1})
    code = main(["train", str(path), "--set", "epochs=1", "--set", "optimizer.kind=sgd", "--set",
                 "early_stopping.patience=5", "--set", "dataset.params.n_samples=120", "--set",
                 "dataset.val_fraction=0.25"])
    assert code == 0, capsys.readouterr().err
    [run] = list_runs(load_project(path))
    assert run.epochs == 1 and run.settings["optimizer"]["kind"] == "sgd"
    assert run.settings["early_stopping"]["patience"] == 5


@pytest.mark.parametrize("args, words", [
    (["--lr", "inf"], "Learning rate (optimizer.lr) must be a finite number"),
    (["--lr", "0"], "Learning rate (optimizer.lr) must be above 0, got 0"),
    (["--set", "optimizer.lr=-1e-3"], "must be above 0"),
    (["--set", "early_stopping.patience=0"], "Patience (early_stopping.patience) must be at least 1"),
    (["--set", "optimizer.kind=lion"], "must be one of sgd"),
    (["--set", "optimiser.lr=1"], "unknown setting 'optimiser.lr'"),
    (["--set", "dataset.params.arms=1"], "arms must be at least 2"),
    (["--set", "dataset.params.colour=1"], "has no parameter 'colour'"),
])
def test_train_refuses_impossible_settings_before_training(tmp_path, capsys, args, words):
    path = _project(tmp_path, {"epochs": 1})
    assert main(["train", str(path), *args]) == 2
    assert words in capsys.readouterr().err
    assert list_runs(load_project(path)) == []


def test_validate_checks_training_and_dataset_settings_with_trains_rules(tmp_path, capsys):
    good = _project(tmp_path, {"epochs": 2})
    assert main(["validate", str(good)]) == 0
    bad = _project(tmp_path, {"epochs": 2, "optimizer": {"lr": 0.01, "momentm": 0.5}})
    assert main(["validate", str(bad)]) == 1
    assert "unknown training setting 'optimizer.momentm'" in capsys.readouterr().out
    rule = _project(tmp_path, {"epochs": 2, "schedule": {"warmup_epochs": 2}})
    assert main(["validate", str(rule), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["settings_problems"][0]["section"] == "training"
    assert "warm-up (2 epochs) must be shorter" in data["settings_problems"][0]["message"]
    data_bad = _project(tmp_path, {}, {"kind": "spirals", "test_fraction": math.pi})
    assert main(["validate", str(data_bad)]) == 1
    assert "dataset: Test fraction (test_fraction) must be below 1" in capsys.readouterr().out
