"""Merge layers: Add, Multiply and Concat join several wires into one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec

MERGE_PORT = Port("in", multi=True, min_inputs=2)


def _same_dtype(inputs: Sequence[TensorSpec]) -> None:
    if len({x.dtype for x in inputs}) > 1:
        raise ShapeError("cannot join token ids with float values: embed the token ids first, got "
                         + ", ".join(f"{x.label()} {x.dtype}" for x in inputs))


def _elementwise_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    if len(inputs) < 2:
        raise ShapeError(f"needs at least 2 inputs, has {len(inputs)}")
    _same_dtype(inputs)
    first = inputs[0]
    for other in inputs[1:]:
        if other.shape != first.shape:
            shapes = ", ".join(x.label() for x in inputs)
            raise ShapeError(f"inputs must all have the same shape, got {shapes}")
    return first


def _broadcast_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    """Same rank; each dimension equal or 1 in all but one input (a (C, 1, 1) gate scales a (C, H, W) map)."""
    if len(inputs) < 2:
        raise ShapeError(f"needs at least 2 inputs, has {len(inputs)}")
    _same_dtype(inputs)
    rank = len(inputs[0].shape)
    shapes = ", ".join(x.label() for x in inputs)
    if any(len(x.shape) != rank for x in inputs):
        raise ShapeError(f"inputs must have the same number of dimensions, got {shapes}")
    out = []
    for sizes in zip(*(x.shape for x in inputs)):
        big = {s for s in sizes if s != 1}
        if len(big) > 1:
            raise ShapeError(f"inputs must agree on every dimension (or be 1 there), got {shapes}")
        out.append(big.pop() if big else 1)
    return TensorSpec(tuple(out), inputs[0].dtype)


def _concat_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    if len(inputs) < 2:
        raise ShapeError(f"needs at least 2 inputs, has {len(inputs)}")
    _same_dtype(inputs)
    rank = len(inputs[0].shape)
    dim = params["dim"]
    if not -(rank + 1) <= dim <= rank or dim == 0 or dim == -(rank + 1):
        raise ShapeError(f"dim {dim} cannot be joined on for inputs of {rank + 1} dimensions "
                         "(the batch dimension 0 cannot be concatenated)")
    axis = (dim if dim > 0 else rank + 1 + dim) - 1  # index into the batch-less shape
    total = 0
    for x in inputs:
        if len(x.shape) != rank:
            raise ShapeError("inputs must have the same number of dimensions, got "
                             + ", ".join(i.label() for i in inputs))
        rest = x.shape[:axis] + x.shape[axis + 1:]
        if rest != inputs[0].shape[:axis] + inputs[0].shape[axis + 1:]:
            raise ShapeError(f"inputs must agree on every dimension but {dim}, got "
                             + ", ".join(i.label() for i in inputs))
        total += x.shape[axis]
    shape = list(inputs[0].shape)
    shape[axis] = total
    return TensorSpec(tuple(shape), inputs[0].dtype)


def _build_add(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Add

    return Add()


def _build_multiply(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Multiply

    return Multiply()


def _build_concat(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Concat

    return Concat(params["dim"])


ADD = LayerSpec(
    type_id="Add",
    title="Add",
    category="Merge",
    help="Element-wise sum of two or more inputs of the same shape: the join of a residual (skip) "
    "connection.",
    params=(),
    inputs=(MERGE_PORT,),
    outputs=(Port("out"),),
    infer=_elementwise_shape,
    build=_build_add,
    name_prefix="add",
)

MULTIPLY = LayerSpec(
    type_id="Multiply",
    title="Multiply",
    category="Merge",
    help="Element-wise product of two or more inputs (gating): of the same shape, or with size 1 where "
    "the others are larger, as a squeeze-and-excitation gate of (channels, 1, 1) scales a feature map.",
    params=(),
    inputs=(MERGE_PORT,),
    outputs=(Port("out"),),
    infer=_broadcast_shape,
    build=_build_multiply,
    name_prefix="mul",
)

CONCAT = LayerSpec(
    type_id="Concat",
    title="Concat",
    category="Merge",
    help="Joins two or more inputs along one dimension (1 = channels for images, features for vectors); "
    "all other dimensions must agree. Inputs are joined in the order they were wired.",
    params=(Param("dim", "int", 1, help="Dimension to join along, counting the batch as 0.",
                  minimum=-8, maximum=8),),
    inputs=(MERGE_PORT,),
    outputs=(Port("out"),),
    infer=_concat_shape,
    build=_build_concat,
    key_params=("dim",),
    name_prefix="concat",
)

SPECS = [ADD, MULTIPLY, CONCAT]
