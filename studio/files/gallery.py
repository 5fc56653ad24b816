"""What *File ▸ New* offers: a blank network, the templates and the bundled examples, each with a picture.

`gallery_entries()` lists `GalleryEntry` records: a key, a title, a group (``Start``,
``Templates``, ``Examples``), a description and `make()`, which returns a fresh `Project` each
time (examples are read from their bundled file; nothing is shared with the open document).
`entry_preview(entry, theme_name)` draws the entry's network the way the canvas does (a real
`GraphScene`, laid out like a file that opens with no positions) into a `QImage`, and counts its
parameters with the editor's analysis; both are cached per entry and theme, since the bundled
files never change while the studio runs. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from engine.graph.errors import ProjectFileError
from engine.project import Project, load_project
from engine.resources import example_names, example_path
from engine.templates import TEMPLATES, blank

PREVIEW_SIZE = (320, 180)

# What each bundled example shows, in a user's words (examples not listed get a description
# made from their network and dataset).
EXAMPLE_TEXT = {
    "lenet5": "LeNet-5, the classic convolutional network, learning to tell six generated shapes apart "
              "in 28×28 grey images.",
    "mlp_spirals": "A multilayer perceptron separating interleaved spiral arms: the smallest network that "
                   "needs a non-linear boundary.",
    "resnet_small": "A small residual network (three blocks with skip connections, batch norm and global "
                    "pooling) for 32×32 colour images.",
    "lstm_sequence": "An LSTM that reads a noisy waveform step by step and says whether it is a sine, "
                     "square, sawtooth or triangle wave.",
    "transformer_encoder": "Two Transformer encoder layers with positional encoding learning to remember "
                           "the first token of a sequence.",
    "conv_autoencoder": "A convolutional autoencoder (autoencoder recipe) squeezing 28×28 shapes through 16 "
                        "numbers and back; its encoder and decoder export alone.",
    "vae_shapes": "A variational autoencoder (vae recipe) with a Sampling layer: random points of its 8-D latent "
                  "space decode to new shapes.",
    "dcgan_shapes": "A small DCGAN (gan recipe): a generator from 16 noise values and a discriminator, two networks "
                    "in one project trained against each other.",
}


@dataclass(frozen=True)
class GalleryEntry:
    key: str
    title: str
    group: str
    description: str
    make: Callable[[], Project]


@dataclass(frozen=True)
class Preview:
    image: QImage
    params: int  # of every layer whose input shape is known
    complete: bool  # False when errors leave some layers without a shape (the count is a lower bound)
    nodes: int


def _load_example(name: str) -> Project:
    return load_project(example_path(name))


def _example_text(name: str, project: Project | None) -> str:
    if name in EXAMPLE_TEXT:
        return EXAMPLE_TEXT[name]
    if project is None:
        return "A bundled example network."
    kind = (project.dataset or {}).get("kind")
    return f"{project.name}: {len(project.network.nodes)} layers" + (f", trained on {kind}." if kind else ".")


def gallery_entries() -> list[GalleryEntry]:
    """Blank, then the templates, then every bundled example that can be read."""
    entries = [GalleryEntry("blank", "Blank network", "Start",
                            "An Input and an Output and nothing between: build your own network from the "
                            "Layers palette.", blank)]
    entries += [GalleryEntry(f"template:{t.key}", t.title, "Templates", t.description, t.build) for t in TEMPLATES]
    for name in example_names():
        try:
            project = _load_example(name)
        except (ProjectFileError, OSError):
            continue  # a damaged bundled file is left out rather than offered
        title = project.name or name.replace("_", " ")
        entries.append(GalleryEntry(f"example:{name}", title, "Examples", _example_text(name, project),
                                    partial(_load_example, name)))
    return entries


def folded_positions(doc: Any, sizes: dict[str, tuple[float, float]], aspect: float,
                     gap: float = 60.0) -> dict[str, tuple[float, float]]:
    """The left-to-right layout cut into rows (like lines of text) so a long chain fills a card of `aspect`.

    Only for pictures: the preview's throwaway copy of the network is moved, never a document."""
    if not doc.nodes:
        return {}
    columns = sorted({round(n.position[0]) for n in doc.nodes.values()})
    index = {x: i for i, x in enumerate(columns)}
    width = max(w for w, _h in sizes.values()) + gap
    top = min(n.position[1] for n in doc.nodes.values())
    height = max(n.position[1] + sizes[i][1] for i, n in doc.nodes.items()) - top + gap
    best = min(range(1, len(columns) + 1),
               key=lambda k: abs(math.log((k * width) / (math.ceil(len(columns) / k) * height) / aspect)))
    moved = {}
    for node_id, node in doc.nodes.items():
        row, col = divmod(index[round(node.position[0])], best)
        moved[node_id] = (col * width, row * height + node.position[1] - top)
    return moved


_previews: dict[tuple[str, str], Preview] = {}


def entry_preview(entry: GalleryEntry, theme_name: str = "light") -> Preview:
    """The entry's network drawn as on the canvas, and its parameter count (cached)."""
    key = (entry.key, theme_name)
    if key not in _previews:
        _previews[key] = render_preview(entry.make(), theme_name)
    return _previews[key]


def render_preview(project: Project, theme_name: str = "light", size: tuple[int, int] = PREVIEW_SIZE) -> Preview:
    """Draw `project`'s network into an image of `size`, fitted and centred."""
    from studio.editor.auto_layout import layout_is_broken
    from studio.editor.canvas.scene import GraphScene
    from studio.editor.document_controller import DocumentController
    from studio.theme import theme

    colors = theme(theme_name).canvas
    controller = DocumentController(project)
    scene = GraphScene(controller, colors)
    try:
        if layout_is_broken(project.network, scene.node_sizes()):
            controller.auto_arrange(scene.node_sizes(), undoable=False)
        project.network.move_nodes(folded_positions(project.network, scene.node_sizes(), size[0] / size[1]))
        analysis = controller.flush_analysis()
        complete = all(info.output is not None for info in analysis.nodes.values())
        image = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor(colors.background))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        source = scene.itemsBoundingRect().adjusted(-30, -30, 30, 30)
        margin = 8
        target = QRectF(margin, margin, size[0] - 2 * margin, size[1] - 2 * margin)
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
        painter.end()
        return Preview(image, analysis.total_params, complete, len(project.network.nodes))
    finally:
        controller.close()
        scene.clear()
        scene.deleteLater()
        controller.deleteLater()
