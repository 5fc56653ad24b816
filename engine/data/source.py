"""What a dataset kind hands to the loader: the whole data set as tensors.

A kind's loader reads or generates its samples and returns a `SourceData`:
inputs `x` (N, ...) as float32 or int64 token ids, targets `y` as int64 class
indices (N,) or float32 regression values (N, k), and the class names. Kinds with
an official test split (MNIST, CIFAR-10) put it in `test`; the loader then splits
validation off the training part only. Kinds never split, shuffle for the split
or standardise: `engine.data.loader` does that the same way for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # tensors only when data loads: listing kinds must not import torch
    import torch

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass
class SourceData:
    """All samples of one dataset before splitting."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    task: str
    class_names: list[str] = field(default_factory=list)
    test: tuple[torch.Tensor, torch.Tensor] | None = None
    vocab_size: int | None = None
    standardize: bool = False


def classification(name: str, x: np.ndarray, y: np.ndarray, class_names: list[str],
                   vocab_size: int | None = None) -> SourceData:
    """Wrap numpy arrays of a generated classification task (x float32 or int64, y integer labels)."""
    import torch
    return SourceData(name, torch.from_numpy(np.ascontiguousarray(x)),
                      torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)),
                      task=CLASSIFICATION, class_names=class_names, vocab_size=vocab_size)


def class_counts(y: torch.Tensor, num_classes: int) -> list[int]:
    """How many samples of each class `y` holds."""
    import torch
    if y.numel() == 0:
        return [0] * num_classes
    return [int(c) for c in torch.bincount(y, minlength=num_classes)[:num_classes]]
