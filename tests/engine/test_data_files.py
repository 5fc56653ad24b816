"""The datasets layer reading real files: CSV, .npz, image folders, MNIST idx files and CIFAR-10 batches.

Every file is written to tmp_path in its real on-disk format (torchvision's own for MNIST and CIFAR-10);
nothing is mocked and nothing is downloaded.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DatasetConfig, DatasetError, DatasetSplits, load_dataset
from engine.data.image_folder import read_with_pillow, read_with_torchvision
from engine.data.safe_pickle import load_restricted
from engine.data.torchvision_sets import CIFAR_FOLDER, MNIST_FILES


def load(kind: str, val_fraction: float = 0.15, test_fraction: float = 0.15,
         **params: object) -> DatasetSplits:
    return load_dataset(DatasetConfig(kind, params, val_fraction, test_fraction, seed=1))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- CSV -------------------------------------------------------------------------------------------------

IRIS_LIKE = "a,b,species\n" + "".join(
    f"{i % 7}.5,{(i * 3) % 11},{['setosa', 'virginica', 'versicolor'][i % 3]}\n" for i in range(60))


def test_csv_with_text_labels_is_classification(tmp_path: Path) -> None:
    splits = load("csv", path=str(write(tmp_path / "flowers.csv", IRIS_LIKE)), standardize=False)
    summary = splits.summary
    assert summary.task == "classification" and summary.name == "flowers"
    assert summary.class_names == ["setosa", "versicolor", "virginica"]
    assert summary.input_shape == (2,) and summary.sizes == {"train": 42, "val": 9, "test": 9}
    assert sum(map(sum, summary.class_counts.values())) == 60
    x, y = splits.train
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    rows = {tuple(r) for s in (splits.train, splits.val, splits.test) for r in s[0].tolist()}
    assert (0.5, 0.0) in rows and (6.5, 7.0) in rows  # rows 0 and 6 of the file, unscaled


def test_csv_standardises_with_training_statistics_only(tmp_path: Path) -> None:
    splits = load("csv", path=str(write(tmp_path / "f.csv", IRIS_LIKE)))
    x = splits.train[0]
    assert torch.allclose(x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(2), atol=1e-5)
    assert not torch.allclose(splits.val[0].mean(0), torch.zeros(2), atol=1e-3)


def test_csv_numeric_targets_follow_task(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i * 0.37:.3f},{i % 3 + 1}\n" for i in range(40))
    path = write(tmp_path / "t.csv", "x1,x2,grade\n" + rows)
    auto = load("csv", path=str(path))
    assert auto.summary.task == "classification" and auto.summary.class_names == ["1", "2", "3"]
    forced = load("csv", path=str(path), task="regression")
    assert forced.summary.task == "regression" and forced.summary.target_shape == (1,)
    assert forced.train[1].dtype == torch.float32
    assert set(forced.train[1].flatten().tolist()) <= {1.0, 2.0, 3.0}
    by_name = load("csv", path=str(path), target_column="x2", ignore_columns="grade")
    assert by_name.summary.task == "regression" and by_name.summary.input_shape == (1,)


def test_csv_options_semicolons_blank_lines_and_quotes(tmp_path: Path) -> None:
    text = 'id;size;"label"\n\n1;2.5;"big dog"\n2;0.5;cat\n3;2.0;"big dog"\n4;0.3;cat\n5;0.4;cat\n'
    splits = load("csv", path=str(write(tmp_path / "pets.csv", text)), ignore_columns="id",
                  val_fraction=0.0, test_fraction=0.0)
    assert splits.summary.class_names == ["big dog", "cat"] and splits.summary.input_shape == (1,)


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,y\n1,2,x\n3,4\n", r"t\.csv, line 3: 2 values, but the header has 3 columns"),
    ("a,b,y\n1,2,x\n\n3,oops,y\n", r"t\.csv, line 4: column 'b' holds 'oops', which is not a number"),
    ("a,b,y\n1,2,x\n3,,y\n", r"line 3: column 'b' holds '', which is not a number"),
    ("a,b,y\n1,2,x\n3,nan,y\n", r"line 3: column 'b' holds 'nan'"),
    ("a,b,y\n1,2,x\n3,4, \n", r"line 3: the target column 'y' is empty"),
    ("", r"is empty"),
    ("a,b,y\n", r"has a header but no data rows"),
    ("y\n1\n2\n", r"no feature columns"),
])
def test_malformed_csv_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load("csv", path=str(write(tmp_path / "t.csv", text)))


def test_csv_errors_for_columns_task_and_paths(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "a,y\n1,cat\n2,dog\n3,cat\n")
    with pytest.raises(DatasetError, match=r"no column 'label'; its columns are 'a', 'y'"):
        load("csv", path=str(path), target_column="label")
    with pytest.raises(DatasetError, match=r"line 2: column 'y' holds 'cat', which is not a number"):
        load("csv", path=str(path), task="regression")
    with pytest.raises(DatasetError, match=r"the CSV file .*missing\.csv does not exist"):
        load("csv", path=str(tmp_path / "missing.csv"))
    with pytest.raises(DatasetError, match="is a folder"):
        load("csv", path=str(tmp_path))
    with pytest.raises(DatasetError, match="choose a CSV file"):
        load("csv")
    with pytest.raises(DatasetError, match="task must be one of auto, classification, regression"):
        load("csv", path=str(path), task="clustering")
    (tmp_path / "latin.csv").write_bytes(b"a,y\n1,caf\xe9\n")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load("csv", path=str(tmp_path / "latin.csv"))


def test_relative_paths_resolve_against_the_root(tmp_path: Path) -> None:
    write(tmp_path / "t.csv", IRIS_LIKE)
    splits = load_dataset(DatasetConfig("csv", {"path": "t.csv"}), root=tmp_path)
    assert splits.summary.sizes["train"] == 42


# --- NPZ -------------------------------------------------------------------------------------------------

def test_npz_classification_keeps_integer_class_indices(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(50, 4, 3))
    y = np.arange(50) % 5
    np.savez(tmp_path / "d.npz", x=x, y=y)
    splits = load("npz", path=str(tmp_path / "d.npz"))
    assert splits.summary.input_shape == (4, 3) and splits.summary.num_classes == 5
    assert splits.summary.class_names == ["0", "1", "2", "3", "4"]
    assert splits.train[0].dtype == torch.float32 and splits.train[1].dtype == torch.int64
    assert sum(splits.summary.sizes.values()) == 50


def test_npz_uint8_images_text_labels_tokens_and_regression(tmp_path: Path) -> None:
    images = np.full((20, 1, 8, 8), 255, dtype=np.uint8)
    np.savez(tmp_path / "img.npz", pixels=images, label=np.array(["dog", "cat"] * 10))
    splits = load("npz", path=str(tmp_path / "img.npz"), x_key="pixels", y_key="label")
    assert splits.summary.class_names == ["cat", "dog"] and float(splits.train[0].max()) == 1.0
    assert splits.summary.is_image
    np.savez(tmp_path / "tok.npz", x=np.arange(60).reshape(20, 3) % 7, y=np.linspace(0, 1, 20))
    tokens = load("npz", path=str(tmp_path / "tok.npz"), input_dtype="int64")
    assert tokens.train[0].dtype == torch.int64 and tokens.summary.vocab_size == 7
    assert tokens.summary.task == "regression" and tokens.train[1].shape == (14, 1)


@pytest.mark.parametrize(("arrays", "params", "message"), [
    ({"x": np.zeros((5, 2)), "labels": np.zeros(5)}, {}, r"has no array 'y'; it holds 'x', 'labels'"),
    ({"x": np.zeros((5, 2)), "y": np.zeros(4)}, {}, r"'x' in d\.npz holds 5 samples but 'y' holds 4"),
    ({"x": np.zeros((5, 2)), "y": np.array([[0], [1], [0], [1], [0]])}, {"task": "classification"},
     "one value per sample"),
    ({"x": np.array(["a"] * 5), "y": np.zeros(5)}, {}, "it must hold numbers"),
    ({"x": np.full((5, 2), -1), "y": np.zeros(5)}, {"input_dtype": "int64"}, "non-negative whole numbers"),
    ({"x": np.zeros((5, 2)), "y": np.array(["a"] * 5)}, {"task": "regression"}, "cannot be a regression"),
    ({"x": np.zeros((5, 2)), "y": np.array([{}] * 5, dtype=object)}, {}, "could not be read safely"),
])
def test_malformed_npz_names_the_problem(tmp_path: Path, arrays: dict, params: dict, message: str) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        load("npz", path=str(tmp_path / "d.npz"), **params)


def test_npz_that_is_not_an_archive(tmp_path: Path) -> None:
    write(tmp_path / "d.npz", "hello")
    with pytest.raises(DatasetError, match=r"not a readable \.npz file"):
        load("npz", path=str(tmp_path / "d.npz"))
    with pytest.raises(DatasetError, match="does not exist"):
        load("npz", path=str(tmp_path / "other.npz"))


# --- Image folder ----------------------------------------------------------------------------------------

def make_image_folder(root: Path, classes: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for c, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            size = (20 + i, 12 + c)
            pixels = rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    (root / "cats" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_loads_resized_images(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "pets", {"cats": 6, "dogs": 4})
    splits = load("image_folder", path=str(root), image_size=16, channels=3)
    summary = splits.summary
    assert summary.class_names == ["cats", "dogs"] and summary.input_shape == (3, 16, 16)
    assert sum(summary.sizes.values()) == 10
    assert [sum(c) for c in zip(*summary.class_counts.values())] == [6, 4]
    x = splits.train[0]
    assert x.dtype == torch.float32 and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    grey = load("image_folder", path=str(root), image_size=8, channels=1)
    assert grey.summary.input_shape == (1, 8, 8) and grey.summary.is_image


def test_pillow_and_torchvision_readers_agree(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    for channels in (1, 3):
        by_pillow = read_with_pillow(tmp_path / "a.png", 24, channels)
        by_torchvision = read_with_torchvision(tmp_path / "a.png", 24, channels)
        assert by_pillow.shape == by_torchvision.shape == (channels, 24, 24)
        assert by_pillow.dtype == by_torchvision.dtype == np.uint8
        assert np.abs(by_pillow.astype(int) - by_torchvision.astype(int)).mean() < 20


def test_image_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"the image folder .*nowhere does not exist"):
        load("image_folder", path=str(tmp_path / "nowhere"))
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DatasetError, match="needs at least two sub-folders"):
        load("image_folder", path=str(tmp_path / "one"))
    root = make_image_folder(tmp_path / "pets", {"cats": 2, "dogs": 2})
    (root / "birds").mkdir()
    with pytest.raises(DatasetError, match=r"class folder .*birds holds no images"):
        load("image_folder", path=str(root))
    (root / "birds" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match=r"the image .*broken\.png could not be read"):
        load("image_folder", path=str(root))
    with pytest.raises(DatasetError, match="channels must be 1"):
        load("image_folder", path=str(root), channels=2)


# --- MNIST and Fashion-MNIST (torchvision's raw idx-ubyte files) ------------------------------------------

def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">I", 0x0800 | array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist(root: Path, folder: str = "MNIST", train: int = 50, test: int = 20) -> Path:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return root


@pytest.mark.parametrize(("kind", "folder", "first_class"),
                         [("mnist", "MNIST", "0"), ("fashion_mnist", "FashionMNIST", "T-shirt/top")])
def test_mnist_style_sets_load_from_raw_files(tmp_path: Path, kind: str, folder: str,
                                              first_class: str) -> None:
    root = make_mnist(tmp_path, folder)
    splits = load_dataset(DatasetConfig(kind, {"root": str(root), "download": False}, val_fraction=0.2))
    summary = splits.summary
    assert summary.input_shape == (1, 28, 28) and summary.num_classes == 10
    assert summary.class_names[0] == first_class
    assert summary.sizes == {"train": 40, "val": 10, "test": 20}
    assert summary.class_counts["test"] == [2] * 10
    assert splits.train[0].dtype == torch.float32 and float(splits.train[0].max()) <= 1.0
    raw = np.frombuffer((root / folder / "raw" / "t10k-images-idx3-ubyte").read_bytes()[16:], dtype=np.uint8)
    assert torch.equal(splits.test[0].flatten(), torch.from_numpy(raw.astype(np.float32) / 255))
    again = load_dataset(DatasetConfig(kind, {"root": str(root), "download": False}, val_fraction=0.2))
    assert torch.equal(again.val[0], splits.val[0])


def test_mnist_subsets(tmp_path: Path) -> None:
    root = make_mnist(tmp_path)
    splits = load("mnist", root=str(root), download=False, max_samples=30, max_test_samples=7)
    assert splits.summary.sizes["train"] + splits.summary.sizes["val"] == 30
    assert splits.summary.sizes["test"] == 7


def test_missing_mnist_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load("mnist", root=str(tmp_path / "data"), download=False)
    message = str(caught.value)
    assert str(tmp_path / "data" / "MNIST" / "raw") in message and "download is off" in message
    assert all(name in message for name in MNIST_FILES)


def test_broken_mnist_file_is_reported(tmp_path: Path) -> None:
    root = make_mnist(tmp_path)
    (root / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    with pytest.raises(DatasetError, match="could not be read"):
        load("mnist", root=str(root), download=False)


# --- CIFAR-10 (torchvision's cifar-10-batches-py pickles) -------------------------------------------------

def make_cifar(root: Path, per_batch: int = 4, test: int = 6) -> Path:
    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test if name == "test_batch" else per_batch
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": [i % 10 for i in range(n)], "batch_label": name}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                     "truck"]}, f)
    return root


def test_cifar10_loads_from_pickled_batches(tmp_path: Path) -> None:
    root = make_cifar(tmp_path)
    splits = load_dataset(DatasetConfig("cifar10", {"root": str(root), "download": False}, val_fraction=0.25))
    summary = splits.summary
    assert summary.input_shape == (3, 32, 32) and summary.class_names[1] == "car"
    assert summary.sizes == {"train": 15, "val": 5, "test": 6}
    raw = load_restricted(root / CIFAR_FOLDER / "test_batch")["data"]
    assert torch.equal(splits.test[0], torch.from_numpy(raw.reshape(-1, 3, 32, 32).astype(np.float32) / 255))
    assert splits.test[1].tolist() == list(range(6))


def test_cifar10_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"CIFAR-10 files were not found in .*cifar-10-batches-py "
                                           r"\(download is off\).*data_batch_1"):
        load("cifar10", root=str(tmp_path), download=False)
    root = make_cifar(tmp_path)
    (root / CIFAR_FOLDER / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"data_batch_3 could not be read"):
        load("cifar10", root=str(root), download=False)
    with open(root / CIFAR_FOLDER / "data_batch_3", "wb") as f:
        pickle.dump({"data": np.zeros((2, 10), dtype=np.uint8), "labels": [0, 1]}, f)
    with pytest.raises(DatasetError, match="expected N×3072"):
        load("cifar10", root=str(root), download=False)
    with open(root / CIFAR_FOLDER / "data_batch_3", "wb") as f:
        pickle.dump({"data": np.zeros((2, 3072), dtype=np.uint8), "labels": [0, 12]}, f)
    with pytest.raises(DatasetError, match=r"class labels must lie in 0\.\.9, found 0\.\.12"):
        load("cifar10", root=str(root), download=False)
