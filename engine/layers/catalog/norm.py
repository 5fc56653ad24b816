"""Normalisation: BatchNorm1d, BatchNorm2d, LayerNorm, LayerNorm2d (over channels) and GroupNorm.

The number of features (channels, or the normalised trailing shape) is always
inferred from the input, never a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import need_float
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def _eps(default: float = 1e-5) -> Param:
    return Param("eps", "float", default, help="Added to the variance so the division never blows up.",
                 minimum=1e-12, maximum=1.0)


def _batch_params() -> tuple[Param, ...]:
    return (
        _eps(),
        Param("momentum", "float", 0.1, help="How fast the running mean and variance follow each batch.",
              minimum=0.0, maximum=1.0),
        Param("affine", "bool", True, help="Learn a scale and shift per channel."),
    )


def _batch1d_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "BatchNorm1d")
    if len(x.shape) == 3:
        raise ShapeError(f"BatchNorm1d works on (features) or (channels, length) but gets {x.label()}: "
                         "use BatchNorm2d for images")
    if len(x.shape) not in (1, 2):
        raise ShapeError(f"BatchNorm1d works on (features) or (channels, length) but gets {x.label()}")
    return x


def _batch2d_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "BatchNorm2d")
    if len(x.shape) != 3:
        hint = ": use BatchNorm1d for vectors and sequences" if len(x.shape) < 3 else ""
        raise ShapeError(f"BatchNorm2d works on (channels, height, width) but gets {x.label()}{hint}")
    return x


def _batch_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    return 2 * inputs[0].shape[0] if params["affine"] else 0


def _batch_build(nd: int) -> Any:
    def build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
        from torch import nn

        cls = nn.BatchNorm1d if nd == 1 else nn.BatchNorm2d
        return cls(inputs[0].shape[0], eps=params["eps"], momentum=params["momentum"],
                   affine=params["affine"])

    return build


def _batch_spec(nd: int, help_text: str) -> LayerSpec:
    return LayerSpec(
        type_id=f"BatchNorm{nd}d",
        title=f"BatchNorm{nd}d",
        category="Normalisation",
        help=help_text,
        params=_batch_params(),
        inputs=(Port("in"),),
        outputs=(Port("out"),),
        infer=_batch1d_shape if nd == 1 else _batch2d_shape,
        count_params=_batch_count,
        build=_batch_build(nd),
        name_prefix="bn",
    )


def normalized_shape(params: Mapping[str, Any], x: TensorSpec) -> tuple[int, ...]:
    """The trailing shape LayerNorm normalises over."""
    dims = params["normalized_shape"] or 1
    if dims > len(x.shape):
        raise ShapeError(f"LayerNorm cannot normalise over the last {dims} dimensions of {x.label()}, "
                         f"which has {len(x.shape)} per sample")
    return x.shape[len(x.shape) - dims:]


def _layer_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "LayerNorm")
    if not x.shape:
        raise ShapeError("LayerNorm needs at least one feature dimension per sample")
    normalized_shape(params, x)
    return x


def _layer_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    if not params["elementwise_affine"]:
        return 0
    size = 1
    for s in normalized_shape(params, inputs[0]):
        size *= s
    return size * (2 if params["bias"] else 1)


def _layer_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.LayerNorm(normalized_shape(params, inputs[0]), eps=params["eps"],
                        elementwise_affine=params["elementwise_affine"], bias=params["bias"])


BATCH_NORM1D = _batch_spec(
    1,
    "Normalises each feature (or channel of a (channels, length) signal) with the batch's mean and "
    "variance while training, and with running averages at evaluation time.",
)

BATCH_NORM2D = _batch_spec(
    2,
    "Normalises each channel of a (channels, height, width) feature map with the batch's mean and "
    "variance while training, and with running averages at evaluation time.",
)

LAYER_NORM = LayerSpec(
    type_id="LayerNorm",
    title="LayerNorm",
    category="Normalisation",
    help="Normalises each sample on its own over its last dimension(s): the normalisation of Transformers "
    "and recurrent networks. Independent of the batch size.",
    params=(
        Param("normalized_shape", "int", None, help="How many trailing dimensions to normalise over, e.g. 2 "
              "for (height, width) — not their sizes, which are inferred. Empty means the last dimension.",
              minimum=1, maximum=8, optional=True),
        _eps(),
        Param("elementwise_affine", "bool", True, help="Learn a scale (and shift) per normalised element."),
        Param("bias", "bool", True, help="With elementwise_affine, also learn the shift."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_layer_shape,
    count_params=_layer_count,
    build=_layer_build,
    name_prefix="ln",
)



def _channels_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "LayerNorm2d")
    if len(x.shape) != 3:
        raise ShapeError(f"LayerNorm2d normalises the channels of (channels, height, width) maps but gets "
                         f"{x.label()}: use LayerNorm for vectors and sequences")
    return x


def _channels_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    if not params["elementwise_affine"]:
        return 0
    return inputs[0].shape[0] * (2 if params["bias"] else 1)


def _channels_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import LayerNorm2d

    return LayerNorm2d(inputs[0].shape[0], eps=params["eps"], elementwise_affine=params["elementwise_affine"],
                       bias=params["bias"])


LAYER_NORM2D = LayerSpec(
    type_id="LayerNorm2d",
    title="LayerNorm2d",
    category="Normalisation",
    help="LayerNorm over the channels at every position of a (channels, height, width) map, as in ConvNeXt.",
    params=(
        _eps(),
        Param("elementwise_affine", "bool", True, help="Learn a scale (and shift) per channel."),
        Param("bias", "bool", True, help="With elementwise_affine, also learn the shift."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_channels_shape,
    count_params=_channels_count,
    build=_channels_build,
    name_prefix="ln",
)


def _group_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "GroupNorm")
    if not x.shape:
        raise ShapeError("GroupNorm needs a channel dimension per sample")
    groups = params["num_groups"]
    if x.shape[0] % groups:
        raise ShapeError(f"GroupNorm splits {x.shape[0]} channels into {groups} groups, which does not divide "
                         "evenly")
    return x


def _group_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    return 2 * inputs[0].shape[0] if params["affine"] else 0


def _group_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.GroupNorm(params["num_groups"], inputs[0].shape[0], eps=params["eps"], affine=params["affine"])


GROUP_NORM = LayerSpec(
    type_id="GroupNorm",
    title="GroupNorm",
    category="Normalisation",
    help="Normalises each sample over groups of channels (and all positions): independent of the batch size.",
    params=(
        Param("num_groups", "int", 8, help="Number of channel groups; must divide the channels.",
              minimum=1, maximum=100_000),
        _eps(),
        Param("affine", "bool", True, help="Learn a scale and shift per channel."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_group_shape,
    count_params=_group_count,
    build=_group_build,
    key_params=("num_groups",),
    name_prefix="gn",
)

SPECS = [BATCH_NORM1D, BATCH_NORM2D, LAYER_NORM, LAYER_NORM2D, GROUP_NORM]
