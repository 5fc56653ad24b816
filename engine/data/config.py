"""The datasets layer's plain data: what to load, what came out, and how it is described.

- `DatasetConfig` is what a project stores: a kind id, that kind's parameters,
  the validation and test fractions and the seed. It round-trips through JSON;
  `from_json` rejects anything malformed with a `DatasetError`.
- `DatasetSplits` holds the loaded train/val/test tensors on the CPU: x is
  float32 (or int64 token ids) of shape (N, *input_shape); y is int64 class
  indices (N,) for classification or float32 (N, k) for regression.
- `DatasetSummary` describes the result for the GUI, the CLI and the trainer;
  its JSON form holds only plain numbers, strings and lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from engine.data.errors import DatasetError
from engine.data.registry import resolve_params
from engine.data.source import CLASSIFICATION

__all__ = ["DatasetConfig", "DatasetError", "DatasetSplits", "DatasetSummary", "TensorPair", "shape_text"]

TensorPair = tuple[torch.Tensor, torch.Tensor]
SPLITS = ("train", "val", "test")
_CONFIG_KEYS = ("kind", "params", "val_fraction", "test_fraction", "seed")


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as people write it: ``1×28×28``; a scalar is ``scalar``."""
    return "×".join(str(s) for s in shape) if shape else "scalar"


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DatasetError(f"dataset setting {key} must be a number, got {value!r}")
    return float(value)


@dataclass
class DatasetConfig:
    """Which dataset to load and how to split it."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0

    def validate(self) -> dict[str, Any]:
        """Check every setting; return the kind's parameters with defaults filled in."""
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise DatasetError(f"{name} must be at least 0 and below 1, got {value}")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise DatasetError("val_fraction + test_fraction must be below 1, so that samples are left "
                               f"for training; got {self.val_fraction} + {self.test_fraction}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise DatasetError(f"seed must be a whole number of at least 0, got {self.seed!r}")
        return resolve_params(self.kind, self.params)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params), "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "seed": self.seed}

    @classmethod
    def from_json(cls, data: Any) -> DatasetConfig:
        """Parse and check stored settings; anything malformed is a `DatasetError`."""
        if not isinstance(data, dict):
            raise DatasetError(f"dataset settings must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_CONFIG_KEYS))
        if unknown:
            raise DatasetError(f"unknown dataset setting {', '.join(map(repr, unknown))}; "
                               f"known settings are {', '.join(_CONFIG_KEYS)}")
        if not isinstance(data.get("kind"), str):
            raise DatasetError("dataset settings need a 'kind' (text), such as 'spirals' or 'mnist'")
        params = data.get("params", {})
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise DatasetError(f"dataset 'params' must be an object of named values, got {params!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, float) and seed.is_integer():
            seed = int(seed)
        config = cls(data["kind"], dict(params), _number(data, "val_fraction", 0.15),
                     _number(data, "test_fraction", 0.15), seed)
        config.validate()
        return config


@dataclass
class DatasetSummary:
    """What a loaded dataset looks like; shapes exclude the batch dimension."""

    name: str
    task: str
    input_shape: tuple[int, ...]
    input_dtype: str
    target_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str]
    sizes: dict[str, int]
    class_counts: dict[str, list[int]]
    vocab_size: int | None = None  # token-id inputs: ids are in [0, vocab_size)
    kind: str = ""

    @property
    def is_image(self) -> bool:
        """Whether samples are float images of shape (C, H, W) with 1 or 3 channels."""
        shape = self.input_shape
        return self.input_dtype == "float32" and len(shape) == 3 and shape[0] in (1, 3)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "task": self.task, "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype, "target_shape": list(self.target_shape),
            "num_classes": self.num_classes, "class_names": list(self.class_names), "sizes": dict(self.sizes),
            "class_counts": {k: list(v) for k, v in self.class_counts.items()}, "vocab_size": self.vocab_size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatasetSummary:
        try:
            return cls(data["name"], data["task"], tuple(data["input_shape"]), data["input_dtype"],
                       tuple(data["target_shape"]), data["num_classes"], list(data["class_names"]),
                       dict(data["sizes"]), {k: list(v) for k, v in data["class_counts"].items()},
                       data.get("vocab_size"), data.get("kind", ""))
        except (KeyError, TypeError, AttributeError) as err:
            raise DatasetError(f"malformed dataset summary: {err!r}") from None

    def lines(self) -> list[str]:
        """A few lines of plain text for the CLI and logs."""
        sizes = ", ".join(f"{s} {self.sizes.get(s, 0)}" for s in SPLITS)
        out = [f"Dataset: {self.name} ({self.task})",
               f"Input:   {shape_text(self.input_shape)} {self.input_dtype}"
               + (f", token ids below {self.vocab_size}" if self.vocab_size else ""),
               f"Samples: {sizes}"]
        if self.task == CLASSIFICATION:
            counts = self.class_counts.get("train", [0] * len(self.class_names))
            listed = ", ".join(f"{n} ({c})" for n, c in zip(self.class_names[:12], counts))
            more = f", ... {len(self.class_names) - 12} more" if len(self.class_names) > 12 else ""
            out.append(f"Target:  class index, {self.num_classes} classes")
            out.append(f"Classes (train counts): {listed}{more}")
        else:
            out.append(f"Target:  {shape_text(self.target_shape)} float32 values")
        return out


@dataclass
class DatasetSplits:
    """The loaded tensors, split three ways, and their description."""

    train: TensorPair
    val: TensorPair
    test: TensorPair
    summary: DatasetSummary

    def split(self, name: str) -> TensorPair:
        """One split by name: "train", "val" or "test"."""
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; use train, val or test")
        pair: TensorPair = getattr(self, name)
        return pair
