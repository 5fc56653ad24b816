"""Sweep configurations: JSON round trips, hostile input, the project member, candidates and applying a trial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.examples import mlp_spirals, resnet_small
from engine.graph.analysis import analyze
from engine.graph.serialize import document_to_data
from engine.project import load_project, save_project
from engine.sweep.space import (
    MAX_RANGES,
    ParamRange,
    SweepConfig,
    SweepConfigError,
    read_config,
    write_config,
)
from engine.sweep.targets import apply_params, candidate_targets, check_config, config_problems

ROOT = Path(__file__).resolve().parents[2]

CONFIG = SweepConfig(
    ranges=(ParamRange("setting:optimizer.lr", "float", 1e-4, 0.1, True),
            ParamRange("setting:optimizer.kind", "choice", choices=("adam", "sgd")),
            ParamRange("node:hidden1:out_features", "int", 8, 128, True),
            ParamRange("setting:early_stopping.enabled", "choice", choices=(False, True))),
    metric="val_accuracy", pruner="hyperband", trials=12, seed=3, pruner_startup_trials=2)


def test_a_config_round_trips_through_json_and_bytes():
    data = CONFIG.to_json()
    assert data["direction"] == "maximize"  # accuracies are maximised unless told otherwise
    assert SweepConfig.from_json(json.loads(json.dumps(data))) == CONFIG
    assert SweepConfig.from_bytes(CONFIG.to_bytes()) == CONFIG
    assert SweepConfig.from_json({"ranges": []}) == SweepConfig()  # every key has a default
    assert SweepConfig().direction == "minimize"  # val_loss


def test_the_config_is_stored_in_the_project_file_and_survives_a_reopen(tmp_path):
    project = mlp_spirals()
    assert read_config(project) is None
    write_config(project, CONFIG)
    path = save_project(project, tmp_path / "p.loom")
    reopened = load_project(path)
    assert read_config(reopened) == CONFIG
    write_config(reopened, None)
    assert read_config(reopened) is None


@pytest.mark.parametrize(("data", "message"), [
    ([], "must be a JSON object"),
    ({"rangez": []}, "unknown sweep setting(s) 'rangez'"),
    ({"version": 9}, "newer than this Layerloom reads"),
    ({"ranges": {}}, "ranges must be a list"),
    ({"ranges": [{"target": "setting:optimizer.lr", "low": 0.0, "high": 1.0}]},
     "Learning rate (optimizer.lr) must be above 0, got 0"),
    ({"ranges": [{"target": "setting:optimizer.momentum", "low": 0.5, "high": 1.0}]}, "must be below 1"),
    ({"ranges": [{"target": "setting:optimizer.lr", "low": 0.1, "high": 0.01}]}, "must be below high"),
    ({"ranges": [{"target": "setting:optimizer.weight_decay", "low": 0.0, "high": 0.1, "log": True}]},
     "a log range must start above 0"),
    ({"ranges": [{"target": "setting:optimizer.kind", "kind": "float", "low": 1, "high": 2}]},
     "use kind choice"),
    ({"ranges": [{"target": "setting:optimizer.kind", "kind": "choice", "choices": ["adam", "lion"]}]},
     "must be one of sgd, adam"),
    ({"ranges": [{"target": "setting:batch_size", "kind": "int", "low": 8.5, "high": 64}]}, "whole number"),
    ({"ranges": [{"target": "setting:batch_size", "kind": "int", "low": True, "high": 64}]}, "finite number"),
    ({"ranges": [{"target": "setting:device", "kind": "choice", "choices": ["cpu"]}]},
     "does not change what a run learns"),
    ({"ranges": [{"target": "setting:nope", "low": 1, "high": 2}]}, "there is no training setting 'nope'"),
    ({"ranges": [{"target": "weights:fc1", "low": 1, "high": 2}]}, "must start with 'setting:' or 'node:'"),
    ({"ranges": [{"target": "node:fc1", "low": 1, "high": 2}]}, "node:<node id>"),
    ({"ranges": [{"target": "node:a b:units", "low": 1, "high": 2}]}, "node:<node id>"),
    ({"ranges": [{"target": "setting:optimizer.lr", "low": 1e-3, "high": 1e-2, "step": 2}]}, "unknown key(s)"),
    ({"ranges": [{"target": "setting:optimizer.kind", "kind": "choice", "choices": ["adam", "adam"]}]},
     "listed twice"),
    ({"ranges": [{"target": "setting:optimizer.kind", "kind": "choice", "choices": [[1]]}]}, "a choice must be"),
    ({"ranges": [{"target": "setting:optimizer.kind", "kind": "choice", "choices": []}]}, "non-empty list"),
    ({"ranges": [{"target": "setting:optimizer.lr", "low": 1e-3, "high": 1e-2}] * 2}, "has two ranges"),
    ({"ranges": [{"target": f"node:n{i}:units", "low": 1, "high": 2} for i in range(MAX_RANGES + 1)]},
     f"at most {MAX_RANGES} things"),
    ({"ranges": [{"target": "node:fc1:out_features", "kind": "int", "low": 1, "high": 10**12}]}, "too large"),
    ({"trials": 0}, "trials must be a whole number from 1"),
    ({"trials": 10**9}, "trials must be a whole number from 1"),
    ({"metric": "val_f1"}, "metric must be one of"),
    ({"pruner": "asha"}, "pruner must be one of median, hyperband, none"),
    ({"direction": "up"}, "direction must be one of"),
    ({"seed": -1}, "seed must be"),
    ({"study_name": "x" * 1000}, "study_name must be"),
])
def test_malformed_configs_are_refused_with_a_message_naming_the_problem(data, message):
    with pytest.raises(SweepConfigError) as info:
        SweepConfig.from_json(data)
    assert message in str(info.value)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{", b'{"ranges": [{"target": "setting:optimizer.lr", '
                                 b'"low": NaN, "high": 1}]}', b"[" * 100_000 + b"]" * 100_000,
                                 b'{"trials": 1e999}', b" " * (2**20 + 1)])
def test_hostile_bytes_are_refused_as_config_errors(raw):
    with pytest.raises(SweepConfigError):
        SweepConfig.from_bytes(raw)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                  max_size=4), max_leaves=20)
_range_like = st.fixed_dictionaries({}, optional={
    "target": st.sampled_from(["setting:optimizer.lr", "setting:optimizer.kind", "setting:batch_size",
                               "node:hidden1:out_features", "node:x:y"]) | st.text(max_size=30),
    "kind": st.sampled_from(["float", "int", "choice"]) | _json, "low": _json | st.floats(),
    "high": _json | st.floats(), "log": _json, "choices": _json})
_config_like = st.fixed_dictionaries({}, optional={
    "ranges": st.lists(_range_like, max_size=3) | _json, "metric": _json | st.sampled_from(["val_loss"]),
    "trials": _json, "pruner": _json, "sampler": _json, "seed": _json, "version": _json}) | _json


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_config_like)
def test_any_json_either_parses_to_a_config_that_round_trips_or_is_a_config_error(data):
    try:
        config = SweepConfig.from_json(data)
    except SweepConfigError:
        return
    assert SweepConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


def test_apply_params_sets_a_setting_a_node_param_a_block_repeat_and_a_block_inside_on_copies():
    project = resnet_small()
    before_doc, before_training = document_to_data(project.network), json.dumps(project.training)
    params = {"setting:optimizer.lr": 0.02, "setting:batch_size": 32, "node:stem:bias": True,
              "node:layer2:repeat": 3, "node:layer3:channels": 48, "node:layer1/bn1:momentum": 0.25}
    doc, training = apply_params(project.network, project.training, params)
    assert document_to_data(project.network) == before_doc and json.dumps(project.training) == before_training
    assert training["optimizer"]["lr"] == 0.02 and training["batch_size"] == 32
    assert training["optimizer"]["kind"] == project.training["optimizer"]["kind"]  # the rest is kept
    assert doc.nodes["stem"].params["bias"] is True
    assert doc.nodes["layer2"].params["repeat"] == 3 and doc.nodes["layer3"].params["channels"] == 48
    assert doc.definition_of("layer1").body.nodes["bn1"].params["momentum"] == 0.25
    assert doc.definition_of("layer2").body.nodes["bn1"].params["momentum"] == 0.25  # one definition
    result, original = analyze(doc), analyze(project.network)
    assert result.ok, [p.message for p in result.problems]
    assert result.total_params != original.total_params  # a real network change, shapes re-inferred
    with pytest.raises(SweepConfigError, match="node:layer2:repeat"):
        apply_params(project.network, project.training, {"node:layer2:repeat": 5000})
    with pytest.raises(SweepConfigError, match="must be above 0"):
        apply_params(project.network, project.training, {"setting:optimizer.lr": -1.0})
    with pytest.raises(SweepConfigError, match="has no node 'nope'"):
        apply_params(project.network, project.training, {"node:nope:units": 1})


def test_candidates_list_settings_and_node_params_whose_suggested_ranges_all_validate():
    project = resnet_small()
    candidates = {c.target: c for c in candidate_targets(project)}
    lr = candidates["setting:optimizer.lr"]
    assert lr.suggested == ParamRange("setting:optimizer.lr", "float", 1e-5, 0.1, True) and lr.current == 0.003
    assert candidates["setting:optimizer.kind"].choices == ("sgd", "adam", "adamw", "rmsprop", "adagrad")
    assert candidates["node:layer2:repeat"].suggested.kind == "int" and candidates["node:layer2:repeat"].minimum == 0
    assert "node:layer1/conv1:kernel_size" in candidates  # inside a block, once for the definition
    assert "node:layer2/conv1:kernel_size" not in candidates
    assert "node:layer1/conv1:out_channels" not in candidates  # driven by the block's `channels`
    assert not any(t.startswith("node:image:") for t in candidates)  # the input's shape is the data's
    assert "setting:device" not in candidates and "setting:telemetry.enabled" not in candidates
    assert "setting:augment.rotation" in candidates
    assert "setting:augment.rotation" not in {c.target for c in candidate_targets(mlp_spirals())}
    config = SweepConfig(ranges=tuple(c.suggested for c in candidates.values()), metric="val_accuracy")
    assert config_problems(config, project.network, project.training) == []
    assert SweepConfig.from_json(config.to_json()) == config


def test_node_targets_are_checked_against_the_network():
    project = resnet_small()

    def problems(*ranges: ParamRange, metric: str = "val_loss") -> list[str]:
        return config_problems(SweepConfig(ranges=ranges, metric=metric), project.network, project.training)

    assert problems(ParamRange("node:layer2:repeat", "int", 0, 3)) == []
    assert "has no node 'nope'" in problems(ParamRange("node:nope:units", "int", 1, 3))[0]
    assert "has no parameter 'units'" in problems(ParamRange("node:stem:units", "int", 1, 3))[0]
    assert "vary that block parameter" in problems(ParamRange("node:layer1/conv1:out_channels", "int", 8, 16))[0]
    assert "is not a block" in problems(ParamRange("node:stem/x:units", "int", 1, 3))[0]
    assert "at most 1000" in problems(ParamRange("node:layer2:repeat", "int", 1, 5000))[0]
    assert "takes kind int or choice" in problems(ParamRange("node:layer2:repeat", "float", 1, 3))[0]
    assert "varies nothing" in problems()[0]
    assert "do not measure mae" in problems(ParamRange("node:layer2:repeat", "int", 1, 2), metric="val_mae")[0]
    no_validation = {**project.dataset, "val_fraction": 0.0}
    config = SweepConfig(ranges=(ParamRange("node:layer2:repeat", "int", 1, 2),))
    assert "holds none out" in config_problems(config, project.network, project.training, no_validation)[0]
    assert config_problems(config, project.network, project.training, project.dataset) == []
    with pytest.raises(SweepConfigError, match="has no node"):
        check_config(SweepConfig(ranges=(ParamRange("node:nope:units", "int", 1, 3),)), project.network,
                     project.training)


@pytest.mark.parametrize("module", ["engine.sweep", "engine.sweep.space", "engine.sweep.targets"])
def test_the_sweep_schema_loads_neither_torch_nor_optuna(module):
    code = (f"import sys, {module}; import engine.sweep as s; s.SweepConfig; s.candidate_targets; "
            "print(','.join(m for m in ('torch', 'optuna', 'PySide6') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_the_readme_sweep_example_is_a_valid_config():
    import re

    text = (ROOT / "README.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, flags=re.S)
    assert example, "the README lost its sweep configuration example"
    config = SweepConfig.from_json(json.loads(example.group(1)))
    assert "node:layer2:repeat" in config.targets and config.metric == "val_accuracy"


def test_trial_values_read_as_people_write_them():
    from engine.sweep.space import format_params, short_name

    assert short_name("node:layer1/conv1:kernel_size") == "layer1/conv1.kernel_size"
    line = format_params({"setting:optimizer.lr": 0.0123456, "node:fc1:out_features": 64,
                          "setting:optimizer.kind": "sgd"})
    assert line == "optimizer.lr=0.01235 fc1.out_features=64 optimizer.kind=sgd"


@pytest.mark.parametrize("end", ["low", "high"])
def test_every_candidate_takes_the_ends_of_its_suggested_range(end):
    project = resnet_small()
    candidates = candidate_targets(project)
    params = {c.target: (c.suggested.choices[0 if end == "low" else -1] if c.suggested.kind == "choice"
                         else getattr(c.suggested, end)) for c in candidates}
    doc, training = apply_params(project.network, project.training, params)
    for c in candidates:
        kind, path, key = c.target.split(":")[0], c.target.split(":")[1], c.target.rsplit(":", 1)[-1]
        if kind == "setting":
            value = training
            for part in path.split("."):
                value = value[part]
        else:
            *outer, last = path.split("/")
            owner = doc
            for instance in outer:
                owner = owner.definition_of(instance).body
            value = owner.nodes[last].params[key]
        assert value == params[c.target], c.target
