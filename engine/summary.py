"""A per-node table of a network, like Keras' ``model.summary()``: name, type, output shape, parameters.

A project holding two networks (a GAN's generator from its Noise node and its discriminator from its
Input, `engine.train.recipes.structure.gan_roles`) also gets each network's own totals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.graph.analysis import Analysis, analyze
from engine.graph.bulk import gc_paused
from engine.graph.document import GraphDocument


@dataclass(frozen=True)
class SummaryRow:
    node_id: str
    name: str
    type_id: str
    output_shape: list[int] | None
    dtype: str | None
    params: int
    inputs: list[str]
    flops: int | None = None


def flops_per_node(doc: GraphDocument, analysis: Analysis | None = None) -> dict[str, int] | None:
    """Forward FLOPs per sample of each node, counted by torch's FlopCounterMode on the built module.

    None when the network has errors (nothing to build). Only the operations torch counts
    (matrix products, convolutions, attention) contribute; element-wise work counts as zero.
    The module is built on the meta device and run on meta tensors: shapes and FLOPs without a
    byte of weights or activations, so a network declaring 10^12 parameters is counted in seconds.
    A block's row counts everything inside it.
    """
    analysis = analysis or analyze(doc)
    if not analysis.ok:
        return None
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from engine.build import build_module, input_specs

    with torch.device("meta"):
        module = build_module(doc, analysis).eval()
    inputs = [torch.zeros((1, *spec.shape), dtype=torch.int64 if spec.dtype == "int64" else torch.float32,
                          device="meta") for spec in input_specs(doc, analysis).values()]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    counts = counter.get_flop_counts()
    return {node_id: int(sum(counts.get(f"Network.{node_id}", {}).values())) for node_id in doc.nodes}


def summary_rows(doc: GraphDocument, analysis: Analysis | None = None,
                 flops: dict[str, int] | None = None) -> list[SummaryRow]:
    """One row per node, in document order."""
    with gc_paused():
        return _summary_rows(doc, analysis or analyze(doc), flops)


def _summary_rows(doc: GraphDocument, analysis: Analysis, flops: dict[str, int] | None) -> list[SummaryRow]:
    rows = []
    for node in doc.nodes.values():
        info = analysis.nodes.get(node.id)
        out = info.output if info else None
        rows.append(SummaryRow(
            node_id=node.id,
            name=node.name,
            type_id=node.type_id,
            output_shape=list(out.shape) if out else None,
            dtype=out.dtype if out else None,
            params=info.param_count if info else 0,
            inputs=[doc.nodes[e.source].name for e in doc.edges_into(node.id)],
            flops=flops.get(node.id) if flops is not None else None,
        ))
    return rows


def summary_data(doc: GraphDocument, analysis: Analysis | None = None,
                 flops: dict[str, int] | None = None) -> dict[str, Any]:
    analysis = analysis or analyze(doc)
    return {
        "nodes": [asdict(r) for r in summary_rows(doc, analysis, flops)],
        "total_params": analysis.total_params,
        "total_flops": sum(flops.values()) if flops is not None else None,
        "errors": len(analysis.errors),
        "warnings": len(analysis.warnings),
        "networks": network_totals(doc, analysis, flops),
    }


def network_totals(doc: GraphDocument, analysis: Analysis,
                   flops: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    """Parameters (and FLOPs) of each of a GAN's two networks; empty for a single network."""
    from engine.train.recipes.structure import gan_roles

    roles, _ = gan_roles(doc)
    if roles is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for role, ids, start in (("generator", roles.generator, roles.noise),
                             ("discriminator", roles.discriminator, roles.input)):
        params = sum(analysis.nodes[i].param_count for i in ids if i in analysis.nodes)
        out[role] = {"params": params, "flops": sum(flops.get(i, 0) for i in ids) if flops is not None else None,
                     "starts_at": doc.nodes[start].name}
    return out


def format_summary(doc: GraphDocument, analysis: Analysis | None = None, title: str = "",
                   flops: dict[str, int] | None = None) -> str:
    """The table as text, with totals and a size estimate for float32 weights."""
    analysis = analysis or analyze(doc)
    rows = summary_rows(doc, analysis, flops)
    header = ("Layer (type)", "Output shape", "Param #", "FLOPs", "Connected to")
    body = [
        (
            f"{r.name} ({r.type_id}{_repeat_label(doc, r.node_id)})",
            _shape_label(r.output_shape),
            f"{r.params:,}",
            _flops_label(r.flops),
            ", ".join(r.inputs),
        )
        for r in rows
    ]
    widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i]) for i in range(5)]
    rule = "─" * (sum(widths) + 6)
    lines = []
    if title:
        lines.append(f'Network "{title}"')
    lines.append(rule)
    lines.append(_row(header, widths))
    lines.append("═" * len(rule))
    lines.extend(_row(b, widths) for b in body)
    lines.append(rule)
    total = analysis.total_params
    lines.append(f"Total params: {total:,} ({_size(total * 4)})")
    for role, totals in network_totals(doc, analysis, flops).items():
        lines.append(f"  {role.capitalize()} (from '{totals['starts_at']}'): {totals['params']:,} params"
                     + (f", {_flops_label(totals['flops'])} FLOPs per sample" if totals["flops"] is not None else ""))
    if flops is not None:
        lines.append(f"Forward FLOPs per sample: {_flops_label(sum(flops.values()))}")
    if analysis.ok:
        lines.append("Network is valid.")
    else:
        lines.append(f"{len(analysis.errors)} error(s): run 'layerloom validate' for details.")
    return "\n".join(lines)


def _repeat_label(doc: GraphDocument, node_id: str) -> str:
    """`` ×4`` for a block instance repeated 4 times (its row counts every copy)."""
    node = doc.nodes[node_id]
    if node.type_id not in doc.library.definitions:
        return ""
    repeat = node.params.get("repeat", 1)
    return "" if repeat == 1 else f" ×{repeat}"


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i in (2, 3) else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


def _flops_label(flops: int | None) -> str:
    if flops is None:
        return "?"
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.1f}{unit}"
    return str(flops)


def _shape_label(shape: list[int] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(["N", *map(str, shape)]) + ")"


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GB"
