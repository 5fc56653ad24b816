"""Which source modules are catalog layers, and with what parameters.

`LEAVES` maps a module class (by qualified name, so torchvision need not be
imported) to a converter that reads the module's attributes and returns the
catalog layer's type id and parameter values, or raises `Unmappable` when the
module uses an option the catalog layer does not have. The tracer keeps these
modules whole (fx leaves); every other module is traced through and becomes a
block. The built layer's parameter and buffer names are the source module's,
so the source state dict loads into the imported network unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn


class Unmappable(Exception):
    """A source module or operation that no catalog layer computes."""


Converted = tuple[str, dict[str, Any]]
Converter = Callable[[nn.Module], Converted]


def _need(condition: bool, why: str) -> None:
    if not condition:
        raise Unmappable(why)


def _single(value: Any) -> Any:
    """A tuple of equal ints as one int (the form the catalog's defaults use)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1 or len(set(value)) == 1:
            return int(value[0])
        return tuple(int(v) for v in value)
    return value


def _conv(nd: int) -> Converter:
    def convert(m: nn.Module) -> Converted:
        padding = m.padding if isinstance(m.padding, str) else _single(m.padding)
        params = dict(out_channels=m.out_channels, kernel_size=_single(m.kernel_size), stride=_single(m.stride),
                      padding=padding, dilation=_single(m.dilation), groups=m.groups, bias=m.bias is not None,
                      padding_mode=m.padding_mode)
        if nd == 1:
            for key in ("kernel_size", "stride", "dilation", "padding"):
                _need(not isinstance(params[key], tuple), f"Conv1d {key} {params[key]}")
        return f"Conv{nd}d", params

    return convert


def _conv_transpose(m: nn.Module) -> Converted:
    _need(m.padding_mode == "zeros", f"padding_mode {m.padding_mode}")
    return "ConvTranspose2d", dict(out_channels=m.out_channels, kernel_size=_single(m.kernel_size),
                                   stride=_single(m.stride), padding=_single(m.padding),
                                   output_padding=_single(m.output_padding), dilation=_single(m.dilation),
                                   groups=m.groups, bias=m.bias is not None)


def _batch_norm(nd: int) -> Converter:
    def convert(m: nn.Module) -> Converted:
        _need(m.track_running_stats, "BatchNorm without running statistics")
        _need(m.momentum is not None, "BatchNorm with a cumulative average (momentum None)")
        return f"BatchNorm{nd}d", dict(eps=m.eps, momentum=m.momentum, affine=m.affine)

    return convert


def _layer_norm(m: nn.Module) -> Converted:
    return "LayerNorm", dict(normalized_shape=len(m.normalized_shape), eps=m.eps,
                             elementwise_affine=m.elementwise_affine,
                             bias=getattr(m, "bias", None) is not None or not m.elementwise_affine)


def _layer_norm2d(m: nn.Module) -> Converted:
    _need(len(m.normalized_shape) == 1, "LayerNorm2d over more than the channels")
    return "LayerNorm2d", dict(eps=m.eps, elementwise_affine=m.elementwise_affine,
                               bias=getattr(m, "bias", None) is not None or not m.elementwise_affine)


def _group_norm(m: nn.Module) -> Converted:
    return "GroupNorm", dict(num_groups=m.num_groups, eps=m.eps, affine=m.affine)


def _linear(m: nn.Module) -> Converted:
    return "Linear", dict(out_features=m.out_features, bias=m.bias is not None)


def _plain(type_id: str) -> Converter:
    return lambda m: (type_id, {})


def _attrs(type_id: str, *names: str) -> Converter:
    return lambda m: (type_id, {name: getattr(m, name) for name in names})


def _dropout(m: nn.Module) -> Converted:
    return "Dropout", dict(p=float(m.p))


def _prelu(m: nn.Module) -> Converted:
    return "PReLU", dict(per_channel=m.num_parameters > 1)


def _softmax(type_id: str) -> Converter:
    def convert(m: nn.Module) -> Converted:
        _need(m.dim is not None, f"{type_id} without a dim")
        return type_id, dict(dim=m.dim)

    return convert


def _max_pool(m: nn.Module) -> Converted:
    _need(not m.return_indices, "MaxPool2d returning indices")
    return "MaxPool2d", dict(kernel_size=_single(m.kernel_size), stride=_single(m.stride),
                             padding=_single(m.padding), dilation=_single(m.dilation), ceil_mode=m.ceil_mode)


def _avg_pool(m: nn.Module) -> Converted:
    _need(m.divisor_override is None, "AvgPool2d with divisor_override")
    return "AvgPool2d", dict(kernel_size=_single(m.kernel_size), stride=_single(m.stride),
                             padding=_single(m.padding), ceil_mode=m.ceil_mode,
                             count_include_pad=m.count_include_pad)


def _adaptive_avg(m: nn.Module) -> Converted:
    size = m.output_size
    _need(size is not None and not (isinstance(size, tuple) and None in size), "AdaptiveAvgPool2d keeping a size")
    return "AdaptiveAvgPool2d", dict(output_size=_single(size))


def _flatten(m: nn.Module) -> Converted:
    _need(m.start_dim >= 1, "Flatten joining the batch dimension")
    return "Flatten", dict(start_dim=m.start_dim, end_dim=m.end_dim)


def _upsample(m: nn.Module) -> Converted:
    scale = m.scale_factor
    if isinstance(scale, tuple):
        _need(len(set(scale)) == 1, f"Upsample with different scales {scale}")
        scale = scale[0]
    size = None if m.size is None else _single(m.size)
    return "Upsample", dict(size=size, scale_factor=None if scale is None else float(scale), mode=m.mode,
                            align_corners=bool(m.align_corners))


def _zero_pad(m: nn.Module) -> Converted:
    padding = tuple(m.padding) if isinstance(m.padding, tuple) else (m.padding,) * 4
    return "ZeroPad2d", dict(padding=padding)


def _attention(m: nn.Module) -> Converted:
    _need(m.batch_first, "MultiheadAttention with batch_first=False")
    _need(m._qkv_same_embed_dim, "MultiheadAttention with kdim or vdim")
    _need(m.bias_k is None and not m.add_zero_attn, "MultiheadAttention with add_bias_kv or add_zero_attn")
    return "MultiheadAttention", dict(num_heads=m.num_heads, dropout=float(m.dropout),
                                      bias=m.in_proj_bias is not None)


def _encoder_layer(m: nn.Module) -> Converted:
    _need(m.self_attn.batch_first, "TransformerEncoderLayer with batch_first=False")
    activation = getattr(m.activation, "__name__", type(m.activation).__name__).lower()
    _need(activation in ("relu", "gelu"), f"TransformerEncoderLayer activation {activation}")
    return "TransformerEncoderLayer", dict(
        nhead=m.self_attn.num_heads, dim_feedforward=m.linear1.out_features, dropout=float(m.dropout.p),
        activation=activation, norm_first=m.norm_first, layer_norm_eps=m.norm1.eps,
        bias=m.linear1.bias is not None)


def _embedding(m: nn.Module) -> Converted:
    _need(m.max_norm is None and not m.sparse, "Embedding with max_norm or sparse gradients")
    return "Embedding", dict(num_embeddings=m.num_embeddings, embedding_dim=m.embedding_dim,
                             padding_idx=m.padding_idx)


def _torchvision_permute(m: nn.Module) -> Converted:
    dims = list(m.dims)
    _need(dims[0] == 0, f"Permute moving the batch dimension ({dims})")
    return "Permute", dict(dims=tuple(dims[1:]))


def _stochastic_depth(m: nn.Module) -> Converted:
    return "StochasticDepth", dict(p=float(m.p), mode=m.mode)


NN = "torch.nn.modules."
LEAVES: dict[str, Converter] = {
    NN + "conv.Conv1d": _conv(1),
    NN + "conv.Conv2d": _conv(2),
    NN + "conv.ConvTranspose2d": _conv_transpose,
    NN + "linear.Linear": _linear,
    NN + "linear.Identity": _plain("Identity"),
    NN + "batchnorm.BatchNorm1d": _batch_norm(1),
    NN + "batchnorm.BatchNorm2d": _batch_norm(2),
    NN + "normalization.LayerNorm": _layer_norm,
    NN + "normalization.GroupNorm": _group_norm,
    NN + "dropout.Dropout": _dropout,
    NN + "activation.ReLU": _plain("ReLU"),
    NN + "activation.ReLU6": _plain("ReLU6"),
    NN + "activation.Sigmoid": _plain("Sigmoid"),
    NN + "activation.Tanh": _plain("Tanh"),
    NN + "activation.SiLU": _plain("SiLU"),
    NN + "activation.Mish": _plain("Mish"),
    NN + "activation.Hardswish": _plain("Hardswish"),
    NN + "activation.Hardsigmoid": _plain("Hardsigmoid"),
    NN + "activation.GELU": _attrs("GELU", "approximate"),
    NN + "activation.LeakyReLU": _attrs("LeakyReLU", "negative_slope"),
    NN + "activation.ELU": _attrs("ELU", "alpha"),
    NN + "activation.Softplus": _attrs("Softplus", "beta", "threshold"),
    NN + "activation.PReLU": _prelu,
    NN + "activation.Softmax": _softmax("Softmax"),
    NN + "activation.LogSoftmax": _softmax("LogSoftmax"),
    NN + "activation.MultiheadAttention": _attention,
    NN + "pooling.MaxPool2d": _max_pool,
    NN + "pooling.AvgPool2d": _avg_pool,
    NN + "pooling.AdaptiveAvgPool2d": _adaptive_avg,
    NN + "flatten.Flatten": _flatten,
    NN + "upsampling.Upsample": _upsample,
    NN + "pixelshuffle.PixelShuffle": _attrs("PixelShuffle", "upscale_factor"),
    NN + "pixelshuffle.PixelUnshuffle": _attrs("PixelUnshuffle", "downscale_factor"),
    NN + "padding.ZeroPad2d": _zero_pad,
    NN + "channelshuffle.ChannelShuffle": _attrs("ChannelShuffle", "groups"),
    NN + "sparse.Embedding": _embedding,
    NN + "transformer.TransformerEncoderLayer": _encoder_layer,
    "torchvision.ops.stochastic_depth.StochasticDepth": _stochastic_depth,
    "torchvision.ops.misc.Permute": _torchvision_permute,
    "torchvision.models.convnext.LayerNorm2d": _layer_norm2d,
    "engine.layers.modules.LayerNorm2d": _layer_norm2d,
    "engine.layers.modules.StochasticDepth": _stochastic_depth,
}

# Layerloom's own modules (engine.layers.modules), also as copies in exported code, by class name:
# (catalog type id, the attributes that are its parameters)
LAYERLOOM_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Add": ("Add", ()), "Multiply": ("Multiply", ()), "Concat": ("Concat", ("dim",)),
    "Subtract": ("Subtract", ()), "Divide": ("Divide", ()), "Reshape": ("Reshape", ("shape",)),
    "Permute": ("Permute", ("dims",)), "Transpose": ("Transpose", ("dim0", "dim1")),
    "GlobalAvgPool": ("GlobalAvgPool", ()), "Select": ("Select", ("dim", "index")),
    "Slice": ("Slice", ("dim", "start", "end", "step")), "Reduce": ("Reduce", ("op", "dims", "keepdim")),
    "ScalarOp": ("ScalarOp", ("op", "value")), "SequencePool": ("SequencePool", ("mode",)),
    "StochasticDepth": ("StochasticDepth", ("p", "mode")),
}


def _layerloom_twin(module: nn.Module) -> tuple[str, tuple[str, ...]] | None:
    """The catalog layer of a Layerloom module or of its copy in exported code (same name, same forward)."""
    cls = type(module)
    entry = LAYERLOOM_MODULES.get(cls.__name__)
    if entry is None:
        return None
    from engine.layers import modules

    original = getattr(modules, cls.__name__, None)
    if original is None or getattr(cls.forward, "__code__", None) is None:
        return None
    if cls is not original and cls.forward.__code__.co_code != original.forward.__code__.co_code:
        return None
    return entry


# Modules the tracer must not enter even though no layer computes them: they are reported.
OPAQUE_PREFIXES = ("torch.nn.modules.",)


def is_leaf_type(name: str) -> bool:
    """Whether a module class, by qualified name, is a catalog layer (torch.export records names)."""
    module, _, cls = name.rpartition(".")
    return name in LEAVES or (module == "engine.layers.modules" and cls in LAYERLOOM_MODULES)


def qualified_name(module: nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_leaf(module: nn.Module) -> bool:
    """Modules kept whole by the tracer: catalog layers, and torch.nn modules without children."""
    name = qualified_name(module)
    if name in LEAVES or _layerloom_twin(module) is not None:
        return True
    return name.startswith(OPAQUE_PREFIXES) and not isinstance(module, (nn.Sequential, nn.ModuleList,
                                                                        nn.ModuleDict))


def convert_module(module: nn.Module) -> Converted:
    """The catalog layer computing `module`, or `Unmappable`."""
    converter = LEAVES.get(qualified_name(module))
    twin = _layerloom_twin(module) if converter is None else None
    if twin is not None:
        type_id, names = twin
        return type_id, {n: getattr(module, n) for n in names}
    if converter is None:
        raise Unmappable(f"no catalog layer computes {type(module).__name__}")
    return converter(module)
