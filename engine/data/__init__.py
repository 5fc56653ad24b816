"""Datasets for the training engine: built-in generated sets, standard image sets and your own files.

`load_dataset(DatasetConfig(kind, params, ...))` returns `DatasetSplits`: CPU
tensors for train, validation and test, split deterministically from the seed,
and a `DatasetSummary` describing them. `dataset_kinds()` lists every kind with
a parameter schema a form can be generated from. `check_input_shape` tells
whether a network's Input node fits a dataset; `dataset_availability` whether
its files are here (or may be downloaded), without loading it; `sample_grid` gives preview
images; `make_augmenter` builds batch augmentation that runs on the training
device. Problems a user can fix are raised as `DatasetError`. This package
never imports Qt; torchvision is imported only by the kinds that need it.

The names are loaded on first use (PEP 562), so importing the light half (the
configuration, the kinds, the checks) never loads torch: only `load_dataset`,
`sample_grid` and `make_augmenter` do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.data.augment import make_augmenter
    from engine.data.augment_config import AugmentConfig
    from engine.data.availability import DatasetAvailability, dataset_availability
    from engine.data.checks import check_input_shape
    from engine.data.config import DatasetConfig, DatasetSplits, DatasetSummary
    from engine.data.errors import DatasetError
    from engine.data.kind import DatasetKindInfo
    from engine.data.loader import load_dataset
    from engine.data.preview import sample_grid
    from engine.data.registry import dataset_kinds, kind_info, resolve_params

_WHERE = {
    "AugmentConfig": "engine.data.augment_config",
    "make_augmenter": "engine.data.augment",
    "DatasetAvailability": "engine.data.availability",
    "dataset_availability": "engine.data.availability",
    "check_input_shape": "engine.data.checks",
    "DatasetConfig": "engine.data.config",
    "DatasetSplits": "engine.data.config",
    "DatasetSummary": "engine.data.config",
    "DatasetError": "engine.data.errors",
    "DatasetKindInfo": "engine.data.kind",
    "load_dataset": "engine.data.loader",
    "sample_grid": "engine.data.preview",
    "dataset_kinds": "engine.data.registry",
    "kind_info": "engine.data.registry",
    "resolve_params": "engine.data.registry",
}
__all__ = [
    "AugmentConfig",
    "DatasetAvailability",
    "DatasetConfig",
    "DatasetError",
    "DatasetKindInfo",
    "DatasetSplits",
    "DatasetSummary",
    "check_input_shape",
    "dataset_availability",
    "dataset_kinds",
    "kind_info",
    "load_dataset",
    "make_augmenter",
    "resolve_params",
    "sample_grid",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
