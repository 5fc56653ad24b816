"""Torch functions and tensor methods a forward calls, mapped to catalog layers by name.

Each handler reads one fx node (``torch.flatten(x, 1)``, ``x.view(n, -1)``,
``torch.cat([a, b], 1)``, ...) through the `NodeMapper`, which knows the
recorded values, and returns a `Layer`, an `Alias` or raises `Unmappable`.
Dimension arguments count the batch as 0 and may never touch it. torch.export's
ATen ops of the same names (``aten.view``, ``aten.cat``) use the same handlers.
"""

from __future__ import annotations

from typing import Any

from torch import fx

from engine.importing.leaves import Unmappable
from engine.importing.ops import Alias, Layer, Mapped, NodeMapper


def _reshape(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    source, target = m.shape(x), m.shape(node)
    if len(source) > 1 and len(target) == 1:  # every sample to one vector: x.view(n, -1), ONNX's Reshape
        return Layer("Flatten", dict(start_dim=1, end_dim=-1), [x], "flatten")
    return Layer("Reshape", dict(shape=target), [x], "reshape")


def _flatten(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    start, end = m.const(m._arg(node, 1, "start_dim", 0)), m.const(m._arg(node, 2, "end_dim", -1))
    if start == 0:
        raise Unmappable("flattens the batch dimension")
    return Layer("Flatten", dict(start_dim=start, end_dim=end), [x], "flatten")


def _transpose(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    rank = len(m.shape(x))
    d0, d1 = m._dim(m._arg(node, 1, "dim0"), rank), m._dim(m._arg(node, 2, "dim1"), rank)
    return Layer("Transpose", dict(dim0=d0, dim1=d1), [x], "transpose")


def _permute(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    dims = node.args[1:] or node.kwargs.get("dims")
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    rank = len(m.shape(x)) + 1
    dims = [int(d) % rank for d in m.const(tuple(dims))]
    if dims[0] != 0:
        raise Unmappable("moves the batch dimension")
    return Layer("Permute", dict(dims=tuple(dims[1:])), [x], "permute")


def _cat(m: NodeMapper, node: fx.Node) -> Mapped:
    tensors = list(m._arg(node, 0, "tensors"))
    rank = len(m.shape(tensors[0]))
    dim = m._dim(m._arg(node, 1, "dim", 0), rank)
    if len(tensors) == 1:
        return Alias(tensors[0])
    return Layer("Concat", dict(dim=dim), tensors, "cat")


def _reduce(op: str) -> Any:
    def handler(m: NodeMapper, node: fx.Node) -> Mapped:
        x = node.args[0]
        rank = len(m.shape(x))
        dims = m._arg(node, 1, "dim")
        if dims is None:
            raise Unmappable(f"{op} over every dimension, the batch included")
        dims = m.const(dims)
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
        keepdim = bool(m.const(m._arg(node, 2, "keepdim", False)))
        dims = tuple(m._dim(d, rank) for d in dims)
        if op == "mean" and not keepdim and rank in (2, 3) and sorted(d % (rank + 1) for d in dims) == list(
                range(2, rank + 1)):  # every position of every channel: ShuffleNet's x.mean([2, 3])
            return Layer("GlobalAvgPool", {}, [x], op)
        return Layer("Reduce", dict(op=op, dims=dims, keepdim=keepdim), [x], op)

    return handler


def _softmax(type_id: str) -> Any:
    def handler(m: NodeMapper, node: fx.Node) -> Mapped:
        dim = m._arg(node, 1, "dim")
        if dim is None:
            raise Unmappable(f"{type_id} without a dim")
        return Layer(type_id, dict(dim=int(m.const(dim))), [node.args[0]], type_id.lower())

    return handler


def _dropout(m: NodeMapper, node: fx.Node) -> Mapped:
    p = float(m.const(m._arg(node, 1, "p", 0.5)))
    training = bool(m.const(m._arg(node, 2, "training", True)))
    if not training or p == 0.0:
        return Alias(node.args[0])
    return Layer("Dropout", dict(p=p), [node.args[0]], "dropout")


def _stochastic_depth(m: NodeMapper, node: fx.Node) -> Mapped:
    p = float(m.const(m._arg(node, 1, "p")))
    mode = m.const(m._arg(node, 2, "mode"))
    training = bool(m.const(m._arg(node, 3, "training", True)))
    if not training:
        return Alias(node.args[0])
    return Layer("StochasticDepth", dict(p=p, mode=mode), [node.args[0]], "stochastic_depth")


def _adaptive_avg_pool(m: NodeMapper, node: fx.Node) -> Mapped:
    size = m.const(m._arg(node, 1, "output_size"))
    if isinstance(size, (list, tuple)):
        size = int(size[0]) if len(set(size)) == 1 else tuple(int(s) for s in size)
    return Layer("AdaptiveAvgPool2d", dict(output_size=size), [node.args[0]], "adaptive_avg_pool2d")


def _interpolate(m: NodeMapper, node: fx.Node) -> Mapped:
    size = m.const(m._arg(node, 1, "size"))
    scale = m.const(m._arg(node, 2, "scale_factor"))
    if isinstance(scale, (list, tuple)):
        if len(set(scale)) != 1:
            raise Unmappable(f"interpolates by different scales {scale}")
        scale = scale[0]
    if isinstance(size, (list, tuple)):
        size = int(size[0]) if len(set(size)) == 1 else tuple(int(s) for s in size)
    mode = m.const(m._arg(node, 3, "mode", "nearest"))
    align = m.const(m._arg(node, 4, "align_corners"))
    return Layer("Upsample", dict(size=size, scale_factor=None if scale is None else float(scale), mode=mode,
                                  align_corners=bool(align)), [node.args[0]], "interpolate")


def _pad(m: NodeMapper, node: fx.Node) -> Mapped:
    pad = tuple(m.const(m._arg(node, 1, "pad")))
    mode = m.const(m._arg(node, 2, "mode", "constant"))
    value = m.const(m._arg(node, 3, "value", None))
    if mode != "constant" or value not in (None, 0, 0.0) or len(pad) != 4 or min(pad) < 0:
        raise Unmappable(f"pads with {pad}, mode {mode}, value {value} (only zero padding of height and width)")
    return Layer("ZeroPad2d", dict(padding=pad), [node.args[0]], "pad")


def _hardtanh(m: NodeMapper, node: fx.Node) -> Mapped:
    low, high = m.const(m._arg(node, 1, "min_val", -1.0)), m.const(m._arg(node, 2, "max_val", 1.0))
    if (low, high) != (0.0, 6.0):
        raise Unmappable(f"hardtanh between {low} and {high} (only ReLU6 maps)")
    return Layer("ReLU6", {}, [node.args[0]], "relu6")


def _gelu(m: NodeMapper, node: fx.Node) -> Mapped:
    return Layer("GELU", dict(approximate=m.const(node.kwargs.get("approximate", "none"))), [node.args[0]], "gelu")


FUNCTIONS: dict[str, Any] = {
    "view": _reshape, "reshape": _reshape, "_unsafe_view": _reshape, "flatten": _flatten, "transpose": _transpose,
    "permute": _permute, "cat": _cat, "concat": _cat, "mean": _reduce("mean"), "sum": _reduce("sum"),
    "amax": _reduce("amax"), "amin": _reduce("amin"), "softmax": _softmax("Softmax"),
    "log_softmax": _softmax("LogSoftmax"), "dropout": _dropout, "stochastic_depth": _stochastic_depth,
    "adaptive_avg_pool2d": _adaptive_avg_pool, "interpolate": _interpolate, "pad": _pad,
    "hardtanh": _hardtanh, "gelu": _gelu,
}
