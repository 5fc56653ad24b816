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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.data.errors import DatasetError
from engine.data.registry import dataset_kinds, resolve_params
from engine.data.source import CLASSIFICATION
from engine.settings_schema import SettingValueError, by_path, parse_tree, setting

if TYPE_CHECKING:  # the splits hold tensors, but describing and checking a dataset never loads torch
    import torch

    TensorPair = tuple[torch.Tensor, torch.Tensor]

__all__ = ["DATASET_SETTINGS", "DatasetConfig", "DatasetError", "DatasetSplits", "DatasetSummary", "shape_text"]

SPLITS = ("train", "val", "test")
SECTION = "Dataset"
# The dataset settings a project stores beside ``params`` (each kind declares its own params).
DATASET_SETTINGS = (
    setting("kind", "choice", "spirals", "Dataset", SECTION, "Which dataset to train on.",
            choices=[info.kind for info in dataset_kinds()]),
    setting("val_fraction", "float", 0.15, "Validation fraction", SECTION,
            "Share of the samples held out to validate after every epoch.", minimum=0.0, below=1.0),
    setting("test_fraction", "float", 0.15, "Test fraction", SECTION,
            "Share of the samples held out to test once, after training.", minimum=0.0, below=1.0),
    setting("seed", "int", 0, "Split seed", SECTION, "Seed of the shuffle that splits the samples.",
            minimum=0, maximum=2**31 - 1),
)
_TABLE = by_path(DATASET_SETTINGS)


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as people write it: ``1×28×28``; a scalar is ``scalar``."""
    return "×".join(str(s) for s in shape) if shape else "scalar"


@dataclass
class DatasetConfig:
    """Which dataset to load and how to split it."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    val_fraction: float = _TABLE["val_fraction"].default
    test_fraction: float = _TABLE["test_fraction"].default
    seed: int = _TABLE["seed"].default

    def validate(self) -> dict[str, Any]:
        """Check every setting; return the kind's parameters with defaults filled in."""
        try:
            for s in DATASET_SETTINGS:
                s.coerce(getattr(self, s.path))
        except SettingValueError as exc:
            raise DatasetError(_kind_message(exc, self.kind)) from None
        # the one rule between settings
        if self.val_fraction + self.test_fraction >= 1.0:
            raise DatasetError("val_fraction + test_fraction must be below 1, so that samples are left "
                               f"for training; got {self.val_fraction} + {self.test_fraction}")
        return resolve_params(self.kind, self.params)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params), "val_fraction": self.val_fraction,
                "test_fraction": self.test_fraction, "seed": self.seed}

    @classmethod
    def from_json(cls, data: Any) -> DatasetConfig:
        """Parse and check stored settings; anything malformed is a `DatasetError`."""
        if not isinstance(data, dict):
            raise DatasetError(f"dataset settings must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        if not isinstance(data.get("kind"), str):
            raise DatasetError("dataset settings need a 'kind' (text), such as 'spirals' or 'mnist'")
        params = data.pop("params", {})
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise DatasetError(f"dataset 'params' must be an object of named values, got {params!r}")
        try:
            values = parse_tree(DATASET_SETTINGS, data, "dataset")
        except SettingValueError as exc:
            raise DatasetError(_kind_message(exc, data["kind"])) from None
        config = cls(values["kind"], dict(params), values["val_fraction"], values["test_fraction"], values["seed"])
        config.validate()
        return config


def apply_dataset_overrides(data: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Stored dataset JSON with ``path=value`` overrides (``val_fraction=0.2``, ``params.noise=0.1``)
    applied and checked; raises `DatasetError`. A kind's parameters are read by that kind's schema."""
    from engine.data.registry import kind_info
    from engine.layers.params import ParamError, coerce_param
    from engine.settings_schema import apply_override

    out = dict(data or {})
    params = dict(out.get("params") or {})
    try:
        for assignment in assignments:
            path, _, text = assignment.partition("=")
            if path.startswith("params."):
                info = kind_info(out.get("kind", ""))
                name = path.removeprefix("params.")
                try:
                    param = info.param(name)
                except KeyError:
                    raise DatasetError(f"the {info.title} dataset has no parameter {name!r}; its parameters "
                                       f"are {', '.join(p.name for p in info.params) or 'none'}") from None
                params[name] = coerce_param(param, _param_value(param.kind, text))
            else:
                if path.strip() == "kind" and text.strip() != out.get("kind"):
                    params = {}  # another kind's parameters mean nothing to the new one
                apply_override(DATASET_SETTINGS, out, assignment)
    except (SettingValueError, ParamError, ValueError) as exc:
        raise DatasetError(f"dataset.{exc}" if isinstance(exc, SettingValueError) else str(exc)) from None
    out["params"] = params
    return out


def _param_value(kind: str, text: str) -> Any:
    """A dataset kind parameter typed as text, in the type its kind expects."""
    text = text.strip()
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() in ("true", "1", "yes")
    return text


def _kind_message(exc: SettingValueError, kind: str) -> str:
    """An unknown kind is named the way people look for it (the list of kinds), other problems as they are."""
    if "(kind) must be one of" in str(exc):
        return f"unknown dataset kind {kind!r}; choose one of {', '.join(_TABLE['kind'].choices)}"
    return str(exc)


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
