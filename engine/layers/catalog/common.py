"""Small pieces shared by layer declarations: the weight-init parameter and input checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.spec import FLOAT, Param, ShapeError, TensorSpec

INIT_CHOICES = (
    "default",
    "kaiming_normal",
    "kaiming_uniform",
    "xavier_normal",
    "xavier_uniform",
    "orthogonal",
    "normal",
    "zeros",
)


def init_param() -> Param:
    return Param(
        "init",
        "choice",
        "default",
        help="How the weights start: PyTorch's default, or a named scheme (biases start at zero then).",
        choices=INIT_CHOICES,
    )


def bias_param(default: bool = True) -> Param:
    return Param("bias", "bool", default, help="Learn an additive bias.")


def apply_init(module: Any, scheme: str) -> Any:
    """Re-initialise every weight matrix of `module` with `scheme` (torch imported lazily)."""
    if scheme == "default":
        return module
    from torch import nn

    for name, tensor in module.named_parameters():
        if name.endswith("bias") or "bias" in name.rsplit(".", 1)[-1]:
            nn.init.zeros_(tensor)
            continue
        if tensor.dim() < 2:
            continue  # norm scales keep their default of one
        if scheme == "kaiming_normal":
            nn.init.kaiming_normal_(tensor, nonlinearity="relu")
        elif scheme == "kaiming_uniform":
            nn.init.kaiming_uniform_(tensor, nonlinearity="relu")
        elif scheme == "xavier_normal":
            nn.init.xavier_normal_(tensor)
        elif scheme == "xavier_uniform":
            nn.init.xavier_uniform_(tensor)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(tensor)
        elif scheme == "normal":
            nn.init.normal_(tensor, std=0.02)
        elif scheme == "zeros":
            nn.init.zeros_(tensor)
        else:
            raise ValueError(f"unknown init scheme {scheme!r}")
    return module


def single(inputs: Sequence[TensorSpec]) -> TensorSpec:
    """The one input of a single-input layer."""
    return inputs[0]


def need_rank(x: TensorSpec, ranks: Sequence[int], what: str, fix_type: str | None = None) -> None:
    """Raise a ShapeError unless `x` (without batch) has one of `ranks` dimensions."""
    if len(x.shape) not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(
            f"expects a {want} input ({what}) per sample but gets {x.label()}",
            fix_type=fix_type,
        )


def need_float(x: TensorSpec, title: str) -> None:
    if x.dtype != FLOAT:
        raise ShapeError(f"{title} needs float input but gets token ids; insert an Embedding first",
                         fix_type="Embedding")


def same_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    """Shape rule of element-wise layers: the output is the input."""
    return inputs[0]


def same_float_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    need_float(inputs[0], "this layer")
    return inputs[0]
