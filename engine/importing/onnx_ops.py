"""ONNX operations as the ATen calls that compute the same, for `engine.importing.onnx_source`.

Each handler turns one ONNX node into fx nodes on the translator's graph, its
weights registered as parameters named after the module that owns them, or
raises `_Unsupported` saying why it cannot. Attributes the catalog cannot
express (uneven padding, a Clip other than ReLU6's, Gemm's alpha) are refused.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import fx

from engine.importing.onnx_source import OnnxTranslator, _attrs, _owner_path, _Unsupported

aten = torch.ops.aten


def _conv(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4 or pads[:2] != pads[2:]:
        raise _Unsupported(f"a convolution with uneven padding {pads}")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise _Unsupported("a convolution with auto_pad")
    owner = _owner_path(node.input[1], node)
    weight = t.param(node.input[1], f"{owner}.weight")
    bias = t.param(node.input[2], f"{owner}.bias") if _has_bias(t, node) else None
    return t.call(aten.conv2d.default, t.value(node.input[0]), weight, bias, list(a.get("strides", [1, 1])),
                  pads[:2], list(a.get("dilations", [1, 1])), int(a.get("group", 1)))


def _has_bias(t: OnnxTranslator, node: Any) -> bool:
    """Whether a Conv has a bias of its own: an unoptimised export writes zeros for a layer without one,
    under a generated name (``val_6``) rather than a parameter's (``conv1.bias``)."""
    if len(node.input) < 3 or not node.input[2]:
        return False
    array = t.const(node.input[2])
    generated = array is not None and "." not in node.input[2] and not np.any(array)
    return not generated


def _gemm(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
        raise _Unsupported("a Gemm with alpha, beta or transA")
    owner = _owner_path(node.input[1], node)
    transform = None if a.get("transB", 0) else (lambda w: w.T)
    weight = t.param(node.input[1], f"{owner}.weight", transform)
    bias = t.param(node.input[2], f"{owner}.bias") if len(node.input) > 2 and node.input[2] else None
    return t.call(aten.linear.default, t.value(node.input[0]), weight, bias)


def _matmul(t: OnnxTranslator, node: Any) -> Any:
    if t.const(node.input[1]) is None:
        raise _Unsupported("a product of two computed tensors")
    owner = _owner_path(node.input[1], node)
    weight = t.param(node.input[1], f"{owner}.weight", lambda w: w.T)
    bias_add = t.bias_add(node)
    bias = None
    if bias_add is not None:
        other = next(i for i in bias_add.input if i != node.output[0])
        bias = t.param(other, f"{owner}.bias")
        t.absorbed[bias_add.name] = node.output[0]
    return t.call(aten.linear.default, t.value(node.input[0]), weight, bias)


def _batch_norm(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    owner = _owner_path(node.input[3], node)
    w, b, mean, var = (t.param(node.input[i], f"{owner}.{k}") for i, k in
                       enumerate(("weight", "bias", "running_mean", "running_var"), start=1))
    out = t.call(aten._native_batch_norm_legit_no_training.default, t.value(node.input[0]), w, b, mean, var,
                 1.0 - float(a.get("momentum", 0.9)), float(a.get("epsilon", 1e-5)))
    return t.call(operator.getitem, out, 0)


def _layer_norm(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    owner = _owner_path(node.input[1], node)
    weight = t.param(node.input[1], f"{owner}.weight")
    bias = t.param(node.input[2], f"{owner}.bias") if len(node.input) > 2 and node.input[2] else None
    shape = list(t.const(node.input[1]).shape)
    if a.get("axis", -1) != -len(shape) and a.get("axis", -1) != -1:
        raise _Unsupported(f"layer normalisation from axis {a.get('axis')}")
    return t.call(aten.layer_norm.default, t.value(node.input[0]), shape, weight, bias, float(a.get("epsilon", 1e-5)))


def _pool(kind: str) -> Callable[[OnnxTranslator, Any], fx.Node]:
    def handler(t: OnnxTranslator, node: Any) -> fx.Node:
        a = _attrs(node)
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise _Unsupported(f"pooling with uneven padding {pads}")
        kernel, strides = list(a["kernel_shape"]), list(a.get("strides", a["kernel_shape"]))
        x = t.value(node.input[0])
        if kind == "max":
            return t.call(aten.max_pool2d.default, x, kernel, strides, pads[:2], list(a.get("dilations", [1, 1])),
                          bool(a.get("ceil_mode", 0)))
        return t.call(aten.avg_pool2d.default, x, kernel, strides, pads[:2], bool(a.get("ceil_mode", 0)),
                      bool(a.get("count_include_pad", 0)))

    return handler


def _simple(target: Any) -> Callable[[OnnxTranslator, Any], fx.Node]:
    return lambda t, node: t.call(target, *(t.value(i) for i in node.input))


def _clip(t: OnnxTranslator, node: Any) -> fx.Node:
    low = t.const(node.input[1]) if len(node.input) > 1 and node.input[1] else None
    high = t.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if low is None or high is None or (float(low), float(high)) != (0.0, 6.0):
        raise _Unsupported("a Clip other than to [0, 6] (ReLU6)")
    return t.call(aten.hardtanh.default, t.value(node.input[0]), 0.0, 6.0)


def _hard_sigmoid(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
        raise _Unsupported("a HardSigmoid with other slopes than torch's")
    return t.call(aten.hardsigmoid.default, t.value(node.input[0]))


def _reduce_mean(t: OnnxTranslator, node: Any) -> fx.Node:
    a = _attrs(node)
    axes = a.get("axes") or (t.const(node.input[1]).tolist() if len(node.input) > 1 else None)
    if axes is None:
        raise _Unsupported("a mean over every dimension")
    return t.call(aten.mean.dim, t.value(node.input[0]), list(axes), bool(a.get("keepdims", 1)))


def _global_avg(t: OnnxTranslator, node: Any) -> fx.Node:
    return t.call(aten.adaptive_avg_pool2d.default, t.value(node.input[0]), [1, 1])


def _flatten(t: OnnxTranslator, node: Any) -> fx.Node:
    axis = _attrs(node).get("axis", 1)
    if axis != 1:
        raise _Unsupported(f"a Flatten from axis {axis}")
    return t.call(aten.flatten.using_ints, t.value(node.input[0]), 1, -1)


def _reshape(t: OnnxTranslator, node: Any) -> fx.Node:
    return t.call(aten.view.default, t.value(node.input[0]), t.reshape_target(node))


def _transpose(t: OnnxTranslator, node: Any) -> fx.Node:
    return t.call(aten.permute.default, t.value(node.input[0]), list(_attrs(node)["perm"]))


def _concat(t: OnnxTranslator, node: Any) -> fx.Node:
    return t.call(aten.cat.default, [t.value(i) for i in node.input], int(_attrs(node)["axis"]))


def _softmax(t: OnnxTranslator, node: Any) -> fx.Node:
    return t.call(aten.softmax.int, t.value(node.input[0]), int(_attrs(node).get("axis", -1)))


def _identity(t: OnnxTranslator, node: Any) -> Any:
    return t.value(node.input[0])


def _gather(t: OnnxTranslator, node: Any) -> fx.Node:
    index = t.const(node.input[1])
    if index is None or index.ndim != 0:
        raise _Unsupported("a Gather of computed or several indexes")
    return t.call(aten.select.int, t.value(node.input[0]), int(_attrs(node).get("axis", 0)), int(index))


def _expand(t: OnnxTranslator, node: Any) -> fx.Node:
    x = t.value(node.input[0])
    array = t.const(node.input[0])
    if array is None or array.shape[0] != 1:
        raise _Unsupported("an Expand of a computed tensor (only a learned tensor repeated over the batch maps)")
    batch = t.batch_size_of(node.input[1])
    return t.call(aten.expand.default, x, [batch, *([-1] * (array.ndim - 1))])


def _gelu(t: OnnxTranslator, node: Any) -> fx.Node:
    approximate = _attrs(node).get("approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    return t.fx.call_function(aten.gelu.default, (t.value(node.input[0]),), {"approximate": approximate})


def _same_shape_reshape(t: OnnxTranslator, node: Any) -> fx.Node:
    """Unsqueeze and Squeeze, which only rearrange a sample's dimensions: a reshape to the inferred shape."""
    return t.call(aten.view.default, t.value(node.input[0]), t.reshape_target(node))


ONNX_OPS: dict[str, Callable[[OnnxTranslator, Any], Any]] = {
    "Expand": _expand, "Gelu": _gelu, "Unsqueeze": _same_shape_reshape, "Squeeze": _same_shape_reshape,
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm, "MaxPool": _pool("max"), "AveragePool": _pool("avg"),
    "GlobalAveragePool": _global_avg, "Relu": _simple(aten.relu.default), "Sigmoid": _simple(aten.sigmoid.default),
    "Tanh": _simple(aten.tanh.default), "HardSwish": _simple(aten.hardswish.default),
    "HardSigmoid": _hard_sigmoid, "Clip": _clip, "Add": _simple(aten.add.Tensor), "Mul": _simple(aten.mul.Tensor),
    "Sub": _simple(aten.sub.Tensor), "Div": _simple(aten.div.Tensor), "ReduceMean": _reduce_mean,
    "Flatten": _flatten, "Reshape": _reshape, "Transpose": _transpose, "Concat": _concat, "Softmax": _softmax,
    "Identity": _identity, "Dropout": _identity, "Gather": _gather,
}
