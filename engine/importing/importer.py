"""Importing an `nn.Module` as an editable network, checked against the source.

`import_module(module, input_shapes)` traces the module (`trace`), maps every
node to a catalog layer (`ops`, `leaves`), assembles blocks that follow the
module tree (`assemble`), then proves the result: the network validates, builds
to a module with the source's parameter count and exactly its state-dict keys
and shapes, and, given the source's weights, reproduces its outputs in eval
mode. Any operation that cannot be mapped is listed in the report by module
path and op name, and the import fails (`ImportFailed`) rather than return a
network that computes something else.

If torch.fx cannot trace the module, `torch.export` is tried instead
(`engine.importing.exported`), and the other way round for `.pt2` programs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import fx, nn

from engine.build import build_module
from engine.graph.analysis import analyze
from engine.graph.document import GraphDocument
from engine.importing.assemble import Assembler, scope_chain
from engine.importing.leaves import Unmappable
from engine.importing.ops import Alias, Layer, NodeMapper, _name
from engine.importing.report import ImportFailed, ImportReport, UnmappedOp, node_path
from engine.importing.trace import Traced, trace_module

TOLERANCE = 1e-4  # outputs must agree within this, relative to the output's scale


@dataclass
class ImportResult:
    doc: GraphDocument
    report: ImportReport
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)  # the source's weights, by our keys


def import_module(module: nn.Module, input_shapes: Sequence[tuple[int, ...]], source: str = "module",
                  check: bool = True) -> ImportResult:
    """Import `module`, called with one tensor per shape in `input_shapes` (batch excluded)."""
    started = time.perf_counter()
    report = ImportReport(source, method="torch.fx")
    try:
        traced = trace_module(module, [tuple(s) for s in input_shapes])
    except Exception as exc:  # fx cannot follow data-dependent Python: try torch.export
        from engine.importing.exported import import_by_export

        result = import_by_export(module, input_shapes, source, check, note=f"torch.fx could not trace it "
                                  f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
        return result
    layers, aliases = map_graph(traced, report)
    if report.unmapped:
        raise ImportFailed(report)
    doc = GraphDocument()
    assembler = Assembler(traced, layers, aliases, doc)
    assembler.build_tree()
    counts = assembler.emit_network()
    report.layers, report.blocks, report.definitions = counts.layers, counts.instances, len(doc.library)
    state = {assembler.our_key(k): v.detach().clone() for k, v in module.state_dict().items()}
    if assembler.renamed:
        report.notes.append("module names that cannot be node ids were renamed (weights follow): "
                            + ", ".join(f"{a} → {b}" for a, b in assembler.renamed.items()))
    report.seconds = time.perf_counter() - started
    if check:
        checking = time.perf_counter()
        verify(doc, module, state, input_shapes, report)
        report.check_seconds = time.perf_counter() - checking
    if not report.ok:
        raise ImportFailed(report)
    return ImportResult(doc, report, state)


def map_graph(traced: Traced, report: ImportReport) -> tuple[dict[fx.Node, Layer], dict[fx.Node, fx.Node]]:
    """Every node's mapping; what cannot be mapped goes into `report.unmapped`."""
    mapper = NodeMapper(traced)
    mapper.note_learned(traced.graph)
    layers: dict[fx.Node, Layer] = {}
    aliases: dict[fx.Node, fx.Node] = {}
    for node in traced.graph.nodes:
        try:
            mapped = mapper.map(node)
            if isinstance(mapped, Layer) and mapped.type_id != "LearnedTensor" \
                    and isinstance(traced.value(node), torch.Tensor) and traced.sample_shape(node) is None:
                raise Unmappable("changes or drops the batch dimension")
        except Unmappable as exc:
            report.unmapped.append(UnmappedOp(_path_of(node), _op_of(traced, node), str(exc)))
            continue
        if isinstance(mapped, Layer):
            layers[node] = mapped
        elif isinstance(mapped, Alias):
            aliases[node] = mapped.of
    return layers, aliases


def _path_of(node: fx.Node) -> str:
    chain = scope_chain(node)
    parts = chain[-1][1].split(".") if chain else []
    own = str(node.target).rsplit(".", 1)[-1] if node.op in ("call_module", "get_attr") else node.name
    return node_path(parts, own)


def _op_of(traced: Traced, node: fx.Node) -> str:
    if node.op == "call_module":
        return type(traced.module.get_submodule(str(node.target))).__name__
    if node.op == "get_attr":
        return "parameter"
    module = getattr(node.target, "__module__", None) or ""
    prefix = "Tensor." if node.op == "call_method" else (module + "." if module and module != "_operator"
                                                         else "operator." if module else "")
    return public_name(prefix + _name(node.target))


# torch's C bindings, as the functions a user calls: torch._C._fft.fft_rfft is torch.fft.rfft
_C_NAMESPACES = (("torch._C._fft.fft_", "torch.fft."), ("torch._C._linalg.linalg_", "torch.linalg."),
                 ("torch._C._special.special_", "torch.special."), ("torch._C._nn.", "torch.nn.functional."),
                 ("torch._C._VariableFunctions.", "torch."))


def public_name(name: str) -> str:
    """The name a user wrote for an op fx records under torch's C bindings."""
    for private, public in _C_NAMESPACES:
        if name.startswith(private):
            return public + name[len(private):]
    return name


def verify(doc: GraphDocument, source: nn.Module, theirs: dict[str, torch.Tensor],
           input_shapes: Sequence[tuple[int, ...]], report: ImportReport, batch: int = 2,
           reference: nn.Module | None = None, strict_keys: bool = True) -> None:
    """Check the imported network against the source: validity, counts, keys, shapes and outputs
    (compared with `reference` where given: an ONNX file run by onnxruntime)."""
    analysis = analyze(doc)
    if not analysis.ok:
        report.problems.extend(f"the imported network does not validate: {p.message}" for p in analysis.errors[:10])
        return
    built = build_module(doc, analysis)
    ours = built.state_dict()
    report.parameters = sum(p.numel() for p in built.parameters())
    report.source_parameters = sum(p.numel() for p in source.parameters())
    if report.parameters != report.source_parameters:
        report.problems.append(f"parameter count {report.parameters:,} differs from the source's "
                               f"{report.source_parameters:,}")
    missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    if not strict_keys:
        extra = [k for k in extra if not k.endswith("num_batches_tracked")]
    if missing or extra:
        report.problems.append(f"state-dict keys differ: missing {missing[:5]}, extra {extra[:5]}")
        return
    wrong = [k for k in theirs if tuple(theirs[k].shape) != tuple(ours[k].shape)]
    if wrong:
        report.problems.append(f"state-dict shapes differ for {wrong[:5]}")
        return
    built.load_state_dict(theirs, strict=strict_keys)
    report.max_abs_diff, scale = compare_outputs(built, reference or source, input_shapes, batch)
    if report.max_abs_diff > TOLERANCE * max(1.0, scale):
        report.problems.append(f"outputs differ from the source by up to {report.max_abs_diff:.3g}")


def example_batch(input_shapes: Sequence[tuple[int, ...]], batch: int = 2, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn((batch, *s), generator=generator) for s in input_shapes]


def _outputs(module: nn.Module, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    was_training = module.training
    try:
        module.eval()
    except NotImplementedError:  # a torch.export program runs as it was exported
        was_training = None
    try:
        with torch.no_grad():
            out = module(*inputs)
    finally:
        if was_training is not None:
            module.train(was_training)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def compare_outputs(ours: nn.Module, source: nn.Module, input_shapes: Sequence[tuple[int, ...]],
                    batch: int = 2) -> tuple[float, float]:
    """The largest absolute difference between the two modules' eval outputs on one random batch,
    and the largest absolute output of the source (its scale)."""
    inputs = example_batch(input_shapes, batch)
    a, b = _outputs(ours, inputs), _outputs(source, inputs)
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return float("inf"), 0.0
    if not a:
        return 0.0, 0.0
    return max(float((x - y).abs().max()) for x, y in zip(a, b)), max(float(y.abs().max()) for y in b)
