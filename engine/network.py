"""Write networks in code: a thin, chainable front end over `GraphDocument`.

    from engine.network import Network

    net = Network("lenet")
    x = net.input((1, 28, 28))
    x = net.add("Conv2d", x, out_channels=6, kernel_size=5, padding=2)
    x = net.add("ReLU", x)
    ...
    net.output(x)
    print(net.summary())
    model = net.build()          # a torch.fx.GraphModule

`add` returns the new node's id, which is what the next layer takes as input;
merges take a list of ids. `add` also places block instances: ``net.add("BasicBlock", x,
channels=128, stride=2, downsample=1, repeat=2)`` once the block is in ``net.doc.library``
(`engine.block_catalog.install_bundled`). Everything goes through the document's checked
mutators, so the same errors and events apply as in the studio.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.graph.analysis import Analysis, analyze
from engine.graph.document import GraphDocument
from engine.layers.registry import LayerRegistry

if TYPE_CHECKING:
    from torch import fx


class Network:
    """A network under construction; `doc` is the underlying document."""

    def __init__(self, name: str = "network", registry: LayerRegistry | None = None) -> None:
        self.name = name
        self.doc = GraphDocument(registry)

    def input(self, shape: Sequence[int], dtype: str = "float", name: str | None = None) -> str:
        """Add an Input node for samples of `shape` (no batch dimension)."""
        return self.doc.add_node("Input", name=name, params={"shape": tuple(shape), "dtype": dtype}).id

    def add(self, type_id: str, inputs: str | Sequence[str], name: str | None = None, **params: Any) -> str:
        """Add a layer fed by `inputs` (a node id, or a list of them for merges); returns its id."""
        node = self.doc.add_node(type_id, name=name, params=params)
        spec = self.doc.spec_of(node)
        sources = [inputs] if isinstance(inputs, str) else list(inputs)
        # a merge takes every source on its one port; a block with several inputs takes one per port
        multi = bool(spec.inputs) and spec.inputs[0].multi
        ports = [spec.inputs[0].name] * len(sources) if multi else [p.name for p in spec.inputs]
        for source, port in zip(sources, ports):
            source_port = self.doc.spec(source).outputs[0].name
            self.doc.connect(source, source_port, node.id, port, allow_cycle=False)
        return node.id

    def output(self, source: str, name: str | None = None) -> str:
        """Mark `source` as a network output."""
        return self.add("Output", source, name=name)

    def analyze(self) -> Analysis:
        return analyze(self.doc)

    def summary(self) -> str:
        from engine.summary import format_summary

        return format_summary(self.doc, title=self.name)

    def build(self) -> fx.GraphModule:
        from engine.build import build_module

        return build_module(self.doc)

    def save(self, path: str | Path, dataset: dict[str, Any] | None = None,
             training: dict[str, Any] | None = None) -> Path:
        """Save as a `.loom` project, with optional dataset and training settings."""
        from engine.project import Project, save_project

        project = Project(self.doc, self.name, dict(dataset or {}), dict(training or {}))
        return save_project(project, path)
