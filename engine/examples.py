"""Every example network Layerloom builds in code: the bundled projects, and the networks of tests and benchmarks.

The bundled example projects (`EXAMPLE_BUILDERS`): `python -m engine.examples`
rewrites `resources/examples/*.loom`; a test checks that the committed files
equal what this module builds, so the examples never drift from the engine.
Each example carries the dataset and training settings it learns with.

The networks of tests, benchmarks and documentation live here too, so that no
other module wires up networks of its own: `chain_document` (Input -> layers ->
Output from (type id, params) pairs), the small training networks
`mlp_document`, `image_mlp_document` and `cnn_document`, the large synthetic
networks of the benchmarks (`chain_network` for shape inference,
`canvas_network` for the canvas), and the editor's test networks
(`missing_flatten_mlp`, `loose_parts`). The New gallery's templates are in
`engine.templates`, built with the same helpers. Nothing here imports torch or Qt.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.block_catalog import install_bundled, resnet18_network
from engine.graph.document import GraphDocument
from engine.layers.registry import LayerRegistry
from engine.network import Network
from engine.project import Project, save_project
from engine.resources import EXAMPLES


def training_settings(epochs: int, batch_size: int, lr: float, **extra: Any) -> dict[str, Any]:
    """A project's training section: Adam at `lr`, accuracy reported, `extra` keys on top."""
    settings: dict[str, Any] = {
        "version": 1,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": {"kind": "adam", "lr": lr, "weight_decay": 0.0},
        "metrics": ["accuracy"],
    }
    settings.update(extra)
    return settings


def dataset_settings(kind: str, **params: Any) -> dict[str, Any]:
    """A project's dataset section: `kind` with `params`, 15% validation and 15% test, seed 0."""
    return {"kind": kind, "params": params, "val_fraction": 0.15, "test_fraction": 0.15, "seed": 0}


def mlp_spirals() -> Project:
    net = Network("MLP on spirals")
    x = net.input((2,), name="points")
    x = net.add("Linear", x, out_features=64, name="hidden1")
    x = net.add("ReLU", x, name="relu1")
    x = net.add("Linear", x, out_features=64, name="hidden2")
    x = net.add("ReLU", x, name="relu2")
    x = net.add("Linear", x, out_features=2, name="logits")
    net.output(x, name="output")
    return _project(net, dataset_settings("spirals", n_samples=2000, arms=2, turns=1.5, noise=0.05),
                    training_settings(60, 64, 0.01, probes=["relu2"]))


def lenet5() -> Project:
    net = Network("LeNet-5 on shapes")
    x = net.input((1, 28, 28), name="image")
    x = net.add("Conv2d", x, out_channels=6, kernel_size=5, padding=2, name="conv1")
    x = net.add("ReLU", x, name="relu1")
    x = net.add("MaxPool2d", x, kernel_size=2, name="pool1")
    x = net.add("Conv2d", x, out_channels=16, kernel_size=5, name="conv2")
    x = net.add("ReLU", x, name="relu2")
    x = net.add("MaxPool2d", x, kernel_size=2, name="pool2")
    x = net.add("Flatten", x, name="flatten")
    x = net.add("Linear", x, out_features=120, name="fc1")
    x = net.add("ReLU", x, name="relu3")
    x = net.add("Linear", x, out_features=84, name="fc2")
    x = net.add("ReLU", x, name="relu4")
    x = net.add("Linear", x, out_features=6, name="fc3")
    net.output(x, name="output")
    return _project(net, dataset_settings("shapes", n_samples=3000, image_size=28, noise=0.1),
                    training_settings(12, 64, 0.005, probes=["conv1"], schedule={"kind": "cosine"}))


def resnet_small() -> Project:
    net = Network("Small ResNet for 32x32 colour images")
    install_bundled(net.doc, "BasicBlock")  # the residual block, used by reference by every stage
    x = net.input((3, 32, 32), name="image")
    x = net.add("Conv2d", x, out_channels=16, kernel_size=3, padding=1, bias=False, name="stem")
    x = net.add("BatchNorm2d", x, name="stem_bn")
    x = net.add("ReLU", x, name="stem_relu")
    x = net.add("BasicBlock", x, channels=16, stride=1, downsample=0, repeat=2, name="layer1")
    x = net.add("BasicBlock", x, channels=32, stride=2, downsample=1, repeat=1, name="layer2")
    x = net.add("BasicBlock", x, channels=64, stride=2, downsample=1, repeat=1, name="layer3")
    x = net.add("GlobalAvgPool", x, name="pool")
    x = net.add("Linear", x, out_features=10, name="classifier")
    net.output(x, name="output")
    # the generated colour shapes train offline; choose CIFAR-10 in the Dataset panel for photos
    return _project(net, dataset_settings("colour_shapes", n_samples=5000, image_size=32, noise=0.04),
                    training_settings(10, 64, 0.003, probes=["stem_relu"], schedule={"kind": "cosine"},
                              augment={"hflip": True, "crop_padding": 0, "rotation": 0.0, "color_jitter": 0.0}))


def resnet18() -> Project:
    """torchvision's ResNet-18, stage by stage: four instances of one residual block, each repeated twice."""
    net = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    return _project(net, dataset_settings("colour_shapes", n_samples=5000, image_size=32, noise=0.04),
                    training_settings(10, 64, 0.001, probes=["relu"], schedule={"kind": "cosine"},
                              augment={"hflip": True, "crop_padding": 0, "rotation": 0.0, "color_jitter": 0.0}))


def lstm_sequence() -> Project:
    net = Network("LSTM waveform classifier")
    x = net.input((64, 1), name="signal")
    x = net.add("LSTM", x, hidden_size=32, num_layers=1, return_sequences=False, name="lstm")
    x = net.add("Linear", x, out_features=4, name="logits")
    net.output(x, name="output")
    return _project(net, dataset_settings("waveforms", n_samples=2000, seq_len=64, noise=0.2),
                    training_settings(20, 64, 0.01, grad_clip=1.0, schedule={"kind": "cosine"}))


def transformer_encoder() -> Project:
    net = Network("Transformer encoder on a memory task")
    install_bundled(net.doc, "TransformerEncoderBlock")
    x = net.input((10,), dtype="token_ids", name="tokens")
    x = net.add("Embedding", x, num_embeddings=4, embedding_dim=32, name="embed")
    x = net.add("PositionalEncoding", x, name="position")
    # One encoder block, repeated: every layer is the same definition (open it to see inside).
    x = net.add("TransformerEncoderBlock", x, d_model=32, heads=4, dim_feedforward=64, dropout=0.0, repeat=2,
                name="encoder")
    x = net.add("SequencePool", x, mode="mean", name="pool")
    x = net.add("Linear", x, out_features=4, name="logits")
    net.output(x, name="output")
    return _project(net, dataset_settings("copy_first", n_samples=2000, seq_len=10, symbols=4),
                    training_settings(10, 64, 0.002))


def _conv_encoder(net: Network, x: str, width: int = 16) -> str:
    """1×28×28 -> width×14×14 -> 2·width×7×7, flattened (the encoders of the autoencoder examples)."""
    x = net.add("Conv2d", x, out_channels=width, kernel_size=3, stride=2, padding=1, name="enc_conv1")
    x = net.add("ReLU", x, name="enc_relu1")
    x = net.add("Conv2d", x, out_channels=2 * width, kernel_size=3, stride=2, padding=1, name="enc_conv2")
    x = net.add("ReLU", x, name="enc_relu2")
    return net.add("Flatten", x, name="enc_flatten")


def _conv_decoder(net: Network, z: str, width: int = 16) -> str:
    """A latent code -> 2·width×7×7 -> width×14×14 -> 1×28×28 in [0, 1] (transposed convolutions, Sigmoid)."""
    x = net.add("Linear", z, out_features=2 * width * 7 * 7, name="dec_fc")
    x = net.add("ReLU", x, name="dec_relu0")
    x = net.add("Reshape", x, shape=(2 * width, 7, 7), name="dec_unflatten")
    x = net.add("ConvTranspose2d", x, out_channels=width, kernel_size=3, stride=2, padding=1, output_padding=1,
                name="dec_upconv1")
    x = net.add("ReLU", x, name="dec_relu1")
    x = net.add("ConvTranspose2d", x, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1,
                name="dec_upconv2")
    return net.add("Sigmoid", x, name="dec_sigmoid")


def conv_autoencoder() -> Project:
    """Compresses 28×28 shapes to 16 numbers and back; the encoder and decoder export alone."""
    net = Network("Convolutional autoencoder on shapes")
    x = net.input((1, 28, 28), name="image")
    code = net.add("Linear", _conv_encoder(net, x), out_features=16, name="bottleneck")
    net.output(_conv_decoder(net, code), name="reconstruction")
    recipe = {"kind": "autoencoder", "reconstruction_loss": "mse", "input_noise": 0.0}
    return _project(net, dataset_settings("shapes", n_samples=3000, image_size=28, noise=0.05),
                    training_settings(8, 64, 0.002, recipe=recipe, metrics=["mae"]))


def vae_shapes() -> Project:
    """A variational autoencoder: an 8-D latent space whose random points decode to shapes."""
    net = Network("Variational autoencoder on shapes")
    x = net.input((1, 28, 28), name="image")
    h = net.add("Linear", _conv_encoder(net, x, width=32), out_features=128, name="enc_fc")
    h = net.add("ReLU", h, name="enc_relu3")
    mu = net.add("Linear", h, out_features=8, name="mu")
    logvar = net.add("Linear", h, out_features=8, name="logvar")
    z = net.add("Sampling", [mu, logvar], name="z")
    d = net.add("Linear", z, out_features=128, name="dec_hidden")
    d = net.add("ReLU", d, name="dec_relu_hidden")
    net.output(_conv_decoder(net, d, width=32), name="reconstruction")
    # noiseless shapes: the decoder learns shapes, not pixel noise; the KL weight is a little under the
    # ELBO's 1/784 (bce is a mean per pixel), which keeps rotations and corners in the samples
    recipe = {"kind": "vae", "reconstruction_loss": "bce", "kl_weight": 0.0008}
    return _project(net, dataset_settings("shapes", n_samples=4000, image_size=28, noise=0.0),
                    training_settings(16, 64, 0.002, recipe=recipe, metrics=["mae"]))


def dcgan_shapes() -> Project:
    """A small DCGAN: a generator from 16 noise values to 28×28 shapes, and a convolutional discriminator."""
    net = Network("DCGAN on shapes")
    z = net.add("Noise", [], shape=(16,), name="noise")
    g = net.add("Linear", z, out_features=64 * 7 * 7, name="gen_fc")
    g = net.add("BatchNorm1d", g, name="gen_bn0")
    g = net.add("ReLU", g, name="gen_relu0")
    g = net.add("Reshape", g, shape=(64, 7, 7), name="gen_unflatten")
    g = net.add("ConvTranspose2d", g, out_channels=32, kernel_size=4, stride=2, padding=1, name="gen_upconv1")
    g = net.add("BatchNorm2d", g, name="gen_bn1")
    g = net.add("ReLU", g, name="gen_relu1")
    g = net.add("ConvTranspose2d", g, out_channels=1, kernel_size=4, stride=2, padding=1, name="gen_upconv2")
    g = net.add("Sigmoid", g, name="gen_sigmoid")
    net.output(g, name="generated")
    x = net.input((1, 28, 28), name="image")
    d = net.add("Conv2d", x, out_channels=32, kernel_size=4, stride=2, padding=1, name="disc_conv1")
    d = net.add("LeakyReLU", d, negative_slope=0.2, name="disc_lrelu1")
    d = net.add("Conv2d", d, out_channels=64, kernel_size=4, stride=2, padding=1, name="disc_conv2")
    d = net.add("BatchNorm2d", d, name="disc_bn2")
    d = net.add("LeakyReLU", d, negative_slope=0.2, name="disc_lrelu2")
    d = net.add("Flatten", d, name="disc_flatten")
    d = net.add("Linear", d, out_features=1, name="disc_logit")
    net.output(d, name="verdict")
    recipe = {"kind": "gan", "generator_lr": 0.0002, "discriminator_lr": 0.0002, "adam_beta1": 0.5}
    # a GAN needs many steps: about 2,400 here (two to three minutes on one CPU core, seconds on a GPU)
    return _project(net, dataset_settings("shapes", n_samples=6000, image_size=28, noise=0.0),
                    training_settings(30, 64, 0.0002, recipe=recipe, metrics=[]))


def _project(net: Network, dataset: dict[str, Any], training: dict[str, Any]) -> Project:
    # No positions: the studio lays a network out with its real node sizes when it opens one
    # whose nodes all sit at the origin (studio/auto_layout.py), so the examples never go stale.
    return Project(net.doc, net.name, dataset, training)


EXAMPLE_BUILDERS: dict[str, Callable[[], Project]] = {
    "mlp_spirals": mlp_spirals,
    "lenet5": lenet5,
    "resnet_small": resnet_small,
    "resnet18": resnet18,
    "lstm_sequence": lstm_sequence,
    "transformer_encoder": transformer_encoder,
    "conv_autoencoder": conv_autoencoder,
    "vae_shapes": vae_shapes,
    "dcgan_shapes": dcgan_shapes,
}


def write_examples(folder: Path = EXAMPLES) -> list[Path]:
    return [save_project(build(), folder / f"{name}.loom", keep_backup=False)
            for name, build in EXAMPLE_BUILDERS.items()]


# ---- networks for tests, benchmarks and documentation -------------------------------

Layer = tuple[str, dict[str, Any]]


def chain_document(shape: Sequence[int], layers: Sequence[Layer], dtype: str = "float",
                   registry: LayerRegistry | None = None) -> GraphDocument:
    """Input(shape) -> layers in order -> Output.

    Node ids come from the layer's name prefix (fc1, relu1, conv1, ...) unless a pair gives a
    ``name`` in its params dict.
    """
    doc = GraphDocument(registry)
    named = [(type_id, params.get("name"), {k: v for k, v in params.items() if k != "name"})
             for type_id, params in layers]
    start = doc.add_node("Input", name="input", params={"shape": tuple(shape), "dtype": dtype}).id
    add_chain(doc, [*named, ("Output", "output", {})], start=start)
    return doc


def add_chain(doc: GraphDocument, layers: Sequence[tuple[str, str | None, dict[str, Any]]],
              start: str | None = None) -> list[str]:
    """Add (type id, name, params) nodes wired one after another (after `start`); returns their ids."""
    ids: list[str] = []
    previous = start
    for type_id, name, params in layers:
        node = doc.add_node(type_id, name=name, params=dict(params))
        if previous is not None:
            doc.connect(previous, "out", node.id, "in")
        ids.append(node.id)
        previous = node.id
    return ids


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


def chain_network(n_nodes: int = 500) -> tuple[GraphDocument, list[str]]:
    """A deep MLP-like chain (Linear, ReLU, Add joining the block's input) of about `n_nodes` nodes.

    For shape inference: every Add is a merge, so one edit's effect runs far downstream. Returns the
    document and its node ids in chain order.
    """
    doc = GraphDocument()
    prev = doc.add_node("Input", params={"shape": (64,)}).id
    ids = [prev]
    block_start = prev
    while len(doc.nodes) < n_nodes - 1:
        fc, act = add_chain(doc, [("Linear", None, {"out_features": 64}), ("ReLU", None, {})], start=prev)
        add = doc.add_node("Add").id
        doc.connect(act, "out", add, "in")
        doc.connect(block_start, "out", add, "in")
        prev = block_start = add
        ids.extend([fc, act, add])
    ids.append(add_chain(doc, [("Output", None, {})], start=prev)[0])
    return doc, ids


def canvas_network(n_nodes: int, width: int = 64, block: int = 4) -> GraphDocument:
    """Input -> (Linear, ReLU)* with an Add skip every `block` pairs -> Output, exactly `n_nodes` nodes.

    For the canvas: long chains, long skip wires and merges, as a big real network has.
    """
    doc = GraphDocument()
    previous = doc.add_node("Input", params={"shape": (width,)}).id
    block_start, pairs = previous, 0
    while len(doc.nodes) < n_nodes - 1:
        if pairs == block and len(doc.nodes) < n_nodes - 2:
            add = doc.add_node("Add").id
            doc.connect(previous, "out", add, "in")
            doc.connect(block_start, "out", add, "in")
            previous = block_start = add
            pairs = 0
            continue
        linear = len(doc.nodes) % 2 == 1
        previous = add_chain(doc, [("Linear", None, {"out_features": width}) if linear else ("ReLU", None, {})],
                             start=previous)[0]
        pairs += not linear
    add_chain(doc, [("Output", None, {})], start=previous)
    return doc


def edited_copy(doc: GraphDocument, step: int = 10) -> GraphDocument:
    """A copy of a `canvas_network` as a later run's might be: every `step`-th Linear narrowed to 32 features
    and every `step`-th ReLU removed (for the run diff's tests and benchmark)."""
    from engine.graph.serialize import document_from_data, document_to_data

    other = document_from_data(document_to_data(doc))
    for i, node in enumerate(list(other.nodes.values())):
        if node.type_id == "Linear" and i % step == 1:
            other.set_param(node.id, "out_features", 32)
        elif node.type_id == "ReLU" and i % step == 2:
            other.remove_node(node.id)
    return other


def _residual_block(net: Network, x: str, channels: int, stride: int, name: str) -> str:
    y = net.add("Conv2d", x, out_channels=channels, kernel_size=3, stride=stride, padding=1, bias=False,
                name=f"{name}_conv1")
    y = net.add("BatchNorm2d", y, name=f"{name}_bn1")
    y = net.add("ReLU", y, name=f"{name}_relu1")
    y = net.add("Conv2d", y, out_channels=channels, kernel_size=3, padding=1, bias=False, name=f"{name}_conv2")
    y = net.add("BatchNorm2d", y, name=f"{name}_bn2")
    shortcut = x
    if stride != 1:
        shortcut = net.add("Conv2d", x, out_channels=channels, kernel_size=1, stride=stride, bias=False,
                           name=f"{name}_down")
        shortcut = net.add("BatchNorm2d", shortcut, name=f"{name}_down_bn")
    y = net.add("Add", [y, shortcut], name=f"{name}_add")
    return net.add("ReLU", y, name=f"{name}_out")


def flat_resnet_small() -> Project:
    """The small ResNet written out node by node, no blocks (the editor's tests move, cut and wire its
    loose layers; the bundled example is made of blocks)."""
    net = Network("Small ResNet, flat")
    x = net.input((3, 32, 32), name="image")
    x = net.add("Conv2d", x, out_channels=16, kernel_size=3, padding=1, bias=False, name="stem")
    x = net.add("BatchNorm2d", x, name="stem_bn")
    x = net.add("ReLU", x, name="stem_relu")
    x = _residual_block(net, x, 16, 1, "block1")
    x = _residual_block(net, x, 32, 2, "block2")
    x = _residual_block(net, x, 64, 2, "block3")
    x = net.add("GlobalAvgPool", x, name="pool")
    x = net.add("Linear", x, out_features=10, name="classifier")
    net.output(x, name="output")
    return _project(net, dataset_settings("colour_shapes", n_samples=5000, image_size=32, noise=0.04),
                    training_settings(10, 64, 0.003))


def resnet50_blocks() -> Network:
    """torchvision's ResNet-50 as 16 Bottleneck instances (3, 4, 6 and 3 per stage), one per block: the
    block-navigation benchmark opens each in turn."""
    net = Network("ResNet-50")
    install_bundled(net.doc, "Bottleneck")
    x = net.input((3, 224, 224), name="image")
    x = net.add("Conv2d", x, name="conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    x = net.add("BatchNorm2d", x, name="bn1")
    x = net.add("ReLU", x, name="relu")
    x = net.add("MaxPool2d", x, name="maxpool", kernel_size=3, stride=2, padding=1)
    for stage, (count, width, stride) in enumerate(((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)), start=1):
        for i in range(count):
            x = net.add("Bottleneck", x, name=f"layer{stage}_{i}", width=width, channels=width * 4,
                        stride=stride if i == 0 else 1, downsample=int(i == 0), repeat=1)
    x = net.add("AdaptiveAvgPool2d", x, name="avgpool", output_size=1)
    x = net.add("Flatten", x, name="flatten")
    x = net.add("Linear", x, name="fc", out_features=1000)
    net.output(x, name="logits")
    return net


def missing_flatten_mlp() -> Project:
    """Input 1×28×28 straight into Linear: an error whose one-click fix is to insert Flatten."""
    doc = GraphDocument()
    add_chain(doc, [("Input", "image", {"shape": (1, 28, 28)}), ("Linear", "fc1", {"out_features": 32}),
                    ("ReLU", "relu1", {}), ("Linear", "fc2", {"out_features": 10}), ("Output", "output", {})])
    doc.move_nodes({node.id: (i * 260.0, 0.0) for i, node in enumerate(doc.nodes.values())})
    return Project(doc, name="mlp")


def loose_parts() -> Project:
    """Input(8) -> Linear -> ReLU -> Output spread out in a row, plus an unwired Linear and Concat below."""
    doc = GraphDocument()
    add_chain(doc, [("Input", "x", {"shape": (8,)}), ("Linear", "fc1", {"out_features": 16}),
                    ("ReLU", "relu1", {}), ("Output", "out", {})])
    doc.add_node("Linear", name="fc2", params={"out_features": 4})
    doc.add_node("Concat", name="cat")
    positions = {"x": (0, 0), "fc1": (260, 0), "relu1": (520, 0), "out": (780, 0), "fc2": (260, 240),
                 "cat": (520, 240)}
    doc.move_nodes({doc.node_by_name(n).id: p for n, p in positions.items()})
    return Project(doc, name="small")


if __name__ == "__main__":
    for path in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES):
        print(path)
