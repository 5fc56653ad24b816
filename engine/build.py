"""Build a document into a real PyTorch module: a `torch.fx.GraphModule`.

Each layer node becomes a submodule named after the node's id, so the module's
`.code`, its state-dict keys (``conv1.weight``), ONNX node names and error
messages all speak the user's names. Input nodes become the forward's
arguments, in document order; Output nodes its results (one tensor, or a tuple
in document order when there are several). Building refuses a network with
validation errors and says which.

A block instance becomes a nested module named after the instance: a
`GraphModule` whose class is named after the definition, built the same way
from the block's body (Block Inputs are its arguments, Block Outputs its
results) with the instance's parameter values bound; a repeated block becomes
an `nn.Sequential` of its copies, so keys read like hand-written PyTorch
(``layer1.0.conv1.weight``). `engine.build_blocks` holds that part.

The generated forward reads each submodule as ``self.<node id>``; on an `nn.Module` that is a
call to ``Module.__getattr__`` per node per step (the submodules live in ``_modules``). The built
network also lists each submodule in its instance ``__dict__``, where Python finds it directly,
so the forward costs what plain attribute reads cost. The cache never goes stale: replacing a
submodule goes through ``Module.__setattr__``, which drops the ``__dict__`` entry, and deleting one
(``delattr``, `GraphModule.delete_submodule`) drops it too. Names, ``.code``, state-dict keys and
export are unchanged (they read ``_modules`` and the graph).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import fx, nn

from engine.graph.analysis import Analysis, analyze
from engine.graph.document import GraphDocument
from engine.layers.modules import keep_learned_tensor_names
from engine.layers.params import coerce_params

if TYPE_CHECKING:
    from engine.layers.spec import TensorSpec


class BuildError(ValueError):
    """The document cannot be built; the message lists the problems."""


def build_module(doc: GraphDocument, analysis: Analysis | None = None) -> fx.GraphModule:
    """Turn `doc` into a GraphModule with one submodule per layer node (or block instance)."""
    analysis = analysis or analyze(doc)
    if not analysis.ok:
        lines = [_describe(doc, p.node_id, p.message) for p in analysis.errors]
        raise BuildError("the network has errors:\n  " + "\n  ".join(lines))
    return graph_module(doc, analysis, {}, "Network")


def graph_module(doc: GraphDocument, analysis: Analysis, bindings: Mapping[str, Mapping[str, object]],
                 class_name: str) -> fx.GraphModule:
    """The GraphModule of one document (a network, or one copy of a block's body with `bindings`)."""
    from engine.build_blocks import instance_module

    graph = fx.Graph()
    modules: dict[str, nn.Module] = {}
    values: dict[str, fx.Node] = {}
    outputs: list[fx.Node] = []
    incoming: dict[str, list] = {}
    for edge in doc.edges:
        incoming.setdefault(edge.target, []).append(edge)
    for node_id in _topological(doc):
        node = doc.nodes[node_id]
        spec = doc.spec_of(node)
        args = tuple(_value(graph, values, e) for e in incoming.get(node_id, []))
        if spec.is_input:
            values[node_id] = graph.placeholder(node_id if node_id.isidentifier() else f"x_{node_id}")
        elif spec.is_output:
            outputs.append(args[0])
        else:
            info = analysis.nodes[node_id]
            values_ = {**node.params, **bindings.get(node_id, {})}
            if node.type_id in doc.library.definitions:
                modules[node_id] = instance_module(doc, node, values_, info)
                values[node_id] = graph.call_module(node_id, args)
                if len(spec.outputs) > 1:
                    for i, port in enumerate(spec.outputs):
                        values[f"{node_id}.{port.name}"] = graph.call_function(operator.getitem, (values[node_id], i))
                continue
            params = coerce_params(spec, values_)
            assert spec.build is not None, f"{spec.type_id} declares no builder"
            modules[node_id] = spec.build(params, info.inputs)
            values[node_id] = graph.call_module(node_id, args)
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    module = fx.GraphModule(modules, graph, class_name=class_name)
    keep_learned_tensor_names(module)  # an imported `encoder.pos_embedding` keeps its source name
    module.graph.lint()
    cache_submodules(module)
    return module


def cache_submodules(module: fx.GraphModule) -> None:
    """Make ``self.<name>`` in the generated forward a plain instance-attribute read (see above)."""
    for name, child in module.named_children():
        module.__dict__[name] = child
    # GraphModule gives every instance a class of its own, so this touches only `module`.
    type(module).__delattr__ = _delattr_uncached


def _delattr_uncached(self: nn.Module, name: str) -> None:
    if name in self._modules:
        self.__dict__.pop(name, None)
    nn.Module.__delattr__(self, name)


def _value(graph: fx.Graph, values: dict[str, fx.Node], edge: object) -> fx.Node:
    port_value = values.get(f"{edge.source}.{edge.source_port}")  # type: ignore[attr-defined]
    return port_value if port_value is not None else values[edge.source]  # type: ignore[attr-defined]


def _topological(doc: GraphDocument) -> list[str]:
    """Topological order that keeps document order among independent nodes (stable code)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(doc.nodes)
    graph.add_edges_from((e.source, e.target) for e in doc.edges)
    position = {node_id: i for i, node_id in enumerate(doc.nodes)}
    return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))


def _describe(doc: GraphDocument, node_id: str | None, message: str) -> str:
    if node_id is None or node_id not in doc.nodes:
        return message
    node = doc.nodes[node_id]
    return f"{node.name} ({node.type_id}): {message}"


def input_specs(doc: GraphDocument, analysis: Analysis | None = None) -> dict[str, TensorSpec]:
    """The TensorSpec of each Input node, in forward-argument order."""
    analysis = analysis or analyze(doc)
    return {
        node_id: analysis.nodes[node_id].output
        for node_id, node in doc.nodes.items()
        if doc.spec_of(node).is_input and analysis.nodes[node_id].output is not None
    }


def example_inputs(doc: GraphDocument, batch: int = 2, analysis: Analysis | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shape and dtype, one per Input node."""
    tensors = []
    for spec in input_specs(doc, analysis).values():
        if spec.dtype == "int64":
            tensors.append(torch.randint(0, 2, (batch, *spec.shape), generator=generator))
        else:
            tensors.append(torch.randn((batch, *spec.shape), generator=generator))
    return tuple(tensors)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def node_modules(module: fx.GraphModule) -> Mapping[str, nn.Module]:
    """The submodules of a built network, keyed by node id."""
    return dict(module.named_children())
