"""Reading pickled dataset files without running code from them.

Some standard datasets ship only as pickles (CIFAR-10's ``cifar-10-batches-py``:
a dict of a uint8 numpy array, a list of labels and some names). A pickle can
name any importable function and call it, so `load_restricted` never uses
`pickle.load` on its own: its unpickler admits exactly the globals a numpy array
needs to be rebuilt (`ndarray`, `dtype`, and numpy's own reconstruct and
from-buffer functions, under their numpy 1 and 2 module names, and the latin-1
``_codecs.encode`` that protocol-2 pickles use for bytes). Containers,
strings and numbers need no globals at all. Anything else, and any array of
Python objects, is refused with `UnsafePickleError` naming what the file asked
for, before it is called. The file size is capped before anything is read.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

MAX_PICKLE_BYTES = 512 * 1024 * 1024  # a CIFAR-10 batch is 31 MB


class UnsafePickleError(pickle.UnpicklingError):
    """The file asked for something a plain numpy-and-builtins dataset file never holds."""


def _safe_dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:  # object arrays would hold (and later call into) arbitrary Python objects
        raise UnsafePickleError(f"an array of Python objects (dtype {dtype})")
    return dtype


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    # protocol-2 pickles written by Python 3 store bytes as _codecs.encode(text, "latin1")
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise UnsafePickleError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _numpy_function(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _latin1_bytes,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = ("numpy._core.multiarray", "_reconstruct")
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = ("numpy._core.numeric", "_frombuffer")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise UnsafePickleError(f"{module}.{name}")
        if isinstance(allowed, tuple):
            return _numpy_function(*allowed)
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("a persistent object reference")


def load_restricted(path: Path, max_bytes: int = MAX_PICKLE_BYTES) -> Any:
    """Unpickle `path` admitting only numpy arrays (of plain values) and builtin containers.

    Raises `UnsafePickleError` for anything else and `ValueError` for a file over `max_bytes`;
    a damaged file raises what unpickling raises (the caller words it for its users).
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path} is {size:,} bytes, more than the {max_bytes:,} a dataset file may have")
    data = path.read_bytes()
    result = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    _check_arrays(result)
    return result


def _check_arrays(value: Any) -> None:
    """Refuse object arrays that reached the result without passing `_safe_dtype` (e.g. a dtype by value)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise UnsafePickleError(f"an array of Python objects (dtype {item.dtype})")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
