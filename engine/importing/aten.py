"""torch.export's ATen operations that carry a layer's weights, mapped back to catalog layers.

A torch.export graph has no module calls: ``nn.Conv2d`` appears as
``aten.conv2d(x, weight, bias, stride, padding, dilation, groups)`` with its
weight read by a ``get_attr`` of ``layer1.0.conv1.weight``. Each handler here
rebuilds the layer from the op's arguments and its weight's shape, and names it
after the weight's owner (``conv1``), so the imported network's state-dict keys
are the program's. Ops that torch functions share (relu, cat, view, ...) are
handled by `engine.importing.ops` by name.
"""

from __future__ import annotations

from typing import Any

from torch import fx

from engine.importing.leaves import Unmappable
from engine.importing.ops import Layer, Mapped, NodeMapper


def _owner(weight: Any) -> str:
    """``conv1`` for a get_attr of ``layer1.0.conv1.weight``."""
    if not isinstance(weight, fx.Node) or weight.op != "get_attr":
        raise Unmappable("a layer whose weights are computed, not stored")
    parts = str(weight.target).split(".")
    if len(parts) < 2:
        raise Unmappable(f"a weight {weight.target} that belongs to no module")
    return parts[-2]


def _pair(value: Any) -> Any:
    value = list(value) if isinstance(value, (list, tuple)) else [value]
    if not value:
        return None
    return int(value[0]) if len(set(value)) == 1 else tuple(int(v) for v in value)


def _arg(m: NodeMapper, node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    value = node.args[index] if len(node.args) > index else node.kwargs.get(name, default)
    return value if isinstance(value, fx.Node) and value.op == "get_attr" else m.const(value)


def _conv2d(m: NodeMapper, node: fx.Node) -> Mapped:
    x, weight = node.args[0], node.args[1]
    shape = tuple(m.traced.value(weight).shape)
    bias = _arg(m, node, 2, "bias")
    params = dict(out_channels=shape[0], kernel_size=_pair(shape[2:]), stride=_pair(_arg(m, node, 3, "stride", 1)),
                  padding=_pair(_arg(m, node, 4, "padding", 0)), dilation=_pair(_arg(m, node, 5, "dilation", 1)),
                  groups=int(_arg(m, node, 6, "groups", 1)), bias=bias is not None)
    return Layer("Conv2d", params, [x], _owner(weight), keep_name=True)


def _linear(m: NodeMapper, node: fx.Node) -> Mapped:
    x, weight = node.args[0], node.args[1]
    params: dict[str, Any] = dict(out_features=int(m.traced.value(weight).shape[0]),
                                  bias=_arg(m, node, 2, "bias") is not None)
    type_id = "PositionwiseLinear" if len(m.shape(x)) > 2 else "Linear"
    return Layer(type_id, params, [x], _owner(weight), keep_name=True)


def _batch_norm(m: NodeMapper, node: fx.Node, momentum_at: int, eps_at: int) -> Mapped:
    x, weight, running_mean = node.args[0], node.args[1], node.args[3]
    rank = len(m.shape(x))
    if rank not in (1, 2, 3):
        raise Unmappable(f"batch normalisation of {rank + 1}-D values")
    params = dict(eps=float(m.const(node.args[eps_at])), momentum=float(m.const(node.args[momentum_at])),
                  affine=weight is not None)
    return Layer("BatchNorm2d" if rank == 3 else "BatchNorm1d", params, [x], _owner(running_mean), keep_name=True)


def _batch_norm_op(m: NodeMapper, node: fx.Node) -> Mapped:
    return _batch_norm(m, node, 6, 7)  # batch_norm(x, w, b, mean, var, training, momentum, eps, cudnn)


def _batch_norm_legit(m: NodeMapper, node: fx.Node) -> Mapped:
    return _batch_norm(m, node, 5, 6)  # _native_batch_norm_legit_no_training(x, w, b, mean, var, momentum, eps)


def _layer_norm(m: NodeMapper, node: fx.Node) -> Mapped:
    x, shape = node.args[0], m.const(node.args[1])
    weight, bias = _arg(m, node, 2, "weight"), _arg(m, node, 3, "bias")
    if tuple(shape) != m.shape(x)[len(m.shape(x)) - len(shape):]:
        raise Unmappable(f"layer norm over {shape}, not the trailing dimensions")
    params = dict(normalized_shape=len(shape), eps=float(_arg(m, node, 4, "eps", 1e-5)),
                  elementwise_affine=weight is not None, bias=bias is not None or weight is None)
    owner = _owner(weight) if weight is not None else "layer_norm"
    return Layer("LayerNorm", params, [x], owner, keep_name=weight is not None)


def _max_pool(m: NodeMapper, node: fx.Node) -> Mapped:
    kernel = _pair(_arg(m, node, 1, "kernel_size"))
    params = dict(kernel_size=kernel, stride=_pair(_arg(m, node, 2, "stride", [])),
                  padding=_pair(_arg(m, node, 3, "padding", 0)), dilation=_pair(_arg(m, node, 4, "dilation", 1)),
                  ceil_mode=bool(_arg(m, node, 5, "ceil_mode", False)))
    return Layer("MaxPool2d", params, [node.args[0]], m._leaf_name(node) or "max_pool2d")


def _avg_pool(m: NodeMapper, node: fx.Node) -> Mapped:
    if _arg(m, node, 6, "divisor_override") is not None:
        raise Unmappable("average pooling with divisor_override")
    params = dict(kernel_size=_pair(_arg(m, node, 1, "kernel_size")), stride=_pair(_arg(m, node, 2, "stride", [])),
                  padding=_pair(_arg(m, node, 3, "padding", 0)), ceil_mode=bool(_arg(m, node, 4, "ceil_mode", False)),
                  count_include_pad=bool(_arg(m, node, 5, "count_include_pad", True)))
    return Layer("AvgPool2d", params, [node.args[0]], m._leaf_name(node) or "avg_pool2d")


def _select(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    dim = m._dim(node.args[1], len(m.shape(x)))
    return Layer("Select", dict(dim=dim, index=int(m.const(node.args[2]))), [x], "select")


def _slice(m: NodeMapper, node: fx.Node) -> Mapped:
    x = node.args[0]
    rank = len(m.shape(x))
    dim = int(m.const(_arg(m, node, 1, "dim", 0)))
    start, end = m.const(_arg(m, node, 2, "start")), m.const(_arg(m, node, 3, "end"))
    step = int(m.const(_arg(m, node, 4, "step", 1)))
    size = (m.shape(x)[dim % (rank + 1) - 1]) if dim % (rank + 1) else None
    if (start in (None, 0)) and (end is None or size is None or end >= (size or 0)) and step == 1:
        from engine.importing.ops import Alias

        if dim % (rank + 1) == 0 or end is None or end >= size:
            return Alias(x)  # the whole range (torch.export writes x[:, ...] as a full slice of the batch)
    dim = m._dim(dim, rank)
    end = None if end is not None and size is not None and end >= size else end
    return Layer("Slice", dict(dim=dim, start=int(start or 0), end=end, step=step), [x], "slice")


def multi_head_self_attention(x: Any, in_proj_weight: Any, in_proj_bias: Any, out_proj_weight: Any,
                              out_proj_bias: Any, num_heads: int) -> Any:
    """nn.MultiheadAttention(batch_first=True)(x, x, x)[0], as a function of its weights.

    The ONNX importer writes an attention module that the exporter spread over a few dozen ops
    (some of them moving the batch dimension) back as this one call.
    """
    import torch.nn.functional as F

    seq = x.transpose(0, 1)
    out = F.multi_head_attention_forward(seq, seq, seq, x.shape[-1], num_heads, in_proj_weight, in_proj_bias,
                                         None, None, False, 0.0, out_proj_weight, out_proj_bias,
                                         training=False, need_weights=False)[0]
    return out.transpose(0, 1)


def _attention(m: NodeMapper, node: fx.Node) -> Mapped:
    x, in_weight, in_bias, _, out_bias, heads = node.args
    params = dict(num_heads=int(heads), dropout=0.0, bias=in_bias is not None and out_bias is not None)
    return Layer("MultiheadAttention", params, [x], _owner(in_weight), keep_name=True)


HANDLERS = {
    "multi_head_self_attention": _attention,
    "conv2d": _conv2d, "linear": _linear, "batch_norm": _batch_norm_op,
    "_native_batch_norm_legit_no_training": _batch_norm_legit, "layer_norm": _layer_norm,
    "max_pool2d": _max_pool, "avg_pool2d": _avg_pool, "select": _select, "slice": _slice,
}
