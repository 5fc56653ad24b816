"""Generated colour images of ten shapes: an offline stand-in for CIFAR-10.

Ten classes (the six of `engine.data.shapes` plus semicircle, star, frame and
ellipse) drawn at a random position, size and tilt (up to 30°) in a random colour on a
background of another colour, with a soft colour gradient across the image and
Gaussian pixel noise. Colour therefore says nothing about the class: a network
has to learn the outline, as with photos. Inputs are float32 (3, S, S) in
[0, 1], like CIFAR-10's, so a network built for one trains on the other
unchanged. Everything is drawn with numpy from the seed alone (the same seed
gives the same images on every machine), in chunks that bound memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.kind import GENERATED, DatasetKindInfo
from engine.data.shapes import SHAPES, signed_distance
from engine.data.source import SourceData, classification
from engine.layers.spec import Param

CLASSES = [*SHAPES, "semicircle", "star", "frame", "ellipse"]
CHUNK = 1024
MIN_CONTRAST = 0.3  # smallest brightness difference between a shape and its background
MAX_TILT = np.pi / 6  # shapes stand roughly upright, as objects in photos do
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _extra_distance(shape: str, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (negative inside) of the shapes `engine.data.shapes` does not draw."""
    if shape == "semicircle":
        return np.maximum(np.hypot(u, v + 0.3 * r) - r, -(v + 0.3 * r))
    if shape == "star":
        rho, theta = np.hypot(u, v), np.arctan2(v, u)
        return rho - r * (0.62 + 0.38 * np.cos(5 * theta))
    if shape == "frame":
        box = np.maximum(np.abs(u), np.abs(v))
        return np.maximum(box - 0.75 * r, 0.45 * r - box)
    if shape == "ellipse":
        return (np.hypot(u / r, v / (0.45 * r)) - 1.0) * 0.45 * r
    return signed_distance(shape, u, v, r)


def _colours(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A foreground and a background colour per image whose brightness differs by `MIN_CONTRAST` or more.

    Hue and saturation are free (so colour never tells the class); the brightness gap keeps every
    outline visible, as an edge in any photo is.
    """
    fg = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    bg = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    close = np.abs(_LUMA @ (fg - bg).T) < MIN_CONTRAST
    while close.any():  # redraw only the pairs that are too alike; a few rounds at most
        bg[close] = rng.uniform(0.0, 1.0, (int(close.sum()), 3))
        close = np.abs(_LUMA @ (fg - bg).T) < MIN_CONTRAST
    return fg, bg


def draw_colour_shapes(labels: np.ndarray, size: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """One image (N, 3, S, S) float32 in [0, 1] per label."""
    n = len(labels)
    # the centre keeps one pixel clear on each side, which small images (16-18 px) cannot at the
    # largest radius: cap it there rather than let the centre's range turn empty
    r = np.minimum(rng.uniform(0.26, 0.42, n) * size, (size - 3.0) / 2.0)
    cx = rng.uniform(r + 1.0, size - 2.0 - r)
    cy = rng.uniform(r + 1.0, size - 2.0 - r)
    angle = rng.uniform(-MAX_TILT, MAX_TILT, n)
    fg, bg = _colours(n, rng)
    tilt = rng.uniform(-0.15, 0.15, (n, 3, 2)).astype(np.float32)  # a soft gradient per colour channel
    grid = np.arange(size, dtype=np.float32)
    coverage = np.empty((n, size, size), dtype=np.float32)
    for cls, shape in enumerate(CLASSES):
        idx = np.flatnonzero(labels == cls)
        if idx.size == 0:
            continue
        pcx, pcy, pangle, pr = (a[idx].astype(np.float32)[:, None, None] for a in (cx, cy, angle, r))
        dx, dy = grid[None, None, :] - pcx, grid[None, :, None] - pcy
        cos, sin = np.cos(pangle), np.sin(pangle)
        u, v = dx * cos + dy * sin, dy * cos - dx * sin
        coverage[idx] = np.clip(0.5 - _extra_distance(shape, u, v, pr), 0.0, 1.0)
    ramp = (grid / max(size - 1, 1) - 0.5).astype(np.float32)
    gradient = (tilt[:, :, 0, None, None] * ramp[None, None, None, :]
                + tilt[:, :, 1, None, None] * ramp[None, None, :, None])
    cover = coverage[:, None]
    images = cover * fg[:, :, None, None] + (1.0 - cover) * bg[:, :, None, None] + gradient
    if noise > 0:
        images += noise * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0.0, 1.0)


def load_colour_shapes(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng([seed, 3])
    n, size, noise = params["n_samples"], params["image_size"], params["noise"]
    labels = np.arange(n, dtype=np.int64) % len(CLASSES)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    for start in range(0, n, CHUNK):
        images[start:start + CHUNK] = draw_colour_shapes(labels[start:start + CHUNK], size, noise, rng)
    return classification("Colour shapes", images, labels, list(CLASSES))


KINDS = [
    DatasetKindInfo(
        "colour_shapes", "Colour shapes", GENERATED,
        "Colour 32×32 images of ten shapes (circle, square, triangle, cross, ring, line, semicircle, star, "
        "frame, ellipse) in random colours on a shaded background of another colour, with pixel noise. "
        "Shaped like CIFAR-10 (3×32×32, 10 classes) and needs no download.",
        (Param("n_samples", "int", 5000, help="How many images to generate in all.",
               minimum=20, maximum=200_000),
         Param("image_size", "int", 32, help="Width and height of each image in pixels.",
               minimum=16, maximum=96),
         Param("noise", "float", 0.04, help="Standard deviation of the Gaussian pixel noise.",
               minimum=0.0, maximum=0.5)),
        load_colour_shapes),
]
