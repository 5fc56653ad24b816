"""Sequence layers: Embedding, RNN, LSTM, GRU and PositionalEncoding.

Sequences are (length, features) per sample, batch first. Embedding is the one
layer that takes token ids (int64) and turns them into float vectors. Recurrent
layers return one tensor: every step's output, or the final state of each
direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.catalog.common import apply_init, bias_param, init_param, need_float
from engine.layers.spec import LONG, LayerSpec, Param, Port, ShapeError, TensorSpec

BIG = 100_000
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def sequence_input(x: TensorSpec, title: str) -> tuple[int, int]:
    """Check a float (length, features) input; return (length, features)."""
    need_float(x, title)
    if len(x.shape) == 2:
        return x.shape[0], x.shape[1]
    if len(x.shape) == 1:
        raise ShapeError(f"{title} needs a sequence (length, features) per sample but gets {x.label()}; "
                         "reshape it to a sequence of one feature per step",
                         fix_type="Reshape", fix_params={"shape": (x.shape[0], 1)})
    fix = {"shape": (x.shape[0], x.numel // x.shape[0])}
    raise ShapeError(f"{title} needs a sequence (length, features) per sample but gets {x.label()}; "
                     "reshape it to (steps, features) first", fix_type="Reshape", fix_params=fix)


def _check_padding_idx(params: Mapping[str, Any]) -> None:
    idx, n = params["padding_idx"], params["num_embeddings"]
    if idx is not None and not -n <= idx < n:
        raise ShapeError(f"Embedding padding_idx {idx} is not a token id: it must be below num_embeddings "
                         f"({n})")


def _embedding_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    x = inputs[0]
    if x.dtype != LONG:
        raise ShapeError(f"Embedding looks up token ids but gets float values ({x.label()}): set the "
                         "Input's dtype to token_ids")
    _check_padding_idx(params)
    return TensorSpec((*x.shape, params["embedding_dim"]))


def _embedding_count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    return params["num_embeddings"] * params["embedding_dim"]


def _embedding_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    import torch
    from torch import nn

    idx = params["padding_idx"]
    module = nn.Embedding(params["num_embeddings"], params["embedding_dim"], padding_idx=idx)
    apply_init(module, params["init"])
    if idx is not None:
        with torch.no_grad():
            module.weight[idx].zero_()  # the padding row stays zero, as torch's own init leaves it
    return module


EMBEDDING = LayerSpec(
    type_id="Embedding",
    title="Embedding",
    category="Sequence",
    help="Turns token ids (the Input's dtype token_ids) into learned vectors: a sequence of L ids becomes "
    "(L, embedding_dim). Ids must be below num_embeddings.",
    params=(
        Param("num_embeddings", "int", 1000, help="Vocabulary size: ids run from 0 to this minus one.",
              minimum=1, maximum=10_000_000),
        Param("embedding_dim", "int", 64, help="Length of each token's vector.", minimum=1, maximum=BIG),
        Param("padding_idx", "int", None, help="A token id whose vector stays zero and is not trained "
              "(e.g. padding); empty for none.", minimum=-10_000_000, maximum=10_000_000, optional=True),
        init_param(),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_embedding_shape,
    count_params=_embedding_count,
    build=_embedding_build,
    key_params=("num_embeddings", "embedding_dim"),
    name_prefix="embed",
)


def _recurrent_shape(type_id: str) -> Any:
    def infer(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
        length, _ = sequence_input(inputs[0], type_id)
        width = params["hidden_size"] * (2 if params["bidirectional"] else 1)
        return TensorSpec((length, width) if params["return_sequences"] else (width,))

    return infer


def _recurrent_count(type_id: str) -> Any:
    def count(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
        gates, hidden = GATES[type_id], params["hidden_size"]
        dirs = 2 if params["bidirectional"] else 1
        total = 0
        for layer in range(params["num_layers"]):
            width = inputs[0].shape[-1] if layer == 0 else hidden * dirs
            per_direction = gates * hidden * (width + hidden) + (2 * gates * hidden if params["bias"] else 0)
            total += dirs * per_direction
        return total

    return count


def _recurrent_build(type_id: str) -> Any:
    def build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
        from torch import nn

        from engine.layers.modules import Recurrent

        extra = {"nonlinearity": params["nonlinearity"]} if type_id == "RNN" else {}
        layers = params["num_layers"]
        kwargs = dict(
            input_size=inputs[0].shape[-1], hidden_size=params["hidden_size"], num_layers=layers,
            bias=params["bias"], batch_first=True, dropout=params["dropout"] if layers > 1 else 0.0,
            bidirectional=params["bidirectional"], **extra,
        )
        rnn = getattr(nn, type_id)(**kwargs)
        rnn.init_kwargs = kwargs  # torch's RNN constructors take *args: the code exporter needs the names
        return apply_init(Recurrent(rnn, params["return_sequences"]), params["init"])

    return build


def _recurrent_spec(type_id: str, help_text: str) -> LayerSpec:
    extra = (Param("nonlinearity", "choice", "tanh", help="The activation inside each step.",
                   choices=("tanh", "relu")),) if type_id == "RNN" else ()
    return LayerSpec(
        type_id=type_id,
        title=type_id,
        category="Sequence",
        help=help_text + " Takes a (length, features) sequence; returns every step's output "
        "(length, hidden·directions) with return_sequences, else the final state (hidden·directions).",
        params=(
            Param("hidden_size", "int", 64, help="Size of the hidden state.", minimum=1, maximum=BIG),
            Param("num_layers", "int", 1, help="Number of stacked layers.", minimum=1, maximum=16),
            Param("bidirectional", "bool", False, help="Also read the sequence backwards and join both "
                  "directions (doubles the output width)."),
            Param("dropout", "float", 0.0, help="Dropout between stacked layers while training; has no "
                  "effect with one layer.", minimum=0.0, maximum=0.99),
            Param("return_sequences", "bool", False, help="Return the output at every step (to feed another "
                  "sequence layer) instead of only the final state (to feed a classifier)."),
            *extra,
            bias_param(),
            init_param(),
        ),
        inputs=(Port("in"),),
        outputs=(Port("out"),),
        infer=_recurrent_shape(type_id),
        count_params=_recurrent_count(type_id),
        build=_recurrent_build(type_id),
        key_params=("hidden_size", "num_layers"),
        name_prefix=type_id.lower(),
    )


def _positional_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    length, _ = sequence_input(inputs[0], "PositionalEncoding")
    if length > params["max_len"]:
        raise ShapeError(f"PositionalEncoding has codes for {params['max_len']} positions but the sequence "
                         f"has {length}; raise max_len to at least {length}")
    return inputs[0]


def _positional_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import PositionalEncoding

    return PositionalEncoding(inputs[0].shape[-1], params["max_len"], params["dropout"])


POSITIONAL_ENCODING = LayerSpec(
    type_id="PositionalEncoding",
    title="Positional Encoding",
    category="Sequence",
    help="Adds fixed sine and cosine codes of each position to a (length, features) sequence, so that "
    "attention layers can tell the order of the steps. Nothing is learned.",
    params=(
        Param("max_len", "int", 512, help="Longest sequence it has codes for.", minimum=1, maximum=1_000_000),
        Param("dropout", "float", 0.0, help="Dropout applied after adding the codes, while training.",
              minimum=0.0, maximum=0.99),
    ),
    inputs=(Port("in"),),
    outputs=(Port("out"),),
    infer=_positional_shape,
    build=_positional_build,
    key_params=("max_len",),
    name_prefix="posenc",
)

SPECS = [
    EMBEDDING,
    _recurrent_spec("RNN", "A simple recurrent layer (Elman RNN)."),
    _recurrent_spec("LSTM", "Long short-term memory: a recurrent layer with gates that can keep information "
                    "over long sequences."),
    _recurrent_spec("GRU", "Gated recurrent unit: a lighter gated recurrent layer than the LSTM."),
    POSITIONAL_ENCODING,
]
