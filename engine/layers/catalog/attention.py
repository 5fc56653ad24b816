"""Attention layers: SelfAttention, MultiheadAttention, TransformerEncoderLayer and SequencePool.

All work on (length, features) sequences, batch first. SequencePool reduces a
sequence to one vector so that a Transformer classifier can end in a Linear layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import apply_init, bias_param, init_param
from engine.layers.catalog.recurrent import sequence_input
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec


def check_heads(title: str, width: int, heads: int) -> None:
    """Raise unless `width` features split evenly into `heads` heads."""
    if width % heads == 0:
        return
    divisors = [d for d in range(1, min(width, 64) + 1) if width % d == 0]
    nearest = -(-width // heads) * heads
    raise ShapeError(
        f"{title} splits the {width} features into {heads} heads, but {width} does not divide by {heads}: "
        f"use num_heads {', '.join(map(str, divisors[-4:]))}, or project to {nearest} features with a "
        "Linear layer first",
        fix_type="Linear",
        fix_params={"out_features": nearest},
    )


def _attention_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    _, width = sequence_input(inputs[0], "SelfAttention")
    check_heads("SelfAttention", width, params["num_heads"])
    return inputs[0]


def _attention_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    width = inputs[0].shape[-1]
    return 4 * width * width + (4 * width if params["bias"] else 0)


def _attention_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import SelfAttention

    module = SelfAttention(inputs[0].shape[-1], params["num_heads"], dropout=params["dropout"],
                           bias=params["bias"], causal=params["causal"])
    return apply_init(module, params["init"])


SELF_ATTENTION = LayerSpec(
    type_id="SelfAttention",
    title="Self-Attention",
    category="Attention",
    help="Multi-head self-attention: every step of a (length, features) sequence looks at every other step "
    "and mixes in what is relevant. Features must divide by num_heads. The output has the input's shape.",
    params=(
        Param("num_heads", "int", 4, help="Number of attention heads; must divide the feature count.",
              minimum=1, maximum=1024),
        Param("dropout", "float", 0.0, help="Dropout on the attention weights while training.",
              minimum=0.0, maximum=0.99),
        bias_param(),
        Param("causal", "bool", False, help="Let each step see only itself and earlier steps "
              "(for generating sequences)."),
        init_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_attention_shape,
    count_params=_attention_count,
    build=_attention_build,
    key_params=("num_heads",),
    name_prefix="attn",
)


def _mha_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    _, width = sequence_input(inputs[0], "MultiheadAttention")
    check_heads("MultiheadAttention", width, params["num_heads"])
    return inputs[0]


def _mha_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import MultiheadSelfAttention

    return MultiheadSelfAttention(inputs[0].shape[-1], params["num_heads"], dropout=params["dropout"],
                                  bias=params["bias"])


MULTIHEAD_ATTENTION = LayerSpec(
    type_id="MultiheadAttention",
    title="Multi-head Attention",
    category="Attention",
    help="torch.nn.MultiheadAttention as self-attention on a (length, features) sequence (batch first), "
    "returning the attended sequence: the same computation as Self-Attention, with torch's own weight "
    "names (in_proj_weight, out_proj), as in torchvision's Vision Transformer.",
    params=(
        Param("num_heads", "int", 4, help="Number of attention heads; must divide the feature count.",
              minimum=1, maximum=1024),
        Param("dropout", "float", 0.0, help="Dropout on the attention weights while training.",
              minimum=0.0, maximum=0.99),
        bias_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_mha_shape,
    count_params=_attention_count,
    build=_mha_build,
    key_params=("num_heads",),
    name_prefix="attn",
)


def _encoder_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    _, width = sequence_input(inputs[0], "TransformerEncoderLayer")
    check_heads("TransformerEncoderLayer", width, params["nhead"])
    return inputs[0]


def _encoder_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    width, ff, bias = inputs[0].shape[-1], params["dim_feedforward"], params["bias"]
    attention = 4 * width * width + (4 * width if bias else 0)
    feedforward = 2 * width * ff + ((ff + width) if bias else 0)
    norms = 2 * width * (2 if bias else 1)
    return attention + feedforward + norms


def _encoder_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from torch import nn

    kwargs = dict(
        d_model=inputs[0].shape[-1], nhead=params["nhead"], dim_feedforward=params["dim_feedforward"],
        dropout=params["dropout"], activation=params["activation"], layer_norm_eps=params["layer_norm_eps"],
        batch_first=True, norm_first=params["norm_first"], bias=params["bias"],
    )
    module = nn.TransformerEncoderLayer(**kwargs)
    module.init_kwargs = kwargs  # torch keeps no copy of these; the code exporter writes them back out
    return apply_init(module, params["init"])


TRANSFORMER_ENCODER_LAYER = LayerSpec(
    type_id="TransformerEncoderLayer",
    title="Transformer Encoder Layer",
    category="Attention",
    help="One Transformer encoder block on a (length, features) sequence: self-attention and a two-layer "
    "feed-forward network, each with a residual connection and LayerNorm. Features must divide by nhead. "
    "Add a Positional Encoding before the first block.",
    params=(
        Param("nhead", "int", 4, help="Number of attention heads; must divide the feature count.",
              minimum=1, maximum=1024),
        Param("dim_feedforward", "int", 256, help="Hidden size of the feed-forward network.",
              minimum=1, maximum=1_000_000),
        Param("dropout", "float", 0.1, help="Dropout inside the block while training.", minimum=0.0,
              maximum=0.99),
        Param("activation", "choice", "relu", help="Activation of the feed-forward network.",
              choices=("relu", "gelu")),
        Param("norm_first", "bool", False, help="Normalise before attention and feed-forward (pre-norm, "
              "often trains more stably) instead of after."),
        Param("layer_norm_eps", "float", 1e-5, help="eps of the two LayerNorms.", minimum=1e-12, maximum=1.0),
        bias_param(),
        init_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_encoder_shape,
    count_params=_encoder_count,
    build=_encoder_build,
    key_params=("nhead", "dim_feedforward"),
    name_prefix="encoder",
)


def _sequence_pool_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    if len(x.shape) == 1:
        raise ShapeError(f"SequencePool reduces (length, features) sequences but gets {x.label()}, which is "
                         "already one vector per sample; remove it")
    if len(x.shape) == 3:
        raise ShapeError(f"SequencePool reduces (length, features) sequences but gets {x.label()}: use "
                         "Global Average Pool for feature maps")
    _, width = sequence_input(x, "SequencePool")
    return TensorSpec((width,))


def _sequence_pool_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import SequencePool

    return SequencePool(params["mode"])


SEQUENCE_POOL = LayerSpec(
    type_id="SequencePool",
    title="Sequence Pool",
    category="Attention",
    help="Reduces a (length, features) sequence to one feature vector: the mean or maximum over the steps, "
    "or the last or first step. Ends a Transformer or RNN classifier before its Linear layer.",
    params=(Param("mode", "choice", "mean", help="How to reduce over the steps.",
                  choices=("mean", "max", "last", "first")),),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_sequence_pool_shape,
    build=_sequence_pool_build,
    key_params=("mode",),
    name_prefix="seqpool",
)

SPECS = [SELF_ATTENTION, MULTIHEAD_ATTENTION, TRANSFORMER_ENCODER_LAYER, SEQUENCE_POOL]
