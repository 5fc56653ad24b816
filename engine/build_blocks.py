"""Building a block instance: one nested module per instance, a numbered container per repeat.

`instance_module` is called by `engine.build.graph_module` for a node whose
type is a block. Each copy is the definition's body built as a `GraphModule`
whose class is named after the definition, with that copy's parameter values
bound onto the inner nodes and the shapes its own inputs give (the same
analysis `engine.graph.block_inference` memoises). One copy is the module
itself; ``repeat`` N != 1 gives a container of the copies numbered 0..N-1 —
`nn.Sequential` for one input and one output, `BlockChain` (which passes
tuples along) otherwise — so state-dict keys read ``layer1.0.conv1.weight``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from engine.graph.block_inference import analyse_body
from engine.graph.blocks import REPEAT

if TYPE_CHECKING:
    from engine.graph.analysis import NodeInfo
    from engine.graph.document import GraphDocument, Node


class BlockChain(nn.Sequential):
    """Copies of a block with several inputs and outputs, each fed the previous one's outputs."""

    # Annotated with torch names only: code export copies this class into standalone files.
    def forward(self, *xs: torch.Tensor) -> object:  # type: ignore[override]
        values: tuple[torch.Tensor, ...] = xs
        for module in self:
            out = module(*values)
            values = out if isinstance(out, tuple) else (out,)
        return values if len(values) != 1 else values[0]


def instance_module(doc: GraphDocument, node: Node, values: Mapping[str, Any], info: NodeInfo) -> nn.Module:
    """The module of one block instance, built with its actual inputs."""
    from engine.build import graph_module

    definition = doc.library.get(node.type_id)
    spec = doc.spec_of(node)
    values = {p.name: values.get(p.name, p.default) for p in spec.params}
    repeat = int(values[REPEAT])
    copies: list[nn.Module] = []
    current = tuple(info.inputs)
    for copy in range(repeat):
        bindings = definition.bindings(values, copy)
        result = analyse_body(definition, bindings, current)
        copies.append(graph_module(definition.body, result.analysis, bindings, definition.name))
        current = tuple(o for o in result.outputs if o is not None)
    if repeat == 1:
        return copies[0]
    if len(spec.inputs) == 1 and len(spec.outputs) == 1:
        return nn.Sequential(*copies)
    return BlockChain(*copies)
