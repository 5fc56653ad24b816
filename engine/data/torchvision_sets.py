"""MNIST, Fashion-MNIST and CIFAR-10 from torchvision's on-disk formats.

Files are read from ``params["root"]`` (default: `paths.default_cache_root()`),
exactly where torchvision keeps them: ``<root>/MNIST/raw/*-idx?-ubyte``,
``<root>/FashionMNIST/raw/...`` and ``<root>/cifar-10-batches-py/``. When they
are missing and ``download`` is on, torchvision downloads them; when that fails
(no network) or ``download`` is off, a `DatasetError` says where the files were
looked for and how to place them.

MNIST-style sets are read through `torchvision.datasets` and their ``.data`` /
``.targets`` arrays converted to float once (no per-item PIL transforms).
CIFAR-10 batches are pickles: they are read here with the restricted unpickler of
`engine.data.safe_pickle`, which admits only numpy arrays and builtin containers,
so a crafted batch file is refused before it can run anything (torchvision's
reader would unpickle them unrestricted). torchvision is used only to download and
verify the release archive. The official test split is the test split; images are
float32 in [0, 1]. torchvision is imported only when one of these kinds loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.errors import DatasetError
from engine.data.kind import IMAGE_SETS, DatasetKindInfo
from engine.data.paths import default_cache_root, resolve
from engine.data.safe_pickle import UnsafePickleError, load_restricted
from engine.data.source import CLASSIFICATION, SourceData
from engine.layers.spec import Param

if TYPE_CHECKING:  # tensors only when data loads: listing kinds must not import torch
    import torch

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_FILES = (*CIFAR_TRAIN, "test_batch", "batches.meta")
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def data_root(params: Mapping[str, Any], base: Path | None) -> Path:
    """The folder holding the standard image sets for these parameters."""
    return resolve(params["root"], base) if params["root"] else default_cache_root()


DOWNLOAD_SIZES = {"mnist": "12 MB", "fashion_mnist": "30 MB", "cifar10": "170 MB"}
_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


def local_files(kind: str, params: Mapping[str, Any], base: Path | None) -> tuple[Path, tuple[str, ...]]:
    """Where a standard set's files are read from, and which of them are not there yet."""
    root = data_root(params, base)
    if kind == "cifar10":
        folder, files = root / CIFAR_FOLDER, CIFAR_FILES
    else:
        folder, files = root / ("MNIST" if kind == "mnist" else "FashionMNIST") / "raw", MNIST_FILES
    return folder, tuple(f for f in files if not (folder / f).is_file())


def missing_files_error(kind: str, params: Mapping[str, Any], base: Path | None) -> DatasetError | None:
    """The error loading would raise for files that are missing with download off, else None."""
    folder, missing = local_files(kind, params, base)
    if not missing or params["download"]:
        return None
    files = CIFAR_FILES if kind == "cifar10" else MNIST_FILES
    return _missing(_TITLES[kind], folder, files, "download is off")


def _missing(title: str, folder: Path, files: tuple[str, ...], reason: str) -> DatasetError:
    if reason.startswith("download failed"):
        advice = "Check the internet connection and try again"
    else:
        advice = "Turn 'download' on while online"
    return DatasetError(
        f"{title} files were not found in {folder} ({reason}). {advice}, or place torchvision's files "
        f"there: {', '.join(files)}.")


def _first_line(err: BaseException) -> str:
    """A short reason: the first and last lines of a (possibly long, multi-mirror) error message."""
    lines = [line.strip().rstrip(":") for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]}: {lines[-1]}"


def _limit(x: torch.Tensor, y: torch.Tensor, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random subset of at most `limit` samples (0 = all), chosen from the seed."""
    import torch
    if limit <= 0 or limit >= len(y):
        return x, y
    keep = torch.from_numpy(np.sort(np.random.default_rng([seed, 11]).permutation(len(y))[:limit]))
    return x[keep], y[keep]


def _finish(title: str, train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
            names: list[str], params: Mapping[str, Any], seed: int) -> SourceData:
    x, y = _limit(*train, params["max_samples"], seed)
    test = _limit(*test, params["max_test_samples"], seed + 1)
    return SourceData(title, x, y, task=CLASSIFICATION, class_names=names, test=test)


def _load_idx(class_name: str, title: str, names: list[str], params: Mapping[str, Any], seed: int,
              base: Path | None) -> SourceData:
    from torchvision import datasets

    root = data_root(params, base)
    folder = root / class_name / "raw"
    cls = getattr(datasets, class_name)
    try:
        train, test = (cls(str(root), train=part, download=params["download"]) for part in (True, False))
        pairs = [(d.data.unsqueeze(1).float().div_(255.0), d.targets.long()) for d in (train, test)]
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError or asserts on bad files
        if all((folder / f).is_file() for f in MNIST_FILES):
            raise DatasetError(f"the {title} files in {folder} could not be read: {err}") from err
        reason = f"download failed: {_first_line(err)}" if params["download"] else "download is off"
        raise _missing(title, folder, MNIST_FILES, reason) from err
    return _finish(title, pairs[0], pairs[1], names, params, seed)


def load_mnist(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    return _load_idx("MNIST", "MNIST", [str(i) for i in range(10)], params, seed, base)


def load_fashion_mnist(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    return _load_idx("FashionMNIST", "Fashion-MNIST", list(FASHION_CLASSES), params, seed, base)


def _unpickle(path: Path) -> dict[str, Any]:
    try:
        entry = load_restricted(path)
    except UnsafePickleError as err:
        raise DatasetError(
            f"the CIFAR-10 file {path} was refused: it names {err}, which a CIFAR-10 file never needs "
            f"and which could run code when read. Delete the folder {path.parent} and download CIFAR-10 again."
        ) from None
    except Exception as err:  # a truncated or foreign file can raise almost anything while unpickling
        raise DatasetError(f"the CIFAR-10 file {path} could not be read: {err}") from err
    if not isinstance(entry, dict):
        raise DatasetError(f"the CIFAR-10 file {path} does not hold a pickled dict")
    return entry


def _cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import torch
    entry = _unpickle(path)
    if "data" not in entry or "labels" not in entry:
        raise DatasetError(f"the CIFAR-10 file {path} has no 'data' and 'labels' entries")
    data = np.asarray(entry["data"], dtype=np.uint8)
    labels = np.asarray(entry["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DatasetError(f"the CIFAR-10 file {path} holds data of shape {data.shape} for {len(labels)} "
                           "labels; expected N×3072 bytes and N labels")
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32)).float().div_(255.0)
    return x, torch.from_numpy(labels)


def _download_cifar(root: Path) -> None:
    from torchvision import datasets
    from torchvision.datasets.utils import download_and_extract_archive

    cifar = datasets.CIFAR10  # only its release's address and checksum: constructing it would unpickle
    try:
        download_and_extract_archive(cifar.url, str(root), filename=cifar.filename, md5=cifar.tgz_md5)
    except Exception as err:  # network errors arrive as URLError, OSError or RuntimeError
        reason = f"download failed: {_first_line(err)}"
        raise _missing("CIFAR-10", root / CIFAR_FOLDER, CIFAR_FILES, reason) from err


def load_cifar10(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    import torch
    root = data_root(params, base)
    folder = root / CIFAR_FOLDER
    if not all((folder / f).is_file() for f in CIFAR_FILES):
        if not params["download"]:
            raise _missing("CIFAR-10", folder, CIFAR_FILES, "download is off")
        _download_cifar(root)
    batches = [_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    train = (torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches]))
    test = _cifar_batch(folder / "test_batch")
    names = [str(n) for n in _unpickle(folder / "batches.meta").get("label_names", CIFAR_CLASSES)]
    if len(names) < 10:
        raise DatasetError(f"{folder / 'batches.meta'} names {len(names)} classes; CIFAR-10 has 10")
    return _finish("CIFAR-10", train, test, names, params, seed)


def _params() -> tuple[Param, ...]:
    return (
        Param("root", "str", "", help="Folder holding the data sets (empty: ~/.cache/layerloom/datasets, "
              "or $LAYERLOOM_DATASETS)."),
        Param("download", "bool", True, help="Download the files when they are not in the folder yet."),
        Param("max_samples", "int", 0, help="Use at most this many training images, chosen at random from "
              "the seed (0 = all). Small numbers make quick CPU runs.", minimum=0, maximum=10_000_000),
        Param("max_test_samples", "int", 0, help="Use at most this many test images (0 = all).",
              minimum=0, maximum=10_000_000),
    )


_SPLIT_NOTE = " The official test set is the test split; validation is split off the training set."
KINDS = [
    DatasetKindInfo("mnist", "MNIST digits", IMAGE_SETS,
                    "70,000 grey 28×28 images of handwritten digits 0-9." + _SPLIT_NOTE,
                    _params(), load_mnist, {"root": "folder"}),
    DatasetKindInfo("fashion_mnist", "Fashion-MNIST", IMAGE_SETS,
                    "70,000 grey 28×28 images of 10 kinds of clothing." + _SPLIT_NOTE,
                    _params(), load_fashion_mnist, {"root": "folder"}),
    DatasetKindInfo("cifar10", "CIFAR-10", IMAGE_SETS,
                    "60,000 colour 32×32 photos of 10 classes (airplane, cat, ship...)." + _SPLIT_NOTE,
                    _params(), load_cifar10, {"root": "folder"}),
]
