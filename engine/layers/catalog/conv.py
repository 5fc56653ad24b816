"""Convolutions: Conv1d, Conv2d and ConvTranspose2d, with torch's full parameter set.

The shape rules reproduce torch's arithmetic exactly, including padding "same"
(asymmetric for even kernels), the limits of reflect and circular padding and
transposed convolution's output_padding rule, so that every configuration the
rule accepts also runs in torch and every one it rejects fails there too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import apply_init, bias_param, init_param, need_float
from engine.layers.params import pair
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec

BIG = 100_000
AXES = {1: ("length",), 2: ("height", "width")}
LAYOUT = {1: "channels, length", 2: "channels, height, width"}


def expand(value: Any, nd: int, name: str, title: str) -> tuple[int, ...]:
    """An int-or-pair parameter as one int per spatial dimension."""
    if nd == 1:
        if isinstance(value, tuple):
            raise ShapeError(f"{title} has one spatial dimension: {name} must be a single number, "
                             f"got {value}")
        return (value,)
    return pair(value)


def rank_problem(x: TensorSpec, nd: int, title: str) -> ShapeError:
    """The error for an input of the wrong rank, with a Reshape fix where one is obvious."""
    fix: dict[str, Any] = {}
    if len(x.shape) == nd:  # no channel dimension yet: add one
        fix = {"shape": (1, *x.shape)}
    elif nd == 2 and len(x.shape) == 1:
        side = round(x.shape[0] ** 0.5)
        if side * side == x.shape[0]:
            fix = {"shape": (1, side, side)}
    elif nd == 1 and len(x.shape) == 3:
        fix = {"shape": (x.shape[0], x.shape[1] * x.shape[2])}
    return ShapeError(
        f"{title} expects {nd + 1} dimensions per sample ({LAYOUT[nd]}) but gets {x.label()}; "
        "reshape the input first",
        fix_type="Reshape",
        fix_params=fix,
    )


def conv_input(x: TensorSpec, nd: int, title: str) -> tuple[int, tuple[int, ...]]:
    """Check dtype and rank; return (channels, spatial sizes)."""
    need_float(x, title)
    if len(x.shape) != nd + 1:
        raise rank_problem(x, nd, title)
    return x.shape[0], x.shape[1:]


def check_groups(title: str, groups: int, in_channels: int, out_channels: int) -> None:
    for label, n in (("input", in_channels), ("output", out_channels)):
        if n % groups:
            raise ShapeError(f"{title} splits channels into {groups} groups, but the {n} {label} channels "
                             f"do not divide by {groups}; choose groups that divides both "
                             f"{in_channels} and {out_channels}")


def resolve_padding(params: Mapping[str, Any], nd: int, title: str,
                    kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
                    ) -> list[tuple[int, int]]:
    """(before, after) padding per spatial dimension, as torch applies it."""
    padding = params["padding"]
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ShapeError(f'{title}: padding "same" only works with stride 1 (stride is '
                             f'{params["stride"]}); use a number for padding or set stride to 1')
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in expand(padding, nd, "padding", title)]


def check_padding_mode(mode: str, title: str, sizes: Sequence[int],
                       pads: Sequence[tuple[int, int]], nd: int) -> None:
    for axis, size, (before, after) in zip(AXES[nd], sizes, pads):
        widest = max(before, after)
        if mode == "reflect" and widest >= size:
            raise ShapeError(f"{title}: reflect padding of {widest} needs more than {widest} positions "
                             f"along the {axis}, but the input has {size}; pad less or use "
                             "padding_mode replicate or zeros")
        if mode == "circular" and widest > size:
            raise ShapeError(f"{title}: circular padding of {widest} wraps around more than once along "
                             f"the {axis} (only {size} positions); pad at most {size}")


def conv_sizes(params: Mapping[str, Any], nd: int, title: str, sizes: Sequence[int]) -> tuple[int, ...]:
    """Output spatial sizes of a (forward) convolution."""
    kernel = expand(params["kernel_size"], nd, "kernel_size", title)
    stride = expand(params["stride"], nd, "stride", title)
    dilation = expand(params["dilation"], nd, "dilation", title)
    pads = resolve_padding(params, nd, title, kernel, stride, dilation)
    check_padding_mode(params["padding_mode"], title, sizes, pads, nd)
    out = []
    for axis, size, k, s, d, (before, after) in zip(AXES[nd], sizes, kernel, stride, dilation, pads):
        span = d * (k - 1) + 1
        padded = size + before + after
        if padded < span:
            what = f"kernel {k} with dilation {d}" if d > 1 else f"kernel {k}"
            raise ShapeError(f"{title}: the {what} spans {span} positions but the input is only {padded} "
                             f"along the {axis}" + (" including padding" if before or after else "")
                             + "; use a smaller kernel, more padding, or a larger input")
        out.append((padded - span) // s + 1)
    return tuple(out)


def _conv_shape(nd: int, title: str) -> Any:
    def infer(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
        channels, sizes = conv_input(inputs[0], nd, title)
        check_groups(title, params["groups"], channels, params["out_channels"])
        return TensorSpec((params["out_channels"], *conv_sizes(params, nd, title, sizes)))

    return infer


def _product(values: Sequence[int]) -> int:
    total = 1
    for v in values:
        total *= v
    return total


def _conv_count(nd: int, title: str) -> Any:
    def count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
        kernel = expand(params["kernel_size"], nd, "kernel_size", title)
        out = params["out_channels"]
        weights = out * (inputs[0].shape[0] // params["groups"]) * _product(kernel)
        return weights + (out if params["bias"] else 0)

    return count


def _conv_build(nd: int) -> Any:
    def build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
        from torch import nn

        cls = nn.Conv1d if nd == 1 else nn.Conv2d
        module = cls(inputs[0].shape[0], params["out_channels"], params["kernel_size"],
                     stride=params["stride"], padding=params["padding"], dilation=params["dilation"],
                     groups=params["groups"], bias=params["bias"], padding_mode=params["padding_mode"])
        return apply_init(module, params["init"])

    return build


def _conv_params(nd: int) -> tuple[Param, ...]:
    kind = "int" if nd == 1 else "int_pair"
    pair_note = "" if nd == 1 else " (one number, or height, width)"
    return (
        Param("out_channels", "int", 16, help="Number of filters, i.e. output channels.",
              minimum=1, maximum=BIG),
        Param("kernel_size", kind, 3, help=f"Size of each filter{pair_note}.", minimum=1, maximum=1024),
        Param("stride", kind, 1, help=f"Step between filter positions{pair_note}.", minimum=1, maximum=1024),
        Param("padding", "padding", 0,
              help=f"Zeros (or padding_mode values) added on each side{pair_note}; \"same\" keeps the size "
              "(stride 1 only), \"valid\" adds none.", minimum=0, maximum=1024),
        Param("dilation", kind, 1, help=f"Spacing between filter taps{pair_note}.", minimum=1, maximum=1024),
        Param("groups", "int", 1, help="Split channels into independent groups; in and out channels must "
              "both divide by it (groups = in channels makes a depthwise convolution).",
              minimum=1, maximum=BIG),
        bias_param(),
        Param("padding_mode", "choice", "zeros", help="What the padding contains.",
              choices=("zeros", "reflect", "replicate", "circular")),
        init_param(),
    )


def _conv_spec(nd: int, help_text: str) -> LayerSpec:
    title = f"Conv{nd}d"
    return LayerSpec(
        type_id=title,
        title=title,
        category="Convolution",
        help=help_text,
        params=_conv_params(nd),
        inputs=(Port("in"),),
        outputs=(Port("out"),),
        infer=_conv_shape(nd, title),
        count_params=_conv_count(nd, title),
        build=_conv_build(nd),
        key_params=("out_channels", "kernel_size", "stride"),
        name_prefix="conv",
    )


def _transpose_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    title = "ConvTranspose2d"
    channels, sizes = conv_input(inputs[0], 2, title)
    check_groups(title, params["groups"], channels, params["out_channels"])
    out = []
    for axis, size, k, s, p, op, d in zip(AXES[2], sizes, pair(params["kernel_size"]), pair(params["stride"]),
                                          pair(params["padding"]), pair(params["output_padding"]),
                                          pair(params["dilation"])):
        if op >= s and op >= d:
            raise ShapeError(f"{title}: output_padding ({op} along the {axis}) must be smaller than the "
                             f"stride ({s}) or the dilation ({d})")
        n = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        if n < 1:
            raise ShapeError(f"{title}: padding {p} removes more than the whole output along the {axis} "
                             f"(it would be {n} long); reduce padding")
        out.append(n)
    return TensorSpec((params["out_channels"], *out))


def _transpose_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    out = params["out_channels"]
    kh, kw = pair(params["kernel_size"])
    weights = inputs[0].shape[0] * (out // params["groups"]) * kh * kw
    return weights + (out if params["bias"] else 0)


def _transpose_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    module = nn.ConvTranspose2d(inputs[0].shape[0], params["out_channels"], params["kernel_size"],
                                stride=params["stride"], padding=params["padding"],
                                output_padding=params["output_padding"], groups=params["groups"],
                                bias=params["bias"], dilation=params["dilation"])
    return apply_init(module, params["init"])


CONV1D = _conv_spec(
    1,
    "Slides learned filters along a sequence or signal of shape (channels, length). The number of input "
    "channels is inferred. For a (length, features) sequence, insert a Permute (2, 1) first.",
)

CONV2D = _conv_spec(
    2,
    "Slides learned filters over an image of shape (channels, height, width): the workhorse of image "
    "networks. The number of input channels is inferred.",
)

CONV_TRANSPOSE2D = LayerSpec(
    type_id="ConvTranspose2d",
    title="ConvTranspose2d",
    category="Convolution",
    help="Transposed (\"de-\") convolution: upsamples feature maps, e.g. in decoders. With stride 2, "
    "kernel 2 and no padding it doubles height and width. output_padding adds rows and columns on one "
    "side to reach an exact size.",
    params=(
        Param("out_channels", "int", 16, help="Number of output channels.", minimum=1, maximum=BIG),
        Param("kernel_size", "int_pair", 2, help="Filter size (one number, or height, width).",
              minimum=1, maximum=1024),
        Param("stride", "int_pair", 2, help="Upsampling factor (one number, or height, width).",
              minimum=1, maximum=1024),
        Param("padding", "int_pair", 0, help="Rows and columns removed from each border of the output.",
              minimum=0, maximum=1024),
        Param("output_padding", "int_pair", 0, help="Extra rows and columns added on one side; must be "
              "smaller than the stride or the dilation.", minimum=0, maximum=1024),
        Param("dilation", "int_pair", 1, help="Spacing between filter taps.", minimum=1, maximum=1024),
        Param("groups", "int", 1, help="Split channels into independent groups; in and out channels must "
              "both divide by it.", minimum=1, maximum=BIG),
        bias_param(),
        init_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_transpose_shape,
    count_params=_transpose_count,
    build=_transpose_build,
    key_params=("out_channels", "kernel_size", "stride"),
    name_prefix="upconv",
)

SPECS = [CONV1D, CONV2D, CONV_TRANSPOSE2D]
