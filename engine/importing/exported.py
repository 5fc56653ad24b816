"""Importing through torch.export: saved ``.pt2`` programs, and modules torch.fx cannot trace.

A program's graph holds ATen operations, each with the chain of modules it ran
in (``nn_module_stack``) and its weights read by name (``layer1.0.conv1.weight``),
so the same mapping (`ops`, `aten`) and assembly (`assemble`) give blocks that
follow the original module tree and a state dict with the program's keys.

``.pt2`` files are read with weights-only loading forced
(``TORCH_FORCE_WEIGHTS_ONLY_LOAD``): torch.export would otherwise fall back to
unpickling, and a file must never run code. Values are recorded at the
program's own batch size and one more; a program exported with a fixed batch
is measured at its own size only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import fx, nn

from engine.graph.document import GraphDocument
from engine.importing.assemble import Assembler
from engine.importing.importer import ImportResult, map_graph, verify
from engine.importing.report import ImportFailed, ImportReport
from engine.importing.trace import Traced, record_values
from engine.importing.weights import WeightsError, read_weights


def load_pt2(path: Path) -> torch.export.ExportedProgram:
    """A saved program, read without unpickling anything."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    previous = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        return torch.export.load(str(path))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise WeightsError(f"{path.name} is not a torch.export program that loads without running code "
                           f"({first})") from None
    finally:
        if previous is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = previous


def import_pt2(path: Path, input_shapes: Sequence[tuple[int, ...]] | None, weights: str | Path | None,
               check: bool = True) -> ImportResult:
    program = load_pt2(path)
    module = program.module()
    if weights is not None:
        state = read_weights(weights)
        missing = sorted(set(module.state_dict()) - set(state))
        if missing:
            raise WeightsError(f"{Path(weights).name} does not fit the program: {len(missing)} missing "
                               f"(e.g. {', '.join(missing[:3])})")
        module.load_state_dict(state, strict=False)
    return import_program(module, str(path), input_shapes, check, method="torch.export (.pt2)")


def import_by_export(module: nn.Module, input_shapes: Sequence[tuple[int, ...]], source: str, check: bool,
                     note: str = "") -> ImportResult:
    """Export `module` (batch size dynamic) and import the program: the fallback when fx fails."""
    report = ImportReport(source, method="torch.export")
    was_training = module.training
    module.eval()
    try:
        examples = tuple(torch.randn(2, *s) for s in input_shapes)
        batch = torch.export.Dim("batch", min=1)
        program = torch.export.export(module, examples, dynamic_shapes=tuple({0: batch} for _ in examples))
    except Exception as exc:
        if note:
            report.notes.append(note)
        report.problems.append("neither torch.fx nor torch.export can follow this model's forward: "
                               f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}")
        raise ImportFailed(report) from None
    finally:
        module.train(was_training)
    result = import_program(program.module(), source, input_shapes, check, method="torch.export")
    if note:
        result.report.notes.insert(0, note)
    return result


def import_program(module: fx.GraphModule, source: str, input_shapes: Sequence[tuple[int, ...]] | None,
                   check: bool, method: str, reference: nn.Module | None = None,
                   strict_keys: bool = True) -> ImportResult:
    """Import a graph of ATen calls; `reference` (default: the graph itself) is what outputs are compared
    with, and without `strict_keys` the network may hold buffers the graph lacks (num_batches_tracked)."""
    started = time.perf_counter()
    report = ImportReport(source, method=method)
    placeholders = [n for n in module.graph.nodes if n.op == "placeholder"]
    values = [n.meta.get("val") for n in placeholders]
    if any(not isinstance(v, torch.Tensor) for v in values):
        report.problems.append("the program's inputs are not all tensors")
        raise ImportFailed(report)
    batch = _static(values[0].shape[0]) or 2
    shapes = [tuple(s) for s in input_shapes] if input_shapes else [tuple(_static(d) or 1 for d in v.shape[1:])
                                                                    for v in values]
    dtypes = [v.dtype for v in values]
    runs = [record_values(module, shapes, batch, dtypes)]
    try:
        runs.append(record_values(module, shapes, batch + 1, dtypes))
        batches = (batch, batch + 1)
    except Exception:  # exported with a fixed batch: one size is all it runs at
        runs.append(runs[0])
        batches = (batch, batch)
        report.notes.append(f"the program was exported for batches of {batch} only")
    traced = Traced(module, module, (runs[0], runs[1]), tuple(shapes), batches)
    layers, aliases = map_graph(traced, report)
    if report.unmapped:
        raise ImportFailed(report)
    doc = GraphDocument()
    assembler = Assembler(traced, layers, aliases, doc)
    assembler.build_tree()
    counts = assembler.emit_network()
    report.layers, report.blocks, report.definitions = counts.layers, counts.instances, len(doc.library)
    state = {assembler.our_key(k): v.detach().clone() for k, v in module.state_dict().items()}
    report.seconds = time.perf_counter() - started
    if check:
        checking = time.perf_counter()
        verify(doc, module, state, shapes, report, batch=batch, reference=reference, strict_keys=strict_keys)
        report.check_seconds = time.perf_counter() - checking
    if not report.ok:
        raise ImportFailed(report)
    return ImportResult(doc, report, state)


def _static(size: object) -> int | None:
    try:
        return int(size)  # type: ignore[call-overload]
    except Exception:  # a symbolic size
        return None
