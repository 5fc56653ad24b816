"""Turning target values from files into class indices or regression values.

`encode_classes` maps arbitrary labels (text or numbers) to class indices in
sorted order and records the original text as class names: numbers sort by
value ("2" before "10"), text alphabetically. `parse_numbers` converts text
cells to float64 in one vectorised step and, only when that fails, finds the
first bad cell so the error can name its line.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.data.errors import DatasetError

AUTO_MAX_CLASSES = 20  # "auto" treats whole-number targets with at most this many values as classes


def number_text(value: float) -> str:
    """A label as a person would write it: 3 rather than 3.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def first_bad_number(cells: Sequence[str]) -> int | None:
    """The position of the first cell that is not a finite number, or None."""
    for i, cell in enumerate(cells):
        try:
            if not np.isfinite(float(cell)):
                return i
        except ValueError:
            return i
    return None


def parse_numbers(cells: Sequence[str] | Sequence[Sequence[str]]) -> np.ndarray | None:
    """Cells as a float64 array, or None when any is not a finite number."""
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def looks_like_classes(values: np.ndarray) -> bool:
    """Whether numeric targets look like class labels: whole numbers with few distinct values."""
    return bool(np.all(values == np.round(values))) and len(np.unique(values)) <= AUTO_MAX_CLASSES


def encode_classes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Class indices (int64) and names for labels, in sorted order of the distinct values."""
    if values.size == 0:
        raise DatasetError("there are no samples to take class labels from")
    unique, inverse = np.unique(values, return_inverse=True)
    if values.dtype.kind in "biuf":
        names = [number_text(v) for v in unique]
    else:
        names = [str(v) for v in unique]
    return inverse.reshape(-1).astype(np.int64), names
