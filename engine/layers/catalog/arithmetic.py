"""Arithmetic: a constant with every element, Subtract and Divide, reductions, and learned tensors.

These are the operations PyTorch code writes inline (``x * 0.5``, ``a - b``,
``x.mean((2, 3))``, ``self.pos_embedding``) and that an imported model needs as
layers. Subtract and Divide broadcast like Multiply: inputs of the same rank
agree on every dimension or have size 1 there. Dimension numbers count the
batch as 0, which is never reduced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import need_float
from engine.layers.catalog.merge import MERGE_PORT, _broadcast_shape
from engine.layers.catalog.reshape import sample_axis
from engine.layers.spec import FLOAT, LayerSpec, Param, Port, ShapeError, TensorSpec

SCALAR_OPS = ("add", "subtract", "multiply", "divide", "power", "reverse_subtract", "reverse_divide")


def _scalar_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    need_float(inputs[0], "Scalar arithmetic")
    return inputs[0]


def _scalar_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import ScalarOp

    return ScalarOp(params["op"], params["value"])


SCALAR_OP = LayerSpec(
    type_id="ScalarOp",
    title="Scalar Arithmetic",
    category="Math",
    help="One operation between every element and a constant: x + c, x − c, x · c, x / c, x ** c, c − x "
    "(reverse_subtract) or c / x (reverse_divide).",
    params=(
        Param("op", "choice", "multiply", help="The operation.", choices=SCALAR_OPS),
        Param("value", "float", 1.0, help="The constant c.", minimum=-1e9, maximum=1e9),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_scalar_shape,
    build=_scalar_build,
    key_params=("op", "value"),
    name_prefix="scalar",
)


def _float_broadcast(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    shape = _broadcast_shape(params, inputs)
    if shape.dtype != FLOAT:
        raise ShapeError("Subtract and Divide need float inputs but get token ids; embed them first")
    return shape


def _merge_build(name: str) -> Any:
    def build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
        from engine.layers import modules

        return getattr(modules, name)()

    return build


SUBTRACT = LayerSpec(
    type_id="Subtract",
    title="Subtract",
    category="Math",
    help="The first input minus the others, in wire order; inputs agree on every dimension or have size 1 "
    "there (broadcasting).",
    params=(),
    inputs=(MERGE_PORT,),
    outputs=(Port("out"),),
    infer=_float_broadcast,
    build=_merge_build("Subtract"),
    name_prefix="sub",
)

DIVIDE = LayerSpec(
    type_id="Divide",
    title="Divide",
    category="Math",
    help="The first input divided by the others, in wire order; inputs agree on every dimension or have "
    "size 1 there (broadcasting).",
    params=(),
    inputs=(MERGE_PORT,),
    outputs=(Port("out"),),
    infer=_float_broadcast,
    build=_merge_build("Divide"),
    name_prefix="div",
)


def _reduce_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    if params["op"] in ("mean",):
        need_float(x, "Reduce mean")
    axes = [sample_axis(d, x, "Reduce", "dims") for d in params["dims"]]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"Reduce dims {params['dims']} name a dimension twice")
    if params["keepdim"]:
        shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    else:
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return TensorSpec(shape, x.dtype)


def _reduce_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Reduce

    return Reduce(params["op"], params["dims"], params["keepdim"])


REDUCE = LayerSpec(
    type_id="Reduce",
    title="Reduce",
    category="Math",
    help="Mean, sum, maximum or minimum over one or more dimensions (batch counted as 0, never reduced): "
    "mean over 2, 3 averages an image's positions.",
    params=(
        Param("op", "choice", "mean", help="The reduction.", choices=("mean", "sum", "amax", "amin")),
        Param("dims", "ints", (-1,), help="Dimensions to reduce; negative counts from the end.",
              minimum=-8, maximum=8),
        Param("keepdim", "bool", False, help="Keep reduced dimensions with size 1."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_reduce_shape,
    build=_reduce_build,
    key_params=("op", "dims"),
    name_prefix="reduce",
)


def _learned_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return TensorSpec(tuple(params["shape"]))


def _learned_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    total = 1
    for s in params["shape"]:
        total *= s
    return total


def _learned_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import LearnedTensor

    return LearnedTensor(params["shape"], params["leading_one"], params["init"])


LEARNED_TENSOR = LayerSpec(
    type_id="LearnedTensor",
    title="Learned Tensor",
    category="Math",
    help="A learned tensor of a fixed shape, repeated for every sample: a Transformer's class token or "
    "positional embedding, ConvNeXt's layer scale. Its input only gives the batch size. Combine it with "
    "Add, Multiply or Concat.",
    params=(
        Param("shape", "ints", (1, 64), help="The tensor's shape per sample.", minimum=1, maximum=1_000_000),
        Param("leading_one", "bool", True, help="Stored with a leading dimension of 1, as (1, *shape) "
              "(the usual layout of a class token or position table); otherwise as shape."),
        Param("init", "choice", "normal", help="Starting values: normal (std 0.02), zeros or ones.",
              choices=("normal", "zeros", "ones")),
    ),
    inputs=(Port("like"),),
    outputs=(Port("out"),),
    infer=_learned_shape,
    count_params=_learned_count,
    build=_learned_build,
    key_params=("shape",),
    name_prefix="learned",
)

SPECS = [SCALAR_OP, SUBTRACT, DIVIDE, REDUCE, LEARNED_TENSOR]
