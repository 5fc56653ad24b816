"""Resampling feature maps: Upsample, PixelShuffle, PixelUnshuffle, ZeroPad2d and ChannelShuffle.

All work on (channels, height, width) maps, except ChannelShuffle which also
takes (channels, length) and more positions. Upsample's size arithmetic is torch's: with a scale
factor the output is floor(size · scale), computed in double precision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import need_float
from engine.layers.catalog.conv import AXES, rank_problem
from engine.layers.params import pair
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec

LINEAR_MODES = ("bilinear", "bicubic")


def _image(x: TensorSpec, title: str) -> tuple[int, int, int]:
    need_float(x, title)
    if len(x.shape) != 3:
        raise rank_problem(x, 2, title)
    c, h, w = x.shape
    return c, h, w


def _upsample_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    channels, *sizes = _image(inputs[0], "Upsample")
    size, scale = params["size"], params["scale_factor"]
    if (size is None) == (scale is None):
        raise ShapeError("Upsample needs exactly one of size and scale_factor")
    if params["align_corners"] and params["mode"] not in LINEAR_MODES:
        raise ShapeError(f"Upsample align_corners only applies to bilinear and bicubic, not {params['mode']}")
    if size is not None:
        return TensorSpec((channels, *pair(size)))
    out = []
    for axis, n in zip(AXES[2], sizes):
        m = math.floor(n * scale)
        if m < 1:
            raise ShapeError(f"Upsample by {scale} leaves nothing of the {n} positions along the {axis}")
        out.append(m)
    return TensorSpec((channels, *out))


def _upsample_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    align = True if params["align_corners"] else None if params["mode"] not in LINEAR_MODES else False
    return nn.Upsample(size=params["size"], scale_factor=params["scale_factor"], mode=params["mode"],
                       align_corners=align)


UPSAMPLE = LayerSpec(
    type_id="Upsample",
    title="Upsample",
    category="Resample",
    help="Resizes (channels, height, width) maps by interpolation, to a fixed size or by a scale factor "
    "(floor(size·scale)): torch.nn.functional.interpolate.",
    params=(
        Param("size", "int_pair", None, help="Output height and width; empty to use scale_factor.",
              minimum=1, maximum=65536, optional=True),
        Param("scale_factor", "float", 2.0, help="Multiplier for height and width; empty to use size.",
              minimum=0.01, maximum=64.0, optional=True),
        Param("mode", "choice", "nearest", help="How new positions are filled.",
              choices=("nearest", "nearest-exact", "bilinear", "bicubic")),
        Param("align_corners", "bool", False, help="Bilinear and bicubic only: align the corner pixels' "
              "centres instead of their edges."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_upsample_shape,
    build=_upsample_build,
    key_params=("scale_factor", "mode"),
    name_prefix="upsample",
)


def _shuffle_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    c, h, w = _image(inputs[0], "PixelShuffle")
    r = params["upscale_factor"]
    if c % (r * r):
        raise ShapeError(f"PixelShuffle by {r} needs channels divisible by {r * r}, but has {c}")
    return TensorSpec((c // (r * r), h * r, w * r))


def _unshuffle_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    c, h, w = _image(inputs[0], "PixelUnshuffle")
    r = params["downscale_factor"]
    if h % r or w % r:
        raise ShapeError(f"PixelUnshuffle by {r} needs height and width divisible by {r}, but gets "
                         f"{inputs[0].label()}")
    return TensorSpec((c * r * r, h // r, w // r))


def _shuffle_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.PixelShuffle(params["upscale_factor"])


def _unshuffle_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.PixelUnshuffle(params["downscale_factor"])


PIXEL_SHUFFLE = LayerSpec(
    type_id="PixelShuffle",
    title="PixelShuffle",
    category="Resample",
    help="Moves channels into space: (C·r², H, W) becomes (C, H·r, W·r), as in sub-pixel super-resolution.",
    params=(Param("upscale_factor", "int", 2, help="r: how much height and width grow.",
                  minimum=1, maximum=64),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_shuffle_shape,
    build=_shuffle_build,
    key_params=("upscale_factor",),
    name_prefix="pixelshuffle",
)

PIXEL_UNSHUFFLE = LayerSpec(
    type_id="PixelUnshuffle",
    title="PixelUnshuffle",
    category="Resample",
    help="Moves space into channels: (C, H·r, W·r) becomes (C·r², H, W); the inverse of PixelShuffle.",
    params=(Param("downscale_factor", "int", 2, help="r: how much height and width shrink.",
                  minimum=1, maximum=64),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_unshuffle_shape,
    build=_unshuffle_build,
    key_params=("downscale_factor",),
    name_prefix="pixelunshuffle",
)


def _pad_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    c, h, w = _image(inputs[0], "ZeroPad2d")
    left, right, top, bottom = params["padding"]
    return TensorSpec((c, h + top + bottom, w + left + right))


def _pad_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.ZeroPad2d(tuple(params["padding"]))


ZERO_PAD2D = LayerSpec(
    type_id="ZeroPad2d",
    title="ZeroPad2d",
    category="Resample",
    help="Adds rows and columns of zeros around (channels, height, width) maps.",
    params=(Param("padding", "ints", (1, 1, 1, 1), help="Columns left, columns right, rows top, rows bottom.",
                  minimum=0, maximum=4096, length=4),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_pad_shape,
    build=_pad_build,
    key_params=("padding",),
    name_prefix="pad",
)


def _channel_shuffle_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "ChannelShuffle")
    if len(x.shape) < 2:
        raise ShapeError(f"ChannelShuffle works on (channels, positions...) such as (channels, height, width) "
                         f"but gets {x.label()}")
    groups = params["groups"]
    if x.shape[0] % groups:
        raise ShapeError(f"ChannelShuffle splits {x.shape[0]} channels into {groups} groups, which does not "
                         "divide evenly")
    return x


def _channel_shuffle_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.ChannelShuffle(params["groups"])


CHANNEL_SHUFFLE = LayerSpec(
    type_id="ChannelShuffle",
    title="ChannelShuffle",
    category="Resample",
    help="Interleaves the channels of its groups (ShuffleNet): channels split into groups, transposed, "
    "joined again, so grouped convolutions after it see every group.",
    params=(Param("groups", "int", 2, help="Number of channel groups; must divide the channels.",
                  minimum=1, maximum=4096),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_channel_shuffle_shape,
    build=_channel_shuffle_build,
    key_params=("groups",),
    name_prefix="shuffle",
)

SPECS = [UPSAMPLE, PIXEL_SHUFFLE, PIXEL_UNSHUFFLE, ZERO_PAD2D, CHANNEL_SHUFFLE]
