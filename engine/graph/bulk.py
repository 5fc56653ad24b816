"""`gc_paused()`: hold off CPython's cyclic garbage collector while a large document is built or analysed.

Loading or analysing n nodes allocates O(n) long-lived objects; every collection
of the oldest generation walks all of them, and the number of collections grows
with n, so with the collector running such work grows faster than linearly
(measured: a 100,000-node chain validates in 1.4 s paused, 2.4 s not). None of
this work makes reference cycles that need collecting right away, and the
collector resumes (if it was on) as soon as the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
