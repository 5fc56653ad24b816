"""The bundled example projects, written in code so they can be regenerated and checked.

`python -m engine.examples` rewrites `resources/examples/*.loom`; a test checks
that the committed files equal what this module builds, so the examples never
drift from the engine. Each example carries the dataset and training settings
it learns with.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.block_catalog import install_bundled, resnet18_network
from engine.network import Network
from engine.project import Project, save_project
from engine.resources import EXAMPLES


def _training(epochs: int, batch_size: int, lr: float, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "version": 1,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": {"kind": "adam", "lr": lr, "weight_decay": 0.0},
        "metrics": ["accuracy"],
    }
    settings.update(extra)
    return settings


def _dataset(kind: str, **params: Any) -> dict[str, Any]:
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
    return _project(net, _dataset("spirals", n_samples=2000, arms=2, turns=1.5, noise=0.05),
                    _training(60, 64, 0.01, probes=["relu2"]))


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
    return _project(net, _dataset("shapes", n_samples=3000, image_size=28, noise=0.1),
                    _training(12, 64, 0.005, probes=["conv1"], schedule={"kind": "cosine"}))


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
    return _project(net, _dataset("cifar10", max_samples=5000, max_test_samples=1000),
                    _training(10, 128, 0.002, probes=["stem_relu"],
                              augment={"hflip": True, "crop_padding": 4, "rotation": 0.0, "color_jitter": 0.0}))


def resnet18() -> Project:
    """torchvision's ResNet-18, stage by stage: four instances of one residual block, each repeated twice."""
    net = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    return _project(net, _dataset("cifar10", max_samples=5000, max_test_samples=1000),
                    _training(10, 64, 0.001, probes=["relu"], schedule={"kind": "cosine"},
                              augment={"hflip": True, "crop_padding": 4, "rotation": 0.0, "color_jitter": 0.0}))


def lstm_sequence() -> Project:
    net = Network("LSTM waveform classifier")
    x = net.input((64, 1), name="signal")
    x = net.add("LSTM", x, hidden_size=32, num_layers=1, return_sequences=False, name="lstm")
    x = net.add("Linear", x, out_features=4, name="logits")
    net.output(x, name="output")
    return _project(net, _dataset("waveforms", n_samples=2000, seq_len=64, noise=0.2),
                    _training(20, 64, 0.01, grad_clip=1.0, schedule={"kind": "cosine"}))


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
    return _project(net, _dataset("copy_first", n_samples=2000, seq_len=10, symbols=4),
                    _training(10, 64, 0.002))


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
}


def write_examples(folder: Path = EXAMPLES) -> list[Path]:
    return [save_project(build(), folder / f"{name}.loom", keep_backup=False)
            for name, build in EXAMPLE_BUILDERS.items()]


if __name__ == "__main__":
    for path in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLES):
        print(path)
