"""The one pre-flight: problems with node ids and sections, light enough for every edit, shared by all.

The same function answers the CLI (`validate`, `train`), the worker before it trains and the
studio's Training panel; these tests hold its answers to the node that must change.
"""

from __future__ import annotations

import numpy as np

from engine import telemetry as t
from engine.data.config import DatasetConfig, DatasetSummary
from engine.examples import chain_document, mlp_document
from engine.train.job import TrainingJob
from engine.train.preflight import DATASET, NETWORK, TRAINING, preflight, problems_text
from engine.train.settings import TrainingSettings

SPIRALS = DatasetConfig("spirals", {"n_samples": 100}).to_json()


def summary(classes: int = 2, shape: tuple[int, ...] = (2,)) -> DatasetSummary:
    return DatasetSummary("toy", "classification", shape, "float32", (), classes,
                          [f"c{i}" for i in range(classes)], {"train": 70, "val": 15, "test": 15}, {})


def test_a_ready_project_has_no_problems_with_or_without_its_data():
    doc = mlp_document()
    assert preflight(doc, SPIRALS, {}) == []
    assert preflight(doc, SPIRALS, {}, summary=summary()) == []


def test_each_problem_names_its_node_and_its_section():
    doc = mlp_document(classes=5)
    problems = preflight(doc, SPIRALS, {"epochs": 2}, summary=summary(classes=2))
    [output] = [p for p in problems if "the output has shape N×5" in p.message]
    assert output.node_id == "output" and output.section == TRAINING
    doc = chain_document((3,), [("Linear", {"out_features": 2})])
    [shape] = preflight(doc, SPIRALS, {}, summary=summary())
    assert shape.node_id == "input" and shape.section == NETWORK and "expects 3" in shape.message
    assert shape.text(doc).startswith("'input': ")


def test_malformed_sections_are_problems_not_exceptions():
    doc = mlp_document()
    [missing] = preflight(doc, {}, {})
    assert missing.section == DATASET and "no dataset" in missing.message
    [bad] = preflight(doc, SPIRALS, {"optimizer": {"lr": float("inf")}})
    assert bad.section == TRAINING and "Learning rate (optimizer.lr) must be a finite number" in bad.message
    [rule] = preflight(doc, SPIRALS, TrainingSettings(epochs=2, metrics=["accuracy"]).to_json()
                       | {"early_stopping": {"metric": "val_mae"}})
    assert "early stopping watches 'val_mae'" in rule.message
    assert problems_text([bad, rule]).startswith("training cannot start:\n  Learning rate")


def test_a_job_has_one_json_form_for_projects_and_jobs():
    job = TrainingJob(mlp_document(), DatasetConfig.from_json(SPIRALS), TrainingSettings(epochs=3), "run-7")
    data = job.to_json()
    assert set(data) == {"network", "dataset", "settings", "run_id", "name", "base_dir"}
    again = TrainingJob.from_json(data)
    assert again.to_json() == data and again.settings == job.settings


def test_every_telemetry_message_comes_back_typed_through_the_wire():
    maps = np.zeros((2, 4, 4), np.float16)
    messages = [t.Step("r", 1, 0, 0.5, 1e-3, 100.0, 0.1), t.Epoch("r", 0, {"loss": 1.0}, {}, 1e-3, 0.5, True, 3.0),
                t.FeatureMaps("r", "fc1", 3, maps, [2, 4, 4]), t.Error("r", "boom", "fc1", kind="non_finite"),
                t.Finished("r", "completed", 1, {}, {}, {}, {})]
    for message in messages:
        back = t.from_dict(t.decode(t.encode(message)))
        assert type(back) is type(message) and back.run_id == "r"
    assert t.from_dict(t.decode(t.encode(messages[2]))).maps.shape == (2, 4, 4)
