"""Shape inference through a block instance: each copy with its actual inputs and bound parameters.

`infer_instance` is called by `NetworkAnalyzer` for a node whose type is a
block. It analyses the definition's body with the instance's input shapes and
its parameter values bound onto the inner nodes, once per copy (``repeat``),
chaining outputs to inputs; later copies must keep the shape. Results are
memoised in the library by (definition, its stamp, bound values, input shapes),
so identical instances share one analysis and nothing inside a block is
re-inferred unless its definition, its inputs or its values changed.

Problems found inside become problems of the instance node, with `path` (ids
down to the node at fault) and a message naming the place with names and copy
numbers: ``in layer2 ▸ 1 ▸ conv1: ...``. `body_analysis` gives the whole
analysis of a body as seen from one instance (for a canvas opened inside it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from engine.graph.blocks import PATH_SEPARATOR, REPEAT, BlockDefinition
from engine.layers.params import to_json
from engine.layers.spec import TensorSpec

if TYPE_CHECKING:
    from engine.graph.analysis import Analysis, NodeInfo, Problem
    from engine.graph.document import GraphDocument, Node

MAX_CACHE = 4096


@dataclass(frozen=True)
class BodyResult:
    """One copy of a block, analysed: its outputs by port, its parameters, its problems."""

    outputs: tuple[TensorSpec | None, ...]
    param_count: int
    problems: tuple[Problem, ...]
    analysis: Analysis


def analyse_body(definition: BlockDefinition, bindings: Mapping[str, Mapping[str, Any]],
                 inputs: Sequence[TensorSpec]) -> BodyResult:
    """Analyse one copy of `definition` fed `inputs` (in port order), memoised in the library."""
    from engine.graph.analysis import NetworkAnalyzer

    library = definition.body.library
    key = (definition.name, library.stamps.get(definition.name, 0), _freeze(bindings), tuple(inputs))
    cached = library.inference_cache.get(key)
    if cached is not None:
        return cached
    analyzer = NetworkAnalyzer(definition.body, dict(zip(definition.input_ids(), inputs)), bindings)
    try:
        analysis = analyzer.analyze()
    finally:
        analyzer.close()
    library.body_analyses = getattr(library, "body_analyses", 0) + 1  # counted for tests and the bench
    outputs = tuple(_output_at(analysis, port) for port in definition.output_ids())
    result = BodyResult(outputs, analysis.total_params, tuple(analysis.problems), analysis)
    if len(library.inference_cache) >= MAX_CACHE:
        library.inference_cache.clear()
    library.inference_cache[key] = result
    return result


def _output_at(analysis: Analysis, port: str) -> TensorSpec | None:
    info = analysis.nodes.get(port)
    return info.inputs[0] if info is not None and info.inputs else None


def _freeze(bindings: Mapping[str, Mapping[str, Any]]) -> str:
    return json.dumps({k: {kk: to_json(vv) for kk, vv in v.items()} for k, v in bindings.items()},
                      sort_keys=True)


def infer_instance(doc: GraphDocument, node: Node, params: dict[str, Any], info: NodeInfo) -> NodeInfo:
    """Fill `info` (its inputs already gathered) for a block instance."""
    from engine.graph.analysis import ERROR, Problem

    definition = doc.library.get(node.type_id)
    in_ids, out_ids = definition.input_ids(), definition.output_ids()
    repeat = int(params.get(REPEAT, 1))
    problems: list[Problem] = []
    for p in definition.params:
        gone = [n for n, _ in p.targets if n not in definition.body.nodes]
        if gone:
            problems.append(Problem(node.id, ERROR, f"block parameter {p.name!r} of {definition.name} drives "
                                    f"{', '.join(gone)}, no longer in the block: expose it again",
                                    code="block_param"))
    for edge in doc.edges_into(node.id):
        if edge.target_port not in in_ids:
            problems.append(Problem(node.id, ERROR, f"is wired into input {edge.target_port!r}, which block "
                                    f"{definition.display_title} no longer has: delete that wire", code="port"))
    for edge in doc.edges_from(node.id):
        if edge.source_port not in out_ids:
            problems.append(Problem(node.id, ERROR, f"feeds '{doc.nodes[edge.target].name}' from output "
                                    f"{edge.source_port!r}, which block {definition.display_title} no longer "
                                    "has: delete that wire", code="port"))
    if not out_ids:
        problems.append(Problem(node.id, ERROR, f"block {definition.display_title} has no Block Output: "
                                "open it and add one", code="no_output"))
    if repeat != 1 and len(in_ids) != len(out_ids):
        problems.append(Problem(node.id, ERROR, f"repeat {repeat} chains copies output to input, but the "
                                f"block has {len(in_ids)} inputs and {len(out_ids)} outputs", code="repeat"))
    if problems:
        info.problems.extend(problems)
        return info
    current: tuple[TensorSpec | None, ...] = tuple(info.inputs)
    total = 0
    for copy in range(repeat):
        result = analyse_body(definition, definition.bindings(params, copy), current)  # type: ignore[arg-type]
        total += result.param_count
        where = node.name if repeat == 1 else f"{node.name}{PATH_SEPARATOR}{copy}"
        info.problems.extend(_lift(node.id, where, definition.body, p) for p in result.problems)
        if any(o is None for o in result.outputs):
            if not result.problems:
                info.problems.append(Problem(node.id, ERROR, f"in {where}: a Block Output is not connected",
                                             code="unconnected"))
            return info
        if copy > 0 and result.outputs != current:
            info.problems.append(Problem(
                node.id, ERROR, f"copy {copy} of '{node.name}' turns {_labels(current)} into "
                f"{_labels(result.outputs)}: only the first copy may change the shape (give the changing "
                "block parameters a value for later copies, or use separate blocks)", code="repeat"))
            return info
        current = result.outputs
    info.param_count = total
    outputs = dict(zip(out_ids, current)) if repeat else dict(zip(out_ids, info.inputs))
    info.outputs = {k: v for k, v in outputs.items() if v is not None}
    info.output = next(iter(info.outputs.values()), None)
    return info


def _labels(specs: Sequence[TensorSpec | None]) -> str:
    return ", ".join(s.label() if s is not None else "?" for s in specs)


def _lift(instance_id: str, where: str, body: GraphDocument, problem: Problem) -> Problem:
    """A problem of a body, as seen on the instance: path, and a message that names the place."""
    inner_path = problem.path or ((problem.node_id,) if problem.node_id is not None else ())
    message = problem.message
    if problem.node_id is not None and not problem.path:
        name = body.nodes[problem.node_id].name if problem.node_id in body.nodes else problem.node_id
        message = f"in {where}{PATH_SEPARATOR}{name}: {message}"
    elif problem.path:
        message = f"in {where}{PATH_SEPARATOR}{message.removeprefix('in ')}"
    else:
        message = f"in {where}: {message}"
    return replace(problem, node_id=instance_id, path=(instance_id, *inner_path), message=message)


def body_analysis(network: GraphDocument, path: Sequence[str], analysis: Analysis | None = None) -> Analysis:
    """The analysis of the body that `path`'s last instance opens, with that instance's inputs (copy 0)."""
    from engine.graph.analysis import NetworkAnalyzer, analyze

    doc = network
    current = analysis or analyze(network)
    bound: Mapping[str, Mapping[str, Any]] = {}
    for instance_id in path:
        node = doc.node(instance_id)
        definition = doc.definition_of(instance_id)
        info = current.nodes.get(instance_id)
        spec = doc.spec_of(node)
        values = {p.name: node.params.get(p.name, p.default) for p in spec.params}
        values.update(bound.get(instance_id, {}))
        inputs = dict(zip(definition.input_ids(), info.inputs)) if info and info.inputs else {}
        bound = definition.bindings(values, 0)
        analyzer = NetworkAnalyzer(definition.body, inputs, bound)
        try:
            current = analyzer.analyze()
        finally:
            analyzer.close()
        doc = definition.body
    return current
