"""Explanations of a trained classifier: which pixels of one sample its decision rests on.

This package top is the light schema layer (no torch, no Qt): what the studio needs to offer a
choice of method and node and to name a sample. The work is behind it:

- `engine.explain.attribution` (torch + Captum): saliency, Grad-CAM (`captum.attr.LayerGradCam`
  on any node with a spatial output) and integrated gradients of one input, each as a heatmap
  of the input's height and width scaled to [0, 1];
- `engine.explain.offline`: the same for a finished run's weights, a sample picked by split and
  index, called by the studio on a pool thread (never the GUI thread);
- `engine.explain.live`: a training callback that refreshes Grad-CAM of the selected sample at
  the end of every epoch for one forward (with a hook on the node) and one backward, sent as
  `engine.telemetry.Explanation` messages;
- `engine.explain.latent`: a probe that projects a node's activations on a fixed validation batch
  onto their first two principal components, sent as `LatentPoints(method="pca")`.

A sample is named by a `SampleRef` (split and index in that split: the Sample Predictions panel
shows the first validation samples, the dataset preview the first training samples), so the same
sample is found again from the dataset config, whichever process computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.graph.analysis import Analysis
    from engine.graph.document import GraphDocument

SALIENCY, GRAD_CAM, INTEGRATED_GRADIENTS = "saliency", "grad_cam", "integrated_gradients"
METHODS = (SALIENCY, GRAD_CAM, INTEGRATED_GRADIENTS)
METHOD_TITLES = {SALIENCY: "Saliency", GRAD_CAM: "Grad-CAM", INTEGRATED_GRADIENTS: "Integrated gradients"}
SPLITS = ("train", "val", "test")


class ExplainError(ValueError):
    """An explanation cannot be made (not an image classifier, no such node or sample, no weights)."""


@dataclass(frozen=True)
class SampleRef:
    """One sample of a dataset: its split and its index in that split."""

    split: str
    index: int

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ExplainError(f"a sample's split is one of {', '.join(SPLITS)}, not {self.split!r}")
        if not isinstance(self.index, int) or isinstance(self.index, bool) or self.index < 0:
            raise ExplainError(f"a sample's index is a whole number from 0, not {self.index!r}")

    def label(self) -> str:
        split = {"train": "training", "val": "validation", "test": "test"}[self.split]
        return f"{split} sample {self.index + 1}"

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "index": self.index}

    @classmethod
    def from_json(cls, data: Any) -> SampleRef:
        if not isinstance(data, dict):
            raise ExplainError("a sample is an object with a split and an index")
        return cls(str(data.get("split")), data.get("index"))  # type: ignore[arg-type]


def spatial_nodes(doc: GraphDocument, analysis: Analysis) -> list[str]:
    """Top-level nodes whose output is a feature map (channels × height × width), in document order.

    Grad-CAM weighs such a map's channels by their gradients; the inferred shapes say which
    nodes qualify, so nothing needs to run.
    """
    out = []
    for node_id, node in doc.nodes.items():
        spec = doc.spec_of(node)
        if spec.is_input or spec.is_output:
            continue
        output = analysis.output_of(node_id)
        if output is not None and len(output.shape) == 3 and output.shape[1] > 1 and output.shape[2] > 1:
            out.append(node_id)
    return out


def default_node(doc: GraphDocument, analysis: Analysis) -> str | None:
    """The last spatial node on the way to the output (Grad-CAM's usual choice), or None.

    "Last" follows the wiring, not the document order: the spatial node with the most spatial
    nodes upstream of it.
    """
    nodes = spatial_nodes(doc, analysis)
    if not nodes:
        return None
    incoming: dict[str, set[str]] = {n: set() for n in doc.nodes}
    for edge in doc.edges:
        incoming.setdefault(edge.target, set()).add(edge.source)
    try:
        order = list(TopologicalSorter(incoming).static_order())
    except CycleError:  # the analysis reports the cycle; fall back to the document's order
        return nodes[-1]
    spatial = set(nodes)
    upstream: dict[str, set[str]] = {}
    for node_id in order:  # the spatial nodes upstream of each node, sources first
        found: set[str] = set()
        for source in incoming.get(node_id, ()):
            found |= upstream.get(source, set()) | ({source} & spatial)
        upstream[node_id] = found
    return max(nodes, key=lambda n: (len(upstream.get(n, ())), nodes.index(n)))
