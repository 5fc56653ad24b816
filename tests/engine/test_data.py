"""The datasets layer: generated kinds, configuration, splitting, summaries, checks and previews."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from engine.data import (
    DatasetConfig,
    DatasetError,
    DatasetSummary,
    check_input_shape,
    dataset_kinds,
    kind_info,
    load_dataset,
    resolve_params,
    sample_grid,
)
from engine.data.kind import GENERATED
from engine.data.splitting import split_indices

GENERATED_KINDS = [k.kind for k in dataset_kinds() if k.group == GENERATED]
EXPECTED = {  # kind -> (input shape, input dtype, number of classes or None for regression)
    "spirals": ((2,), torch.float32, 2),
    "moons": ((2,), torch.float32, 2),
    "circles": ((2,), torch.float32, 2),
    "xor": ((2,), torch.float32, 2),
    "curve": ((1,), torch.float32, None),
    "shapes": ((1, 28, 28), torch.float32, 6),
    "colour_shapes": ((3, 32, 32), torch.float32, 10),
    "waveforms": ((64, 1), torch.float32, 4),
    "parity": ((6,), torch.int64, 2),
    "copy_first": ((10,), torch.int64, 4),
}


def small(kind: str, seed: int = 0, **params: object) -> DatasetConfig:
    return DatasetConfig(kind, {"n_samples": 300, **params}, seed=seed)


def test_generated_kinds_are_the_expected_ones() -> None:
    assert sorted(GENERATED_KINDS) == sorted(EXPECTED)


@pytest.mark.parametrize("kind", GENERATED_KINDS)
def test_generated_kind_loads_with_right_shapes(kind: str) -> None:
    shape, dtype, classes = EXPECTED[kind]
    splits = load_dataset(small(kind))
    summary = splits.summary
    assert summary.input_shape == shape and summary.input_dtype == str(dtype).removeprefix("torch.")
    assert summary.sizes == {"train": 210, "val": 45, "test": 45}
    for name in ("train", "val", "test"):
        x, y = splits.split(name)
        assert x.shape == (summary.sizes[name], *shape) and x.dtype == dtype and x.device.type == "cpu"
        assert len(y) == len(x)
        if x.dtype == torch.float32:
            assert torch.isfinite(x).all()
        if classes is None:
            assert y.dtype == torch.float32 and y.shape == (len(x), 1)
        else:
            assert y.dtype == torch.int64 and y.shape == (len(x),)
            assert sum(summary.class_counts[name]) == len(y)
            assert summary.class_counts[name] == torch.bincount(y, minlength=classes).tolist()
    assert summary.num_classes == classes
    assert len(summary.class_names) == (classes or 0)
    assert summary.target_shape == (() if classes else (1,))
    assert json.loads(json.dumps(summary.to_json())) == summary.to_json()
    assert DatasetSummary.from_json(summary.to_json()) == summary
    assert summary.lines()[0].startswith("Dataset: ")


@pytest.mark.parametrize("kind", GENERATED_KINDS)
def test_generated_kind_is_deterministic_from_the_seed(kind: str) -> None:
    a, b, c = (load_dataset(small(kind, seed=s)) for s in (3, 3, 4))
    for name in ("train", "val", "test"):
        assert torch.equal(a.split(name)[0], b.split(name)[0])
        assert torch.equal(a.split(name)[1], b.split(name)[1])
    assert not torch.equal(a.train[0], c.train[0])


def test_generation_at_default_size_is_fast() -> None:
    start = time.process_time()  # CPU time of this process: what the generation costs, whatever the load
    for kind in GENERATED_KINDS:
        load_dataset(DatasetConfig(kind, {}))
    assert time.process_time() - start < 2.0  # about 0.1 s of CPU on a laptop


def test_value_ranges_and_token_vocabulary() -> None:
    shapes = load_dataset(small("shapes"))
    assert float(shapes.train[0].min()) >= 0.0 and float(shapes.train[0].max()) <= 1.0
    assert (shapes.train[0].amax(dim=(1, 2, 3)) > 0.5).all()  # every image shows its shape
    copy = load_dataset(small("copy_first", symbols=5))
    assert copy.summary.vocab_size == 5 and int(copy.train[0].max()) < 5
    assert torch.equal(copy.train[1], copy.train[0][:, 0])
    parity = load_dataset(small("parity", seq_len=9))
    assert torch.equal(parity.train[1], parity.train[0].sum(dim=1) % 2)


def test_spirals_have_one_class_per_arm() -> None:
    splits = load_dataset(small("spirals", arms=5))
    assert splits.summary.num_classes == 5 and splits.summary.class_names[-1] == "arm 5"


def test_split_indices_are_disjoint_complete_and_stratified() -> None:
    labels = np.repeat(np.arange(3), [500, 300, 200])
    train, val, test = split_indices(1000, labels, 0.2, 0.1, seed=5)
    assert (len(train), len(val), len(test)) == (700, 200, 100)
    everything = np.concatenate([train, val, test])
    assert sorted(everything.tolist()) == list(range(1000))
    assert np.bincount(labels[val]).tolist() == [100, 60, 40]
    assert np.bincount(labels[test]).tolist() == [50, 30, 20]
    again = split_indices(1000, labels, 0.2, 0.1, seed=5)
    assert all(np.array_equal(p, q) for p, q in zip((train, val, test), again))
    assert not np.array_equal(train, split_indices(1000, labels, 0.2, 0.1, seed=6)[0])


def test_splits_do_not_share_samples() -> None:
    splits = load_dataset(DatasetConfig("moons", {"n_samples": 500}, val_fraction=0.2, test_fraction=0.3))
    rows = [{tuple(r) for r in s[0].tolist()} for s in (splits.train, splits.val, splits.test)]
    assert sum(map(len, rows)) == 500 == len(set.union(*rows))
    assert splits.summary.sizes == {"train": 250, "val": 100, "test": 150}


def test_zero_fractions_leave_empty_splits() -> None:
    splits = load_dataset(DatasetConfig("xor", {"n_samples": 100}, val_fraction=0.0, test_fraction=0.0))
    assert splits.summary.sizes == {"train": 100, "val": 0, "test": 0}
    assert splits.val[0].shape == (0, 2) and splits.summary.class_counts["val"] == [0, 0]


def test_too_few_samples_to_split_is_an_error() -> None:
    with pytest.raises(DatasetError, match="only 2 samples"):
        split_indices(2, None, 0.4, 0.4, seed=0)


def test_config_round_trips_through_json() -> None:
    config = DatasetConfig("spirals", {"arms": 3, "noise": 0.1}, val_fraction=0.1, test_fraction=0.2, seed=9)
    data = json.loads(json.dumps(config.to_json()))
    assert DatasetConfig.from_json(data) == config


@pytest.mark.parametrize(("data", "message"), [
    ([], "must be a JSON object"),
    ({"params": {}}, "need a 'kind'"),
    ({"kind": "pictures"}, "unknown dataset kind 'pictures'; choose one of spirals"),
    ({"kind": "moons", "colour": 1}, "unknown dataset setting 'colour'"),
    ({"kind": "moons", "params": [1]}, "must be an object"),
    ({"kind": "moons", "params": {"arms": 3}}, "no parameter 'arms'; its parameters are n_samples, noise"),
    ({"kind": "moons", "params": {"n_samples": "many"}}, "n_samples must be a whole number"),
    ({"kind": "moons", "params": {"n_samples": 3}}, "n_samples must be at least 10"),
    ({"kind": "moons", "val_fraction": 1.5}, "Validation fraction (val_fraction) must be below 1, got 1.5"),
    ({"kind": "moons", "val_fraction": 0.5, "test_fraction": 0.5}, "must be below 1"),
    ({"kind": "moons", "test_fraction": "half"}, "Test fraction (test_fraction) must be a finite number"),
    ({"kind": "moons", "seed": -1}, "Split seed (seed) must be at least 0, got -1"),
    ({"kind": "moons", "seed": True}, "Split seed (seed) must be a whole number"),
])
def test_config_from_json_rejects_bad_data(data: object, message: str) -> None:
    with pytest.raises(DatasetError, match=re.escape(message)):
        DatasetConfig.from_json(data)


def test_unknown_kind_is_an_error_when_loading() -> None:
    with pytest.raises(DatasetError, match="unknown dataset kind 'nope'"):
        load_dataset(DatasetConfig("nope", {}))


def test_every_kind_has_a_usable_schema() -> None:
    kinds = dataset_kinds()
    assert len({k.kind for k in kinds}) == len(kinds)
    assert {"spirals", "moons", "circles", "xor", "shapes", "waveforms", "parity", "copy_first", "mnist",
            "fashion_mnist", "cifar10", "csv", "image_folder", "npz"} <= {k.kind for k in kinds}
    for info in kinds:
        assert info.title and info.description and info.group
        assert resolve_params(info.kind, {}) == info.defaults()
        schema = json.loads(json.dumps(info.to_json()))
        assert [p["name"] for p in schema["params"]] == [p.name for p in info.params]
        assert set(info.paths) <= {p.name for p in info.params}
        assert all(p.help for p in info.params)
    assert kind_info("csv").paths == {"path": "file"}


def test_check_input_shape_accepts_a_match() -> None:
    summary = load_dataset(small("shapes")).summary
    assert check_input_shape(summary, (1, 28, 28), "float32") is None
    assert check_input_shape(summary, (1, 28, 28), "float") is None


def test_check_input_shape_explains_a_mismatch() -> None:
    summary = load_dataset(small("shapes")).summary
    message = check_input_shape(summary, (3, 32, 32), "float", node_name="input")
    assert message is not None
    assert message.startswith("the dataset gives samples of 1×28×28 but the Input node 'input' expects "
                              "3×32×32")
    assert "set its shape to 1, 28, 28" in message
    flat = check_input_shape(summary, (784,), "float", node_name="pixels")
    assert flat is not None and "'pixels' expects 784" in flat and "Reshape" in flat


def test_check_input_shape_explains_dtype_mismatches() -> None:
    tokens = load_dataset(small("parity")).summary
    assert check_input_shape(tokens, (6,), "token_ids") is None
    message = check_input_shape(tokens, (6,), "float")
    assert message is not None and "token ids" in message and "set its dtype to token_ids" in message
    points = load_dataset(small("moons")).summary
    message = check_input_shape(points, (2,), "token_ids")
    assert message is not None and "set its dtype to float" in message


def test_sample_grid_gives_images_for_image_data() -> None:
    splits = load_dataset(small("shapes"))
    images, labels = sample_grid(splits, n=8)
    assert images is not None and images.shape == (8, 28, 28, 1) and images.dtype == np.uint8
    assert labels == [splits.summary.class_names[int(i)] for i in splits.train[1][:8]]
    assert images.max() > 200


def test_sample_grid_gives_labels_only_for_other_data() -> None:
    images, labels = sample_grid(load_dataset(small("circles")), n=5, split="val")
    assert images is None and len(labels) == 5 and set(labels) <= {"outer", "inner"}
    images, labels = sample_grid(load_dataset(small("curve")), n=3)
    assert images is None and len(labels) == 3 and all(float(v) == float(v) for v in labels)


def test_importing_engine_data_imports_no_qt_and_no_torchvision() -> None:
    code = ("import sys, engine.data; bad = [m for m in ('PySide6', 'pyqtgraph', 'studio', 'torchvision') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
