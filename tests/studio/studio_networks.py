"""Networks for studio tests, built with the engine's GraphDocument (or loaded from the bundle)."""

from __future__ import annotations

from engine.graph.document import GraphDocument
from engine.project import Project, load_project
from engine.resources import example_names, example_path


def chain(doc: GraphDocument, layers: list[tuple[str, str, dict]], start: str | None = None) -> list[str]:
    """Add (type, name, params) nodes wired one after another; returns their ids."""
    ids: list[str] = []
    previous = start
    for type_id, name, params in layers:
        node = doc.add_node(type_id, name=name, params=params)
        if previous is not None:
            doc.connect(previous, "out", node.id, "in")
        ids.append(node.id)
        previous = node.id
    return ids


def lenet5() -> Project:
    if "lenet5" in example_names():
        return load_project(example_path("lenet5"))
    doc = GraphDocument()
    chain(doc, [
        ("Input", "image", {"shape": (1, 28, 28)}),
        ("Conv2d", "conv1", {"out_channels": 6, "kernel_size": 5, "padding": 2}),
        ("ReLU", "relu1", {}), ("MaxPool2d", "pool1", {}),
        ("Conv2d", "conv2", {"out_channels": 16, "kernel_size": 5}),
        ("ReLU", "relu2", {}), ("MaxPool2d", "pool2", {}), ("Flatten", "flatten", {}),
        ("Linear", "fc1", {"out_features": 120}), ("ReLU", "relu3", {}),
        ("Linear", "fc2", {"out_features": 84}), ("ReLU", "relu4", {}),
        ("Linear", "fc3", {"out_features": 10}), ("Output", "output", {}),
    ])
    return Project(doc, name="lenet5")


def resnet_small() -> Project:
    """A small residual network written out flat, node by node (the bundled example is made of blocks)."""
    doc = GraphDocument()
    ids = chain(doc, [("Input", "image", {"shape": (3, 32, 32)}), ("Conv2d", "stem", {"padding": 1}),
                      ("BatchNorm2d", "stem_bn", {}), ("ReLU", "stem_relu", {})])
    previous = ids[-1]
    for b in (1, 2):
        body = chain(doc, [("Conv2d", f"block{b}_conv1", {"padding": 1}), ("BatchNorm2d", f"block{b}_bn1", {}),
                           ("ReLU", f"block{b}_relu1", {}), ("Conv2d", f"block{b}_conv2", {"padding": 1}),
                           ("BatchNorm2d", f"block{b}_bn2", {})], start=previous)
        add = doc.add_node("Add", name=f"block{b}_add").id
        doc.connect(body[-1], "out", add, "in")
        doc.connect(previous, "out", add, "in")
        previous = chain(doc, [("ReLU", f"block{b}_out", {})], start=add)[-1]
    chain(doc, [("GlobalAvgPool", "pool", {}), ("Linear", "classifier", {"out_features": 10}),
                ("Output", "output", {})], start=previous)
    return Project(doc, name="resnet_small")


def mlp_with_missing_flatten() -> Project:
    """Input 1×28×28 straight into Linear: an error whose fix is to insert Flatten."""
    doc = GraphDocument()
    chain(doc, [("Input", "image", {"shape": (1, 28, 28)}), ("Linear", "fc1", {"out_features": 32}),
                ("ReLU", "relu1", {}), ("Linear", "fc2", {"out_features": 10}), ("Output", "output", {})])
    for i, node in enumerate(doc.nodes.values()):
        doc.move_nodes({node.id: (i * 260.0, 0.0)})
    return Project(doc, name="mlp")


def small_net() -> Project:
    """Input(8) -> Linear -> ReLU -> Output, spread out, plus a free Linear and a Concat."""
    doc = GraphDocument()
    chain(doc, [("Input", "x", {"shape": (8,)}), ("Linear", "fc1", {"out_features": 16}),
                ("ReLU", "relu1", {}), ("Output", "out", {})])
    doc.add_node("Linear", name="fc2", params={"out_features": 4})
    doc.add_node("Concat", name="cat")
    positions = {"x": (0, 0), "fc1": (260, 0), "relu1": (520, 0), "out": (780, 0), "fc2": (260, 240),
                 "cat": (520, 240)}
    doc.move_nodes({doc.node_by_name(n).id: p for n, p in positions.items()})
    return Project(doc, name="small")
