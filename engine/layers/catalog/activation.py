"""Activation functions: element-wise non-linearities and (log-)softmax over a dimension."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import same_float_shape
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def _simple(type_id: str, help_text: str, params: tuple[Param, ...] = (),
            key: tuple[str, ...] = ()) -> LayerSpec:
    def build(p: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
        from torch import nn

        return getattr(nn, type_id)(**dict(p))

    return LayerSpec(
        type_id=type_id,
        title=type_id,
        category="Activation",
        help=help_text,
        params=params,
        inputs=(Port("in"),),
        outputs=(Port("out"),),
        infer=same_float_shape,
        build=build,
        key_params=key,
        name_prefix=type_id.lower(),
    )


def _dim_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = same_float_shape(params, inputs)
    rank = len(x.shape) + 1  # with batch
    dim = params["dim"]
    if not -rank <= dim < rank:
        raise ShapeError(f"dim {dim} is out of range for an input of {rank} dimensions ({x.label()})")
    return x


def _dim_spec(type_id: str, help_text: str) -> LayerSpec:
    spec = _simple(
        type_id,
        help_text,
        (Param("dim", "int", -1, help="Dimension to normalise over, counting the batch as 0.",
               minimum=-8, maximum=8),),
        ("dim",),
    )
    return LayerSpec(**{**spec.__dict__, "infer": _dim_shape})


SPECS = [
    _simple("ReLU", "max(0, x): the default choice for hidden layers."),
    _simple("ReLU6", "min(max(0, x), 6): ReLU capped at 6, as in MobileNet's blocks."),
    _simple(
        "LeakyReLU",
        "x for x > 0, slope·x otherwise: keeps a small gradient for negative inputs.",
        (Param("negative_slope", "float", 0.01, help="Slope for negative inputs.",
               minimum=0.0, maximum=1.0),),
        ("negative_slope",),
    ),
    _simple(
        "ELU",
        "x for x > 0, alpha·(exp(x) − 1) otherwise: smooth, with negative outputs.",
        (Param("alpha", "float", 1.0, help="Saturation value for negative inputs.",
               minimum=0.0, maximum=10.0),),
        ("alpha",),
    ),
    _simple(
        "GELU",
        "x·Φ(x), the Gaussian error linear unit used in Transformers.",
        (Param("approximate", "choice", "none", help="Exact, or the tanh approximation.",
               choices=("none", "tanh")),),
    ),
    _simple("SiLU", "x·sigmoid(x) (also called swish)."),
    _simple("Sigmoid", "1 / (1 + exp(−x)): squashes to (0, 1)."),
    _simple("Tanh", "Hyperbolic tangent: squashes to (−1, 1)."),
    _dim_spec("Softmax", "Turns scores into probabilities that sum to one over a dimension. "
              "Do not put it before a cross-entropy loss, which applies it itself."),
    _dim_spec("LogSoftmax", "log(softmax(x)): pair it with the NLL loss."),
]
