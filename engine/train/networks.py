"""Small reference networks built in code, for the benchmark, tests and documentation.

`chain_document(shape, layers)` builds Input -> layer -> ... -> Output from (type id, params)
pairs; node ids come from the layer's name prefix (fc1, relu1, conv1, ...) unless a pair gives a
``name`` in its params dict. `mlp_document` and `cnn_document` are the two benchmark networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.graph.document import GraphDocument
from engine.layers.registry import LayerRegistry

Layer = tuple[str, dict[str, Any]]


def chain_document(shape: Sequence[int], layers: Sequence[Layer], dtype: str = "float",
                   registry: LayerRegistry | None = None) -> GraphDocument:
    """Input(shape) -> layers in order -> Output."""
    doc = GraphDocument(registry)
    previous = doc.add_node("Input", name="input", params={"shape": tuple(shape), "dtype": dtype}).id
    for type_id, params in layers:
        params = dict(params)
        name = params.pop("name", None)
        node = doc.add_node(type_id, name=name, params=params)
        doc.connect(previous, "out", node.id, "in")
        previous = node.id
    doc.connect(previous, "out", doc.add_node("Output", name="output").id, "in")
    return doc


def mlp_document(in_features: int = 2, hidden: Sequence[int] = (64, 64), classes: int = 2) -> GraphDocument:
    """Input(in_features) -> (Linear, ReLU) per hidden width -> Linear(classes)."""
    layers: list[Layer] = []
    for width in hidden:
        layers += [("Linear", {"out_features": width}), ("ReLU", {})]
    return chain_document((in_features,), [*layers, ("Linear", {"out_features": classes})])


def image_mlp_document(classes: int = 6) -> GraphDocument:
    """Flattened 1×28×28 images -> 256 -> 256 -> classes."""
    return chain_document((1, 28, 28), [("Flatten", {}), ("Linear", {"out_features": 256}), ("ReLU", {}),
                                        ("Linear", {"out_features": 256}), ("ReLU", {}),
                                        ("Linear", {"out_features": classes})])


def cnn_document(classes: int = 6) -> GraphDocument:
    """A LeNet-style CNN for 1×28×28 images."""
    return chain_document((1, 28, 28), [
        ("Conv2d", {"out_channels": 8, "kernel_size": 5, "padding": 2}), ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}),
        ("Conv2d", {"out_channels": 16, "kernel_size": 5}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
        ("Flatten", {}), ("Linear", {"out_features": 64}), ("ReLU", {}),
        ("Linear", {"out_features": classes})])
