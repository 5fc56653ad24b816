"""Datasets for the training engine: built-in generated sets, standard image sets and your own files.

`load_dataset(DatasetConfig(kind, params, ...))` returns `DatasetSplits`: CPU
tensors for train, validation and test, split deterministically from the seed,
and a `DatasetSummary` describing them. `dataset_kinds()` lists every kind with
a parameter schema a form can be generated from. `check_input_shape` tells
whether a network's Input node fits a dataset; `sample_grid` gives preview
images; `make_augmenter` builds batch augmentation that runs on the training
device. Problems a user can fix are raised as `DatasetError`. This package
never imports Qt; torchvision is imported only by the kinds that need it.
"""

from engine.data.augment import AugmentConfig, make_augmenter
from engine.data.checks import check_input_shape
from engine.data.config import DatasetConfig, DatasetSplits, DatasetSummary, TensorPair
from engine.data.errors import DatasetError
from engine.data.kind import DatasetKindInfo
from engine.data.loader import load_dataset
from engine.data.preview import sample_grid
from engine.data.registry import dataset_kinds, kind_info, resolve_params

__all__ = [
    "AugmentConfig",
    "DatasetConfig",
    "DatasetError",
    "DatasetKindInfo",
    "DatasetSplits",
    "DatasetSummary",
    "TensorPair",
    "check_input_shape",
    "dataset_kinds",
    "kind_info",
    "load_dataset",
    "make_augmenter",
    "resolve_params",
    "sample_grid",
]
