"""Exporting one part of a network alone: a GAN's generator or discriminator, an autoencoder's encoder or decoder.

`part_network(document, recipe, part)` cuts the part out as a network of its own
(`engine.train.recipes.structure.network_part`: node ids kept, a new Input of the latent code's
shape where a decoder starts, a new Output where an encoder ends) and `part_weights` keeps the
weights of its layers (state-dict keys start with the node id). `export_part` exports and checks
the part exactly as `export_network` checks a whole network (onnxruntime for ONNX, reloading for
.pt2, a fresh import for code). Which parts a project has follows from its training recipe
(`parts_of`). Raises `ExportError` for a part the network does not have.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from engine.export.common import ExportError, ExportReport
from engine.export.exporters import export_network
from engine.graph.analysis import analyze
from engine.graph.document import GraphDocument
from engine.train.recipes.structure import RecipeStructureError, available_parts, network_part


def parts_of(document: GraphDocument, recipe: str) -> tuple[str, ...]:
    """The parts of `document` that export alone under `recipe` (empty for supervised networks)."""
    analysis = analyze(document)
    return available_parts(document, analysis, recipe) if analysis.ok else ()


def part_network(document: GraphDocument, recipe: str, part: str) -> GraphDocument:
    """The part as a network of its own; raises `ExportError` when the network has no such part."""
    analysis = analyze(document)
    if not analysis.ok:
        raise ExportError("the network has errors: fix them before exporting a part of it")
    try:
        return network_part(document, analysis, recipe, part)
    except RecipeStructureError as exc:
        raise ExportError(str(exc)) from None


def part_weights(part: GraphDocument, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights that belong to the part's layers (keys are ``node_id`` or ``node_id.…``)."""
    return {key: value for key, value in weights.items() if key.split(".", 1)[0] in part.nodes}


def export_part(document: GraphDocument, recipe: str, part: str, fmt: str, path: str | os.PathLike[str],
                weights: Mapping[str, torch.Tensor] | None = None, *, weights_from: str = "") -> ExportReport:
    """Export `part` of the network alone to `fmt` at `path`, checked like any export."""
    network = part_network(document, recipe, part)
    kept = part_weights(network, weights) if weights is not None else None
    report = export_network(network, fmt, path, kept, weights_from=weights_from)
    report.notes.insert(0, f"the {part} alone")
    return report
