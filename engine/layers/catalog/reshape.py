"""Reshape layers: Flatten, Reshape, Permute, Transpose, Slice, Select and Identity.

They rearrange or pick values without learning anything.

These are also the adapters that shape errors elsewhere suggest inserting. They keep
the input's dtype, so they work on token ids as well as on floats. Dimension
numbers count the batch as 0, as in torch, and the batch itself is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def _product(values: Sequence[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total


def flatten_range(params: Mapping[str, Any], x: TensorSpec) -> tuple[int, int]:
    """The per-sample index range [first, last] that Flatten joins."""
    rank = len(x.shape) + 1  # with batch
    start, end = params["start_dim"], params["end_dim"]
    if start >= rank:
        raise ShapeError(f"Flatten start_dim {start} is past the last dimension of {x.label()} "
                         f"(dimensions 1..{rank - 1}; the batch is 0)")
    end_abs = end + rank if end < 0 else end
    if not 0 <= end_abs < rank:
        raise ShapeError(f"Flatten end_dim {end} is out of range for {x.label()} "
                         f"(dimensions 1..{rank - 1}, or -1..-{rank - 1} from the end)")
    if end_abs < start:
        raise ShapeError(f"Flatten end_dim {end} comes before start_dim {start} for {x.label()}")
    return start - 1, end_abs - 1


def _flatten_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    first, last = flatten_range(params, x)
    joined = _product(x.shape[first:last + 1])
    return TensorSpec((*x.shape[:first], joined, *x.shape[last + 1:]), x.dtype)


def _flatten_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.Flatten(params["start_dim"], params["end_dim"])


def target_shape(params: Mapping[str, Any], x: TensorSpec) -> tuple[int, ...]:
    """Reshape's target with its -1 resolved."""
    shape = params["shape"]
    if any(s == 0 or s < -1 for s in shape):
        raise ShapeError(f"Reshape sizes must be positive, or -1 for one inferred size; got {shape}")
    if shape.count(-1) > 1:
        raise ShapeError(f"Reshape can infer only one size: use -1 at most once, got {shape}")
    known = _product([s for s in shape if s != -1])
    total = x.numel
    if -1 in shape:
        if total % known:
            raise ShapeError(f"cannot reshape {x.label()} ({total} values per sample) into {shape}: "
                             f"{total} does not divide by {known}")
        return tuple(total // known if s == -1 else s for s in shape)
    if known != total:
        raise ShapeError(f"cannot reshape {x.label()} ({total} values per sample) into {shape} "
                         f"({known} values); the counts must match")
    return tuple(shape)


def _reshape_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return TensorSpec(target_shape(params, inputs[0]), inputs[0].dtype)


def _reshape_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Reshape

    return Reshape(target_shape(params, inputs[0]))


def _permute_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    dims = params["dims"]
    rank = len(x.shape)
    if sorted(dims) != list(range(1, rank + 1)):
        example = ", ".join(str(d) for d in range(rank, 0, -1))
        raise ShapeError(f"Permute dims must list each of 1..{rank} once for {x.label()} "
                         f"(the batch 0 stays first), e.g. {example}; got {', '.join(map(str, dims))}")
    return TensorSpec(tuple(x.shape[d - 1] for d in dims), x.dtype)


def _permute_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Permute

    return Permute(params["dims"])


FLATTEN = LayerSpec(
    type_id="Flatten",
    title="Flatten",
    category="Reshape",
    help="Joins dimensions start_dim..end_dim into one (batch counted as 0): by default turns "
    "(channels, height, width) feature maps into a flat vector for a Linear layer.",
    params=(
        Param("start_dim", "int", 1, help="First dimension to join (1 = the first per-sample dimension).",
              minimum=1, maximum=8),
        Param("end_dim", "int", -1, help="Last dimension to join; -1 is the last.", minimum=-8, maximum=8),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_flatten_shape,
    build=_flatten_build,
    name_prefix="flatten",
)

RESHAPE = LayerSpec(
    type_id="Reshape",
    title="Reshape",
    category="Reshape",
    help="Rearranges each sample's values into a new shape with the same number of values; one size may "
    "be -1 to have it inferred. The batch dimension is kept.",
    params=(Param("shape", "ints", (-1,), help="The new per-sample shape, without the batch; -1 at most "
                  "once.", minimum=-1, maximum=1_000_000),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_reshape_shape,
    build=_reshape_build,
    key_params=("shape",),
    name_prefix="reshape",
)

PERMUTE = LayerSpec(
    type_id="Permute",
    title="Permute",
    category="Reshape",
    help="Reorders the per-sample dimensions, numbered from 1 (the batch stays first): 2, 1 turns a "
    "(length, features) sequence into (features, length) channels for Conv1d.",
    params=(Param("dims", "ints", (2, 1), help="The new order of dimensions 1..rank.",
                  minimum=1, maximum=8),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_permute_shape,
    build=_permute_build,
    key_params=("dims",),
    name_prefix="permute",
)



def sample_axis(dim: int, x: TensorSpec, title: str, what: str = "dim") -> int:
    """`dim` (batch counted as 0, negative from the end) as an index into the batch-less shape."""
    rank = len(x.shape) + 1
    if not -rank <= dim < rank:
        raise ShapeError(f"{title} {what} {dim} is out of range for {x.label()} (dimensions 1..{rank - 1}, "
                         f"or -1..-{rank - 1} from the end)")
    absolute = dim % rank
    if absolute == 0:
        raise ShapeError(f"{title} cannot work on the batch dimension (0); use 1..{rank - 1}")
    return absolute - 1


def _transpose_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    a = sample_axis(params["dim0"], x, "Transpose", "dim0")
    b = sample_axis(params["dim1"], x, "Transpose", "dim1")
    shape = list(x.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return TensorSpec(tuple(shape), x.dtype)


def _transpose_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Transpose

    return Transpose(params["dim0"], params["dim1"])


def _slice_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    axis = sample_axis(params["dim"], x, "Slice")
    size = len(range(*slice(params["start"], params["end"], params["step"]).indices(x.shape[axis])))
    if size == 0:
        raise ShapeError(f"Slice {params['start']}:{params['end']}:{params['step']} of the {x.shape[axis]} "
                         f"positions along dim {params['dim']} is empty")
    shape = list(x.shape)
    shape[axis] = size
    return TensorSpec(tuple(shape), x.dtype)


def _slice_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Slice

    return Slice(params["dim"], params["start"], params["end"], params["step"])


def _select_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    axis = sample_axis(params["dim"], x, "Select")
    index, size = params["index"], x.shape[axis]
    if not -size <= index < size:
        raise ShapeError(f"Select index {index} is out of range for the {size} positions along dim "
                         f"{params['dim']}")
    return TensorSpec(x.shape[:axis] + x.shape[axis + 1:], x.dtype)


def _select_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Select

    return Select(params["dim"], params["index"])


def _identity_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return inputs[0]


def _identity_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.Identity()


def _dim_param(name: str, default: int, help_text: str) -> Param:
    return Param(name, "int", default, help=help_text, minimum=-8, maximum=8)


TRANSPOSE = LayerSpec(
    type_id="Transpose",
    title="Transpose",
    category="Reshape",
    help="Swaps two dimensions (batch counted as 0, which cannot move): torch.transpose.",
    params=(_dim_param("dim0", 1, "One dimension to swap."), _dim_param("dim1", 2, "The other dimension.")),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_transpose_shape,
    build=_transpose_build,
    key_params=("dim0", "dim1"),
    name_prefix="transpose",
)

SLICE = LayerSpec(
    type_id="Slice",
    title="Slice",
    category="Reshape",
    help="Keeps positions start:end:step along one dimension (batch counted as 0), like x[:, start:end]; "
    "negative positions count from the end.",
    params=(
        _dim_param("dim", 1, "The dimension to slice."),
        Param("start", "int", 0, help="First position kept.", minimum=-1_000_000, maximum=1_000_000),
        Param("end", "int", None, help="Position after the last kept; empty means to the end.",
              minimum=-1_000_000, maximum=1_000_000, optional=True),
        Param("step", "int", 1, help="Keep every step-th position.", minimum=1, maximum=1_000_000),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_slice_shape,
    build=_slice_build,
    key_params=("dim", "start", "end"),
    name_prefix="slice",
)

SELECT = LayerSpec(
    type_id="Select",
    title="Select",
    category="Reshape",
    help="Keeps one position along a dimension, which disappears: x[:, 0] picks a Transformer's class "
    "token. Negative indexes count from the end.",
    params=(
        _dim_param("dim", 1, "The dimension to pick from."),
        Param("index", "int", 0, help="The position kept.", minimum=-1_000_000, maximum=1_000_000),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_select_shape,
    build=_select_build,
    key_params=("dim", "index"),
    name_prefix="select",
)

IDENTITY = LayerSpec(
    type_id="Identity",
    title="Identity",
    category="Reshape",
    help="Passes its input through unchanged: a placeholder, e.g. for a classifier head removed for "
    "feature extraction.",
    params=(),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_identity_shape,
    build=_identity_build,
    name_prefix="identity",
)

SPECS = [FLATTEN, RESHAPE, PERMUTE, TRANSPOSE, SLICE, SELECT, IDENTITY]
