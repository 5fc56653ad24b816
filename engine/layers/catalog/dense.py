"""Dense layers: Linear (fully connected, also per position), Dropout and StochasticDepth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import apply_init, bias_param, init_param, need_float
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def _linear_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "Linear")
    if not x.shape:
        raise ShapeError("Linear needs at least one feature dimension per sample")
    if len(x.shape) > 2:
        raise ShapeError(
            f"Linear works on the last dimension, but gets {x.label()}: "
            "flatten the feature maps first",
            fix_type="Flatten",
        )
    return TensorSpec((*x.shape[:-1], params["out_features"]))


def _positionwise_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "Linear (per position)")
    if not x.shape:
        raise ShapeError("Linear (per position) needs at least one feature dimension per sample")
    return TensorSpec((*x.shape[:-1], params["out_features"]))


def _linear_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    in_features = inputs[0].shape[-1]
    out = params["out_features"]
    return in_features * out + (out if params["bias"] else 0)


def _linear_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    module = nn.Linear(inputs[0].shape[-1], params["out_features"], bias=params["bias"])
    return apply_init(module, params["init"])


def _dropout_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.Dropout(params["p"])


def _dropout_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    need_float(inputs[0], "Dropout")
    return inputs[0]


LINEAR = LayerSpec(
    type_id="Linear",
    title="Linear",
    category="Dense",
    help="Fully connected layer: every output is a weighted sum of all input features plus a bias. "
    "Works on the last dimension; the number of input features is inferred.",
    params=(
        Param("out_features", "int", 64, help="Number of output features.", minimum=1, maximum=1_000_000),
        bias_param(),
        init_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_linear_shape,
    count_params=_linear_count,
    build=_linear_build,
    key_params=("out_features",),
    name_prefix="fc",
)

POSITIONWISE_LINEAR = LayerSpec(
    type_id="PositionwiseLinear",
    title="Linear (per position)",
    category="Dense",
    help="A Linear layer applied to the last dimension at every position of an input of any rank, e.g. "
    "channels-last (height, width, channels) maps as in ConvNeXt; the plain Linear refuses such inputs as a "
    "likely missing Flatten. Builds torch's nn.Linear.",
    params=LINEAR.params,
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_positionwise_shape,
    count_params=_linear_count,
    build=_linear_build,
    key_params=("out_features",),
    name_prefix="fc",
)

DROPOUT = LayerSpec(
    type_id="Dropout",
    title="Dropout",
    category="Dense",
    help="During training, zeroes each element with probability p and scales the rest by 1/(1-p); "
    "does nothing at evaluation time.",
    params=(Param("p", "float", 0.5, help="Probability of dropping an element.", minimum=0.0, maximum=0.99),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_dropout_shape,
    build=_dropout_build,
    key_params=("p",),
    name_prefix="dropout",
)



def _stochastic_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import StochasticDepth

    return StochasticDepth(params["p"], params["mode"])


STOCHASTIC_DEPTH = LayerSpec(
    type_id="StochasticDepth",
    title="StochasticDepth",
    category="Dense",
    help="During training, drops a residual branch for a whole sample (row) or the whole batch with "
    "probability p and scales the survivors by 1/(1-p); does nothing at evaluation time. Put it on the "
    "branch just before the residual Add.",
    params=(
        Param("p", "float", 0.1, help="Probability of dropping the branch.", minimum=0.0, maximum=1.0),
        Param("mode", "choice", "row", help="row: per sample; batch: the whole batch at once.",
              choices=("row", "batch")),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_dropout_shape,
    build=_stochastic_build,
    key_params=("p",),
    name_prefix="drop_path",
)

SPECS = [LINEAR, POSITIONWISE_LINEAR, DROPOUT, STOCHASTIC_DEPTH]
