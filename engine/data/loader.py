"""`load_dataset`: from a `DatasetConfig` to split, summarised CPU tensors.

The one pipeline every kind goes through: check the settings, let the kind
load or generate its `SourceData`, split it deterministically from the seed
(kinds with an official test split only get validation split off their
training part), standardise inputs from training statistics when the kind asks
for it, and describe the result in a `DatasetSummary`. Everything a user can
get wrong surfaces as `DatasetError`. Nothing here moves tensors to a device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.data.config import DatasetConfig, DatasetSplits, DatasetSummary
from engine.data.errors import DatasetError
from engine.data.registry import kind_info
from engine.data.source import CLASSIFICATION, SourceData, class_counts
from engine.data.splitting import split_indices

TensorPair = tuple[torch.Tensor, torch.Tensor]


def _check(source: SourceData) -> None:
    if len(source.x) != len(source.y):
        raise DatasetError(f"{source.name}: {len(source.x)} inputs but {len(source.y)} targets")
    if len(source.x) == 0:
        raise DatasetError(f"{source.name} holds no samples")
    if source.task == CLASSIFICATION:
        pairs = [(source.x, source.y), *([source.test] if source.test else [])]
        low = min(int(y.min()) for _, y in pairs if len(y))
        top = max(int(y.max()) for _, y in pairs if len(y))
        if low < 0 or top >= len(source.class_names):
            raise DatasetError(f"{source.name}: class labels must lie in 0..{len(source.class_names) - 1}, "
                               f"found {low}..{top}")


def _take(pair: TensorPair, index: np.ndarray) -> TensorPair:
    idx = torch.as_tensor(index, dtype=torch.int64)
    return pair[0][idx], pair[1][idx]


def _standardize(train: TensorPair, *others: TensorPair) -> list[TensorPair]:
    """Inputs shifted and scaled per feature with the training split's mean and standard deviation."""
    mean = train[0].mean(dim=0)
    std = train[0].std(dim=0, unbiased=False)
    std = torch.where(std < 1e-8, torch.ones_like(std), std)
    return [((x - mean) / std, y) for x, y in (train, *others)]


def _split(source: SourceData, config: DatasetConfig) -> list[TensorPair]:
    labels = source.y.numpy() if source.task == CLASSIFICATION else None
    everything = (source.x, source.y)
    if source.test is None:
        parts = split_indices(len(source.y), labels, config.val_fraction, config.test_fraction, config.seed)
        return [_take(everything, idx) for idx in parts]
    train, val, _ = split_indices(len(source.y), labels, config.val_fraction, 0.0, config.seed)
    return [_take(everything, train), _take(everything, val), source.test]


def summarise(source: SourceData, kind: str, splits: list[TensorPair]) -> DatasetSummary:
    """Describe split tensors; shapes and counts are read from the tensors themselves."""
    x, y = splits[0]
    names = ("train", "val", "test")
    classes = source.task == CLASSIFICATION
    k = len(source.class_names)
    return DatasetSummary(
        name=source.name, task=source.task, input_shape=tuple(x.shape[1:]),
        input_dtype=str(x.dtype).removeprefix("torch."), target_shape=tuple(y.shape[1:]),
        num_classes=k if classes else None, class_names=list(source.class_names),
        sizes={n: len(s[1]) for n, s in zip(names, splits)},
        class_counts={n: class_counts(s[1], k) for n, s in zip(names, splits)} if classes else {},
        vocab_size=source.vocab_size, kind=kind)


def load_dataset(config: DatasetConfig, root: Path | None = None) -> DatasetSplits:
    """Load, split and describe the dataset `config` names.

    Args:
        config: the kind, its parameters, the split fractions and the seed.
        root: the folder relative file paths are resolved against (normally the project's folder).
    """
    params = config.validate()
    source = kind_info(config.kind).load(params, config.seed, root)
    _check(source)
    splits = _split(source, config)
    if source.standardize:
        splits = _standardize(*splits)
    return DatasetSplits(*splits, summarise(source, config.kind, splits))
