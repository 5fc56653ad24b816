"""Deterministic train/validation/test splits, stratified by class.

`split_indices` shuffles with a numpy generator seeded from the seed (a stream
separate from the one kinds draw their data from) and, for class labels,
orders samples by their relative position within their own class before
cutting, so every split gets about the same share of every class. Split sizes
are ``round(n * fraction)``, at least 1 when the fraction is above 0; the
training split takes the rest and must not be empty. Each split comes back
in shuffled order. The same inputs always give the same indices.
"""

from __future__ import annotations

import numpy as np

from engine.data.errors import DatasetError

Indices = tuple[np.ndarray, np.ndarray, np.ndarray]


def _size(n: int, fraction: float) -> int:
    return max(1, round(n * fraction)) if fraction > 0 else 0


def _stratified_order(perm: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`perm` reordered by each sample's rank within its class divided by the class size."""
    ordered = labels[perm]
    counts = np.bincount(ordered)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    by_class = np.argsort(ordered, kind="stable")
    rank = np.empty(len(perm), dtype=np.float64)
    rank[by_class] = np.arange(len(perm)) - starts[ordered[by_class]]
    return perm[np.argsort((rank + 0.5) / counts[ordered], kind="stable")]


def split_indices(n: int, labels: np.ndarray | None, val_fraction: float, test_fraction: float,
                  seed: int) -> Indices:
    """Train, validation and test indices into ``range(n)``; `labels` (int class indices) stratify."""
    n_val, n_test = _size(n, val_fraction), _size(n, test_fraction)
    if n - n_val - n_test < 1:
        raise DatasetError(f"the dataset has only {n} samples: too few to split into training, validation "
                           f"({val_fraction:g}) and test ({test_fraction:g}) parts")
    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(n)
    if labels is not None and n:
        order = _stratified_order(order, np.asarray(labels, dtype=np.int64))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return rng.permutation(train), rng.permutation(val), rng.permutation(test)
