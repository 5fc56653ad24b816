"""Activation functions: element-wise non-linearities (PReLU with a learned slope) and (log-)softmax."""

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


def _prelu_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    return inputs[0].shape[0] if params["per_channel"] else 1


def _prelu_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = same_float_shape(params, inputs)
    if params["per_channel"] and not x.shape:
        raise ShapeError("PReLU per channel needs a channel dimension per sample")
    return x


def _prelu_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    count = inputs[0].shape[0] if params["per_channel"] else 1
    return nn.PReLU(count, init=params["init"])


PRELU = LayerSpec(
    type_id="PReLU",
    title="PReLU",
    category="Activation",
    help="x for x > 0, a·x otherwise, with the slope a learned (one for all, or one per channel: the first "
    "dimension after the batch).",
    params=(
        Param("per_channel", "bool", False, help="Learn one slope per channel instead of one in all."),
        Param("init", "float", 0.25, help="The slope's starting value.", minimum=-10.0, maximum=10.0),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_prelu_shape,
    count_params=_prelu_count,
    build=_prelu_build,
    name_prefix="prelu",
)

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
    _simple("Hardswish", "x·ReLU6(x + 3)/6: a cheap swish, as in MobileNetV3."),
    _simple("Hardsigmoid", "ReLU6(x + 3)/6: a cheap sigmoid, as in MobileNetV3's squeeze-and-excitation."),
    _simple("Mish", "x·tanh(softplus(x)): smooth and non-monotonic."),
    _simple(
        "Softplus",
        "log(1 + exp(beta·x))/beta: a smooth ReLU; linear above the threshold.",
        (Param("beta", "float", 1.0, help="Sharpness: larger is closer to ReLU.", minimum=0.01, maximum=100.0),
         Param("threshold", "float", 20.0, help="Above beta·x > threshold the output is x.",
               minimum=0.0, maximum=100.0)),
        ("beta",),
    ),
    PRELU,
    _simple("Sigmoid", "1 / (1 + exp(−x)): squashes to (0, 1)."),
    _simple("Tanh", "Hyperbolic tangent: squashes to (−1, 1)."),
    _dim_spec("Softmax", "Turns scores into probabilities that sum to one over a dimension. "
              "Do not put it before a cross-entropy loss, which applies it itself."),
    _dim_spec("LogSoftmax", "log(softmax(x)): pair it with the NLL loss."),
]
