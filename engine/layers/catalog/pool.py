"""Pooling: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and GlobalAvgPool.

The window arithmetic is torch's own, ceil_mode included: with ceil_mode the
output rounds up, but a last window that would start beyond the input and its
left padding is dropped. Padding may be at most half the kernel, as torch requires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import need_float
from engine.layers.catalog.conv import AXES, rank_problem
from engine.layers.params import pair
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def pool_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Torch's pooling_output_shape for one dimension."""
    span = d * (k - 1) + 1
    out = (size + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _image(x: TensorSpec, title: str) -> tuple[int, int, int]:
    need_float(x, title)
    if len(x.shape) != 3:
        raise rank_problem(x, 2, title)
    c, h, w = x.shape
    return c, h, w


def _window_shape(title: str) -> Any:
    def infer(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
        channels, *sizes = _image(inputs[0], title)
        kernel = pair(params["kernel_size"])
        stride = kernel if params["stride"] is None else pair(params["stride"])
        dilation = pair(params.get("dilation", 1))
        out = []
        for axis, size, k, s, p, d in zip(AXES[2], sizes, kernel, stride, pair(params["padding"]), dilation):
            if p > k // 2:
                raise ShapeError(f"{title}: padding {p} is more than half the kernel ({k}) along the {axis}; "
                                 f"use padding of at most {k // 2}")
            n = pool_size(size, k, s, p, d, params["ceil_mode"])
            if n < 1:
                span = d * (k - 1) + 1
                raise ShapeError(f"{title}: the {span}-wide window does not fit in the input's {size} "
                                 f"positions along the {axis}" + (f" (padding {p})" if p else "")
                                 + "; use a smaller kernel or a larger input")
            out.append(n)
        return TensorSpec((channels, *out))

    return infer


def _max_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.MaxPool2d(params["kernel_size"], stride=params["stride"], padding=params["padding"],
                        dilation=params["dilation"], ceil_mode=params["ceil_mode"])


def _avg_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.AvgPool2d(params["kernel_size"], stride=params["stride"], padding=params["padding"],
                        ceil_mode=params["ceil_mode"], count_include_pad=params["count_include_pad"])


def _window_params() -> tuple[Param, ...]:
    return (
        Param("kernel_size", "int_pair", 2, help="Window size (one number, or height, width).",
              minimum=1, maximum=1024),
        Param("stride", "int_pair", None, help="Step between windows; empty means the same as the kernel "
              "(windows side by side).", minimum=1, maximum=1024, optional=True),
        Param("padding", "int_pair", 0, help="Padding on each side; at most half the kernel.",
              minimum=0, maximum=512),
    )


CEIL_MODE = Param("ceil_mode", "bool", False, help="Round the output size up, so a partial window at the "
                  "border still produces an output.")

MAX_POOL2D = LayerSpec(
    type_id="MaxPool2d",
    title="MaxPool2d",
    category="Pooling",
    help="Keeps the largest value in each window of a (channels, height, width) feature map: "
    "with kernel 2 it halves height and width.",
    params=(
        *_window_params(),
        Param("dilation", "int_pair", 1, help="Spacing between window taps.", minimum=1, maximum=1024),
        CEIL_MODE,
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_window_shape("MaxPool2d"),
    build=_max_build,
    key_params=("kernel_size", "stride"),
    name_prefix="maxpool",
)

AVG_POOL2D = LayerSpec(
    type_id="AvgPool2d",
    title="AvgPool2d",
    category="Pooling",
    help="Averages each window of a (channels, height, width) feature map: with kernel 2 it halves "
    "height and width.",
    params=(
        *_window_params(),
        CEIL_MODE,
        Param("count_include_pad", "bool", True, help="Count padding zeros in the average."),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_window_shape("AvgPool2d"),
    build=_avg_build,
    key_params=("kernel_size", "stride"),
    name_prefix="avgpool",
)


def _adaptive_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    channels, _, _ = _image(inputs[0], "AdaptiveAvgPool2d")
    return TensorSpec((channels, *pair(params["output_size"])))


def _adaptive_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    return nn.AdaptiveAvgPool2d(params["output_size"])


ADAPTIVE_AVG_POOL2D = LayerSpec(
    type_id="AdaptiveAvgPool2d",
    title="AdaptiveAvgPool2d",
    category="Pooling",
    help="Averages a (channels, height, width) feature map down to a fixed output size, whatever the "
    "input size: the windows are chosen to fit.",
    params=(Param("output_size", "int_pair", 1, help="Output height and width (one number for a square).",
                  minimum=1, maximum=4096),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_adaptive_shape,
    build=_adaptive_build,
    key_params=("output_size",),
    name_prefix="adapool",
)


def _global_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    need_float(x, "GlobalAvgPool")
    if len(x.shape) not in (2, 3):
        hint = "it is already a flat vector" if len(x.shape) == 1 else "expected (channels, length) or " \
            "(channels, height, width)"
        raise ShapeError(f"GlobalAvgPool averages feature maps over their positions, but gets {x.label()}: "
                         f"{hint}")
    return TensorSpec((x.shape[0],))


def _global_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import GlobalAvgPool

    return GlobalAvgPool()


GLOBAL_AVG_POOL = LayerSpec(
    type_id="GlobalAvgPool",
    title="Global Average Pool",
    category="Pooling",
    help="Averages each channel over all positions: (channels, height, width) or (channels, length) "
    "becomes a flat vector of channels, ready for a Linear classifier.",
    params=(),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_global_shape,
    build=_global_build,
    name_prefix="gap",
)

SPECS = [MAX_POOL2D, AVG_POOL2D, ADAPTIVE_AVG_POOL2D, GLOBAL_AVG_POOL]
