"""A per-node table of a network, like Keras' ``model.summary()``: name, type, output shape, parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.graph.analysis import Analysis, analyze
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


def summary_rows(doc: GraphDocument, analysis: Analysis | None = None) -> list[SummaryRow]:
    """One row per node, in document order."""
    analysis = analysis or analyze(doc)
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
            inputs=[doc.nodes[e.source].name for e in doc.edges if e.target == node.id],
        ))
    return rows


def summary_data(doc: GraphDocument, analysis: Analysis | None = None) -> dict[str, Any]:
    analysis = analysis or analyze(doc)
    return {
        "nodes": [asdict(r) for r in summary_rows(doc, analysis)],
        "total_params": analysis.total_params,
        "errors": len(analysis.errors),
        "warnings": len(analysis.warnings),
    }


def format_summary(doc: GraphDocument, analysis: Analysis | None = None, title: str = "") -> str:
    """The table as text, with totals and a size estimate for float32 weights."""
    analysis = analysis or analyze(doc)
    rows = summary_rows(doc, analysis)
    header = ("Layer (type)", "Output shape", "Param #", "Connected to")
    body = [
        (
            f"{r.name} ({r.type_id})",
            _shape_label(r.output_shape),
            f"{r.params:,}",
            ", ".join(r.inputs),
        )
        for r in rows
    ]
    widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i]) for i in range(4)]
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
    if analysis.ok:
        lines.append("Network is valid.")
    else:
        lines.append(f"{len(analysis.errors)} error(s): run 'layerloom validate' for details.")
    return "\n".join(lines)


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) if i != 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


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
