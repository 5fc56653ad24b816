"""Bundled block definitions, and networks assembled from them (ResNet-18, a Transformer classifier).

The palette's *Blocks* section and the bundled examples both read this module:
`BUNDLED_BLOCKS` names the blocks a user can drag in, `bundled_definitions(name)`
gives a block's saved form (`serialize.definition_to_data`) with the blocks it
uses before it, and `add_bundled_block(doc, name)` puts it (and what it needs)
into a project's library as one reversible `Step`.

Each block is written once, here, with its exposed parameters, e.g.
``BasicBlock``: ``channels``, ``stride`` (later copies: 1) and ``downsample``
(1 adds torchvision's 1x1 projection on the shortcut; later copies: 0), so one
instance with ``repeat`` 2 is a ResNet stage with exactly torchvision's
module names (``layer2.0.downsample.0.weight``). No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.graph.blocks import BLOCK_INPUT, BLOCK_OUTPUT, REPEAT, BlockDefinition, BlockParam
from engine.graph.document import GraphDocument
from engine.graph.hierarchy import Step, copy_definition, record
from engine.graph.serialize import definition_to_data
from engine.network import Network


class BodyBuilder:
    """A chainable way to write a block's body, like `Network` for a network."""

    def __init__(self, body: GraphDocument) -> None:
        self.body = body
        self._x = 0.0

    def _position(self) -> tuple[float, float]:
        self._x += 180.0
        return (self._x, 0.0)

    def input(self, name: str = "x") -> str:
        return self.body.add_node(BLOCK_INPUT, name=name, node_id=name, position=self._position()).id

    def add(self, type_id: str, inputs: str | Sequence[str], name: str, **params: Any) -> str:
        node = self.body.add_node(type_id, name=name, node_id=name, params=params, position=self._position())
        spec = self.body.spec_of(node)
        sources = [inputs] if isinstance(inputs, str) else list(inputs)
        multi = bool(spec.inputs) and spec.inputs[0].multi
        ports = [spec.inputs[0].name] * len(sources) if multi else [p.name for p in spec.inputs]
        for source, port in zip(sources, ports):
            source_port = self.body.spec(source).outputs[0].name
            self.body.connect(source, source_port, node.id, port, allow_cycle=False)
        return node.id

    def output(self, source: str, name: str = "y") -> str:
        node = self.body.add_node(BLOCK_OUTPUT, name=name, node_id=name, position=self._position())
        self.body.connect(source, self.body.spec(source).outputs[0].name, node.id, "in")
        return node.id


def _define(doc: GraphDocument, name: str, title: str, help_text: str,
            write: Callable[[BodyBuilder], None], params: Sequence[BlockParam]) -> None:
    library = doc.library
    body = library.new_body(doc.registry)
    write(BodyBuilder(body))
    library.add(BlockDefinition(name, body, [], title, help_text))
    library.set_params(name, list(params))


def _conv_bn_relu(b: BodyBuilder) -> None:
    x = b.input()
    x = b.add("Conv2d", x, "conv", out_channels=64, kernel_size=3, padding=1, bias=False)
    x = b.add("BatchNorm2d", x, "bn")
    b.output(b.add("ReLU", x, "relu"))


def _downsample(b: BodyBuilder) -> None:
    x = b.input()
    x = b.add("Conv2d", x, "0", out_channels=64, kernel_size=1, bias=False)
    b.output(b.add("BatchNorm2d", x, "1"))


def _basic(b: BodyBuilder) -> None:
    x = b.input()
    y = b.add("Conv2d", x, "conv1", out_channels=64, kernel_size=3, padding=1, bias=False)
    y = b.add("BatchNorm2d", y, "bn1")
    y = b.add("ReLU", y, "relu")
    y = b.add("Conv2d", y, "conv2", out_channels=64, kernel_size=3, padding=1, bias=False)
    y = b.add("BatchNorm2d", y, "bn2")
    shortcut = b.add("Downsample", x, "downsample", repeat=0)
    y = b.add("Add", [y, shortcut], "add")
    b.output(b.add("ReLU", y, "relu2"))


def _bottleneck(b: BodyBuilder) -> None:
    x = b.input()
    y = b.add("Conv2d", x, "conv1", out_channels=64, kernel_size=1, bias=False)
    y = b.add("BatchNorm2d", y, "bn1")
    y = b.add("ReLU", y, "relu")
    y = b.add("Conv2d", y, "conv2", out_channels=64, kernel_size=3, padding=1, bias=False)
    y = b.add("BatchNorm2d", y, "bn2")
    y = b.add("ReLU", y, "relu2")
    y = b.add("Conv2d", y, "conv3", out_channels=256, kernel_size=1, bias=False)
    y = b.add("BatchNorm2d", y, "bn3")
    shortcut = b.add("Downsample", x, "downsample", repeat=0)
    y = b.add("Add", [y, shortcut], "add")
    b.output(b.add("ReLU", y, "relu3"))


def _inverted_residual(skip: bool) -> Callable[[BodyBuilder], None]:
    def write(b: BodyBuilder) -> None:
        x = b.input()
        y = b.add("Conv2d", x, "expand", out_channels=96, kernel_size=1, bias=False)
        y = b.add("BatchNorm2d", y, "expand_bn")
        y = b.add("ReLU6", y, "expand_relu")
        y = b.add("Conv2d", y, "depthwise", out_channels=96, kernel_size=3, padding=1, groups=96, bias=False)
        y = b.add("BatchNorm2d", y, "depthwise_bn")
        y = b.add("ReLU6", y, "depthwise_relu")
        y = b.add("Conv2d", y, "project", out_channels=16 if skip else 24, kernel_size=1, bias=False)
        y = b.add("BatchNorm2d", y, "project_bn")
        b.output(b.add("Add", [x, y], "add") if skip else y)

    return write


def _squeeze_excite(b: BodyBuilder) -> None:
    x = b.input()
    g = b.add("AdaptiveAvgPool2d", x, "avgpool", output_size=1)
    g = b.add("Conv2d", g, "fc1", out_channels=16, kernel_size=1)
    g = b.add("ReLU", g, "activation")
    g = b.add("Conv2d", g, "fc2", out_channels=64, kernel_size=1)
    g = b.add("Sigmoid", g, "scale_activation")
    b.output(b.add("Multiply", [x, g], "scale"))


def _encoder(b: BodyBuilder) -> None:
    x = b.input()
    a = b.add("SelfAttention", x, "self_attn", num_heads=4)
    a = b.add("Dropout", a, "dropout1", p=0.1)
    h = b.add("LayerNorm", b.add("Add", [x, a], "add1"), "norm1")
    f = b.add("Linear", h, "linear1", out_features=256)
    f = b.add("ReLU", f, "activation")
    f = b.add("Dropout", f, "dropout", p=0.1)
    f = b.add("Linear", f, "linear2", out_features=64)
    f = b.add("Dropout", f, "dropout2", p=0.1)
    b.output(b.add("LayerNorm", b.add("Add", [h, f], "add2"), "norm2"))


def _p(name: str, *targets: str, later: Any = None, help_text: str = "") -> BlockParam:
    pairs = tuple((t.split(".", 1)[0], t.split(".", 1)[1]) for t in targets)
    return BlockParam(name, pairs, later, help_text)


def _all_definitions(doc: GraphDocument) -> None:
    _define(doc, "ConvBnRelu", "Conv-BN-ReLU", "A 2-D convolution without bias, batch normalisation and ReLU.",
            _conv_bn_relu, [_p("channels", "conv.out_channels"), _p("kernel_size", "conv.kernel_size"),
                            _p("stride", "conv.stride", later=1), _p("padding", "conv.padding")])
    _define(doc, "Downsample", "Downsample", "A 1x1 strided convolution and batch normalisation: the "
            "projection on a ResNet block's shortcut when the shape changes.", _downsample,
            [_p("channels", "0.out_channels"), _p("stride", "0.stride")])
    shortcut_help = "1 adds the 1x1 projection on the shortcut (needed when stride or channels change); 0 is none."
    _define(doc, "BasicBlock", "ResNet basic block", "Two 3x3 convolutions with batch normalisation and a "
            "residual connection (ResNet-18/34). Repeat it for a stage: the first copy may downsample.",
            _basic, [_p("channels", "conv1.out_channels", "conv2.out_channels", "downsample.channels"),
                     _p("stride", "conv1.stride", "downsample.stride", later=1),
                     _p("downsample", "downsample.repeat", later=0, help_text=shortcut_help)])
    _define(doc, "Bottleneck", "ResNet bottleneck", "1x1 reduce, 3x3 (strided), 1x1 expand with batch "
            "normalisation and a residual connection (ResNet-50/101/152; stride on the 3x3).", _bottleneck,
            [_p("width", "conv1.out_channels", "conv2.out_channels"),
             _p("channels", "conv3.out_channels", "downsample.channels"),
             _p("stride", "conv2.stride", "downsample.stride", later=1),
             _p("downsample", "downsample.repeat", later=0, help_text=shortcut_help)])
    inverted = [_p("hidden", "expand.out_channels", "depthwise.out_channels", "depthwise.groups",
                   help_text="Expanded channels: input channels times the expansion ratio (usually 6)."),
                _p("channels", "project.out_channels")]
    _define(doc, "InvertedResidual", "MobileNetV2 inverted residual", "1x1 expand, 3x3 depthwise, 1x1 "
            "linear projection, with a residual connection: keeps the shape (stride 1, same channels).",
            _inverted_residual(True), inverted)
    _define(doc, "InvertedResidualDown", "MobileNetV2 inverted residual (no shortcut)", "The inverted "
            "residual without its shortcut, for the first block of a MobileNetV2 stage, which may stride "
            "or change the channels.", _inverted_residual(False),
            [*inverted, _p("stride", "depthwise.stride")])
    _define(doc, "SqueezeExcite", "Squeeze-and-excitation", "Scales each channel of a feature map by a "
            "gate computed from the map's average: pool, 1x1 reduce, ReLU, 1x1 expand, sigmoid, multiply.",
            _squeeze_excite, [_p("squeeze_channels", "fc1.out_channels"), _p("channels", "fc2.out_channels",
                              help_text="The feature map's channels (the gate has one per channel).")])
    _define(doc, "TransformerEncoderBlock", "Transformer encoder block", "Post-norm Transformer encoder "
            "layer on a (length, features) sequence: self-attention and a feed-forward network, each with "
            "dropout, a residual connection and LayerNorm.", _encoder,
            [_p("d_model", "linear2.out_features", help_text="The sequence's feature count."),
             _p("heads", "self_attn.num_heads"), _p("dim_feedforward", "linear1.out_features"),
             _p("dropout", "dropout1.p", "dropout.p", "dropout2.p")])


BUNDLED_BLOCKS = ("ConvBnRelu", "BasicBlock", "Bottleneck", "InvertedResidual", "InvertedResidualDown",
                  "SqueezeExcite", "TransformerEncoderBlock", "Downsample")

_cache: dict[str, dict[str, Any]] = {}


def _bundled() -> dict[str, dict[str, Any]]:
    if not _cache:
        doc = GraphDocument()
        _all_definitions(doc)
        _cache.update({d.name: definition_to_data(d) for d in doc.library})
    return _cache


def bundled_definitions(name: str) -> list[dict[str, Any]]:
    """The saved form of bundled block `name`, after those of the blocks it uses."""
    data = _bundled()
    if name not in data:
        raise KeyError(f"there is no bundled block {name!r}; choose from {', '.join(BUNDLED_BLOCKS)}")
    ordered: list[dict[str, Any]] = []

    def visit(current: str) -> None:
        for node in data[current]["nodes"]:
            if "block" in node and all(d["name"] != node["block"] for d in ordered):
                visit(node["block"])
        if all(d["name"] != current for d in ordered):
            ordered.append(data[current])

    visit(name)
    return ordered


def bundled_title(name: str) -> str:
    return str(_bundled()[name]["title"] or name)


def install_bundled(doc: GraphDocument, name: str) -> None:
    """Put bundled block `name` and what it uses into `doc`'s library (kept where already there)."""
    for data in bundled_definitions(name):
        if data["name"] not in doc.library:
            copy_definition(doc, data)


def add_bundled_block(doc: GraphDocument, name: str) -> Step:
    """`install_bundled` as one reversible step."""
    return record(doc, f"Add block {bundled_title(name)}", lambda: install_bundled(doc, name))


# ---- networks assembled from blocks -----------------------------------------------------------
def resnet18_network(num_classes: int = 1000, input_shape: tuple[int, int, int] = (3, 224, 224)) -> Network:
    """torchvision's ResNet-18 from `BasicBlock` instances: same module names, parameters and outputs."""
    return basic_resnet("ResNet-18", (2, 2, 2, 2), num_classes, input_shape)


def resnet34_network(num_classes: int = 1000, input_shape: tuple[int, int, int] = (3, 224, 224)) -> Network:
    """torchvision's ResNet-34: ResNet-18's stages with their `BasicBlock` repeated 3, 4, 6 and 3 times."""
    return basic_resnet("ResNet-34", (3, 4, 6, 3), num_classes, input_shape)


def basic_resnet(name: str, repeats: Sequence[int], num_classes: int = 1000,
                 input_shape: tuple[int, int, int] = (3, 224, 224)) -> Network:
    """A ResNet of four stages of `BasicBlock`s, each stage one instance repeated `repeats[i]` times."""
    net = Network(name)
    install_bundled(net.doc, "BasicBlock")
    x = net.input(input_shape, name="image")
    x = net.add("Conv2d", x, name="conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    x = net.add("BatchNorm2d", x, name="bn1")
    x = net.add("ReLU", x, name="relu")
    x = net.add("MaxPool2d", x, name="maxpool", kernel_size=3, stride=2, padding=1)
    for i, (channels, stride, repeat) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2), repeats), start=1):
        x = net.add("BasicBlock", x, name=f"layer{i}", channels=channels, stride=stride,
                    downsample=int(stride != 1), **{REPEAT: repeat})
    x = net.add("AdaptiveAvgPool2d", x, name="avgpool", output_size=1)
    x = net.add("Flatten", x, name="flatten")
    x = net.add("Linear", x, name="fc", out_features=num_classes)
    net.output(x, name="logits")
    return net


def transformer_classifier(vocab: int = 100, length: int = 16, d_model: int = 32, heads: int = 4,
                           layers: int = 2, classes: int = 2) -> Network:
    """Token ids -> embedding -> positional encoding -> one encoder block repeated -> pool -> classes."""
    net = Network("Transformer classifier")
    install_bundled(net.doc, "TransformerEncoderBlock")
    x = net.input((length,), dtype="token_ids", name="tokens")
    x = net.add("Embedding", x, name="embed", num_embeddings=vocab, embedding_dim=d_model)
    x = net.add("PositionalEncoding", x, name="position")
    x = net.add("TransformerEncoderBlock", x, name="encoder", d_model=d_model, heads=heads,
                dim_feedforward=2 * d_model, dropout=0.0, **{REPEAT: layers})
    x = net.add("SequencePool", x, name="pool")
    x = net.add("Linear", x, name="head", out_features=classes)
    net.output(x, name="logits")
    return net
