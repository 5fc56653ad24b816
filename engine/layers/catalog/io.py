"""Input and Output: where data enters the network and where results leave it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.spec import FLOAT, LONG, LayerSpec, Param, Port, TensorSpec


def _input_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    dtype = LONG if params["dtype"] == "token_ids" else FLOAT
    return TensorSpec(tuple(params["shape"]), dtype)


def _output_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return inputs[0]


INPUT = LayerSpec(
    type_id="Input",
    title="Input",
    category="Input / Output",
    help="Where a batch of samples enters the network. The shape excludes the batch size: "
    "a 28x28 grey image is 1, 28, 28; a sequence of 20 steps of 8 features is 20, 8; "
    "20 token ids is 20 with dtype token_ids.",
    params=(
        Param("shape", "ints", (1, 28, 28), help="Shape of one sample, without the batch dimension.",
              minimum=1, maximum=1_000_000),
        Param("dtype", "choice", "float", help="float for measurements, token_ids for Embedding input.",
              choices=("float", "token_ids")),
    ),
    inputs=(),
    outputs=(Port("out"),),
    infer=_input_shape,
    build=None,
    key_params=("shape",),
    name_prefix="input",
)

OUTPUT = LayerSpec(
    type_id="Output",
    title="Output",
    category="Input / Output",
    help="Marks a network output: what the loss and the metrics see. A network may have several.",
    params=(),
    inputs=(Port("in"),),
    outputs=(),
    infer=_output_shape,
    build=None,
    name_prefix="output",
)

SPECS = [INPUT, OUTPUT]
