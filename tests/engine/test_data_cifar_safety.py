"""CIFAR-10 batch files are read without running code: a crafted batch is refused, never executed."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cifar_files import RunsACommand, write_cifar

from engine.data import DatasetConfig, DatasetError, load_dataset
from engine.data.safe_pickle import UnsafePickleError, load_restricted
from engine.project import load_project, save_project
from engine.resources import example_path

ROOT = Path(__file__).resolve().parents[2]


def cifar_config(root: Path) -> DatasetConfig:
    return DatasetConfig("cifar10", {"root": str(root), "download": False}, 0.2, 0.0, 0)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_genuine_batch_files_load(tmp_path, protocol):
    write_cifar(tmp_path, per_batch=8, protocol=protocol)
    splits = load_dataset(cifar_config(tmp_path))
    assert splits.summary.input_shape == (3, 32, 32)
    assert splits.summary.sizes["test"] == 8 and sum(splits.summary.sizes.values()) == 48
    assert splits.summary.class_names[0] == "airplane"


def test_a_crafted_batch_is_refused_with_a_clear_message_and_never_runs(tmp_path):
    marker = tmp_path / "ran.txt"
    folder = write_cifar(tmp_path, evil_marker=marker)
    with pytest.raises(DatasetError) as caught:
        load_dataset(cifar_config(tmp_path))
    message = str(caught.value)
    assert "data_batch_1 was refused" in message and "posix.system" in message
    assert f"Delete the folder {folder}" in message
    assert not marker.exists()


def test_the_restricted_unpickler_refuses_object_arrays_and_any_other_global(tmp_path):
    path = tmp_path / "objects.pkl"
    path.write_bytes(pickle.dumps({"data": np.array([RunsACommand("true")], dtype=object)}))
    with pytest.raises(UnsafePickleError):
        load_restricted(path)
    path.write_bytes(pickle.dumps({"when": __import__("datetime").date(2020, 1, 1)}))
    with pytest.raises(UnsafePickleError, match=r"datetime\.date"):
        load_restricted(path)


def test_layerloom_train_refuses_the_crafted_batch_and_never_runs_it(tmp_path):
    marker = tmp_path / "ran.txt"
    write_cifar(tmp_path / "data", evil_marker=marker)
    project = load_project(example_path("resnet_small"))
    project.dataset = {"kind": "cifar10", "params": {"root": "data", "download": False, "max_samples": 40},
                       "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}
    path = save_project(project, tmp_path / "shared.loom")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "train", str(path), "--epochs", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "data_batch_1 was refused" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not marker.exists()
