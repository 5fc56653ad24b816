"""A growing pair of numpy arrays for a curve: appends are amortised O(1), reads are views.

Plots call ``curve.setData(series.x, series.y)`` with views into preallocated buffers that double
when full, so a run of a million points costs a few reallocations rather than a list rebuilt per
redraw.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Series:
    """x and y values of one curve."""

    def __init__(self, capacity: int = 1024) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def append(self, x: float, y: float) -> None:
        self._reserve(self.n + 1)
        self._x[self.n], self._y[self.n] = x, y
        self.n += 1

    def extend(self, xs: Iterable[float], ys: Iterable[float]) -> None:
        xa = np.fromiter(xs, dtype=np.float64)
        ya = np.fromiter(ys, dtype=np.float64)
        self._reserve(self.n + len(xa))
        self._x[self.n:self.n + len(xa)] = xa
        self._y[self.n:self.n + len(ya)] = ya
        self.n += len(xa)

    def clear(self) -> None:
        self.n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[:self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self.n]

    def _reserve(self, size: int) -> None:
        if size <= len(self._x):
            return
        capacity = max(size, 2 * len(self._x))
        for name in ("_x", "_y"):
            grown = np.empty(capacity, dtype=np.float64)
            grown[:self.n] = getattr(self, name)[:self.n]
            setattr(self, name, grown)
