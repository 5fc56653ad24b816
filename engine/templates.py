"""Starting points for a new project: small networks of common shapes, each with a dataset that trains offline.

A template is a function returning a fresh `Project`; unlike the bundled examples (finished
networks that show what Layerloom can do, `engine.examples`), templates are the skeleton a person
grows into their own network. Each carries a generated dataset and settings that learn within a
minute on a CPU, so *Train* works straight away. Positions are left at the origin: the studio lays
a network out with its real node sizes when it opens it. The studio's New gallery lists `TEMPLATES`
and `blank`; nothing here imports torch or Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.examples import dataset_settings, training_settings
from engine.network import Network
from engine.project import Project


def _training(epochs: int, lr: float, **extra: Any) -> dict[str, Any]:
    return training_settings(epochs, 64, lr, **extra)


def image_classifier() -> Project:
    """Convolutions all the way to a global average pool, then one Linear layer: the head keeps where things
    are until the last moment, so Grad-CAM at relu4 (a 14×14 map) shows which pixels a class came from; a
    Flatten-and-dense head mixes every position into every unit and smears the maps (measured on shapes:
    in-shape Grad-CAM mass median 0.35 with LeNet's head, 0.53-0.63 with this one)."""
    net = Network("Image classifier")
    x = net.input((1, 28, 28), name="image")
    x = net.add("Conv2d", x, out_channels=16, kernel_size=3, padding="same", name="conv1")
    x = net.add("ReLU", x, name="relu1")
    x = net.add("MaxPool2d", x, kernel_size=2, name="pool1")
    for i in (2, 3, 4):
        x = net.add("Conv2d", x, out_channels=32, kernel_size=3, padding="same", name=f"conv{i}")
        x = net.add("ReLU", x, name=f"relu{i}")
    x = net.add("GlobalAvgPool", x, name="gap")
    x = net.add("Linear", x, out_features=6, name="classifier")
    net.output(x, name="output")
    return Project(net.doc, net.name, dataset_settings("shapes", n_samples=3000, image_size=28, noise=0.1),
                   _training(12, 0.003, probes=["conv1"], schedule={"kind": "cosine"}))


def point_classifier() -> Project:
    net = Network("Point classifier")
    x = net.input((2,), name="points")
    x = net.add("Linear", x, out_features=32, name="hidden1")
    x = net.add("ReLU", x, name="relu1")
    x = net.add("Linear", x, out_features=32, name="hidden2")
    x = net.add("ReLU", x, name="relu2")
    x = net.add("Linear", x, out_features=2, name="logits")
    net.output(x, name="output")
    return Project(net.doc, net.name, dataset_settings("moons", n_samples=1000, noise=0.1), _training(30, 0.01))


def curve_regression() -> Project:
    net = Network("Curve regression")
    x = net.input((1,), name="x")
    x = net.add("Linear", x, out_features=64, name="hidden1")
    x = net.add("Tanh", x, name="tanh1")
    x = net.add("Linear", x, out_features=64, name="hidden2")
    x = net.add("Tanh", x, name="tanh2")
    x = net.add("Linear", x, out_features=1, name="y")
    net.output(x, name="output")
    return Project(net.doc, net.name, dataset_settings("curve", n_samples=1000, noise=0.05, frequency=1.0),
                   _training(40, 0.01, loss={"kind": "mse"}, metrics=[]))


def sequence_classifier() -> Project:
    net = Network("Sequence classifier")
    x = net.input((64, 1), name="signal")
    x = net.add("GRU", x, hidden_size=32, num_layers=1, return_sequences=False, name="gru")
    x = net.add("Linear", x, out_features=4, name="logits")
    net.output(x, name="output")
    return Project(net.doc, net.name, dataset_settings("waveforms", n_samples=2000, seq_len=64, noise=0.2),
                   _training(15, 0.01, grad_clip=1.0))


def blank() -> Project:
    """An Input wired to nothing yet and an Output: the smallest network a person starts from."""
    project = Project.empty(name="untitled")
    project.network.add_node("Input", position=(0.0, 0.0))
    project.network.add_node("Output", position=(400.0, 0.0))
    return project


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    build: Callable[[], Project]


TEMPLATES: tuple[Template, ...] = (
    Template("image_classifier", "Image classifier",
             "Four convolutions and a global average pool for 28×28 grey images, on generated shapes "
             "(six classes); its Grad-CAM maps are sharp. Change the Input shape and the last Linear for "
             "your own images.",
             image_classifier),
    Template("point_classifier", "Point classifier (MLP)",
             "A two-layer perceptron for tabular data or 2-D points, on the two-moons dataset. Set the Input "
             "to your number of features and the last Linear to your number of classes.",
             point_classifier),
    Template("curve_regression", "Regression (MLP)",
             "A small tanh network that fits a noisy sine curve with a mean-squared-error loss: the shape "
             "of any one-number regression.", curve_regression),
    Template("sequence_classifier", "Sequence classifier (GRU)",
             "A GRU reads a signal of 64 steps and a Linear layer names its waveform (four classes).",
             sequence_classifier),
)
