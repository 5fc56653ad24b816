"""The import report: what was mapped, what could not be, and how closely the result matches.

Torch-free plain data, so the studio can show it and the CLI can print it. An
import with any unmapped operation, or whose network does not reproduce the
source, is not ok; `text()` is the report a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.graph.blocks import PATH_SEPARATOR


@dataclass(frozen=True)
class UnmappedOp:
    """One operation of the source that no catalog layer computes."""

    path: str  # module path of the node, ``features ▸ 3 ▸ block``, then the node
    op: str  # the operation: a module class or a function name
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.op} — {self.reason}"


@dataclass
class ImportReport:
    source: str
    method: str = ""  # how the source was read: "torch.fx", "torch.export", "onnx"
    unmapped: list[UnmappedOp] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the result fails a check (shapes, counts, outputs)
    notes: list[str] = field(default_factory=list)
    layers: int = 0
    blocks: int = 0
    definitions: int = 0
    parameters: int | None = None
    source_parameters: int | None = None
    max_abs_diff: float | None = None
    seconds: float | None = None  # reading, tracing, mapping and assembling
    check_seconds: float | None = None  # building the network and comparing it with the source

    @property
    def ok(self) -> bool:
        return not self.unmapped and not self.problems

    def text(self) -> str:
        lines = [f"Import of {self.source}" + (f" (read with {self.method})" if self.method else "")]
        if self.unmapped:
            lines.append(f"{len(self.unmapped)} operation(s) could not be mapped to a Layerloom layer; "
                         "nothing was imported:")
            lines.extend(f"  {u.line()}" for u in self.unmapped)
        for problem in self.problems:
            lines.append(f"problem: {problem}")
        if self.layers:
            lines.append(f"{self.layers} layers in {self.blocks} block instances of {self.definitions} block "
                         "definitions")
        if self.parameters is not None:
            same = "" if self.source_parameters is None else (
                " (the source's too)" if self.parameters == self.source_parameters
                else f" (the source has {self.source_parameters:,})")
            lines.append(f"parameters: {self.parameters:,}{same}")
        if self.max_abs_diff is not None:
            lines.append(f"outputs match the source: largest difference {self.max_abs_diff:.2e}")
        lines.extend(f"note: {n}" for n in self.notes)
        if self.seconds is not None:
            checked = f" (and {self.check_seconds:.1f} s to check it)" if self.check_seconds is not None else ""
            lines.append(f"imported in {self.seconds:.1f} s{checked}")
        lines.append("result: " + ("imported" if self.ok else "FAILED"))
        return "\n".join(lines)


def node_path(parts: list[str], node: str) -> str:
    """``layer2 ▸ 0 ▸ conv1`` for display; the root is ``(top level)``."""
    return PATH_SEPARATOR.join([*parts, node]) if parts or node else "(top level)"


class ImportFailed(Exception):
    """The import could not produce a network that computes what the source does."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.text())
        self.report = report
