"""Generated grey images of simple shapes, one class per shape.

Six classes (circle, square, triangle, cross, ring, line) drawn at a random
position, size, rotation and brightness, with Gaussian pixel noise. Drawing is
vectorised: each shape is a signed distance over a numpy coordinate grid for a
whole chunk of samples at once, turned into anti-aliased intensity by
``clip(0.5 - distance, 0, 1)``. Inputs are float32 (1, S, S) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.kind import GENERATED, DatasetKindInfo
from engine.data.source import SourceData, classification
from engine.layers.spec import Param

SHAPES = ["circle", "square", "triangle", "cross", "ring", "line"]
CHUNK = 2048  # samples drawn together; bounds the memory of the (chunk, S, S) grids
_TRIANGLE_NORMALS = np.pi / 2 + 2 * np.pi * np.arange(3) / 3


def signed_distance(shape: str, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (negative inside) of `shape` of size `r` in rotated coordinates u, v."""
    au, av = np.abs(u), np.abs(v)
    if shape == "circle":
        return np.hypot(u, v) - r
    if shape == "square":
        return np.maximum(au, av) - 0.7 * r
    if shape == "triangle":
        planes = [u * np.cos(a) + v * np.sin(a) for a in _TRIANGLE_NORMALS]
        return np.maximum.reduce(planes) - 0.5 * r
    if shape == "cross":
        w, length = np.maximum(0.2 * r, 1.0), 0.9 * r
        return np.minimum(np.maximum(au - w, av - length), np.maximum(av - w, au - length))
    if shape == "ring":
        rho = np.hypot(u, v)
        return np.maximum(rho - r, 0.6 * r - rho)
    if shape == "line":
        return np.maximum(av - np.maximum(0.08 * r, 0.9), au - r)
    raise ValueError(shape)


def draw_shapes(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one noiseless image (N, S, S) float32 per label, each shape at a random pose."""
    return draw_shapes_with_masks(labels, size, rng)[0]


def draw_shapes_with_masks(labels: np.ndarray, size: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless images (N, S, S) float32 as `draw_shapes` draws them (the same random draws), and
    the masks (N, S, S) bool of the pixels each shape covers at all (where explanations should look)."""
    n = len(labels)
    r = rng.uniform(0.2, 0.4, n) * size
    cx = rng.uniform(r + 1.0, size - 2.0 - r)
    cy = rng.uniform(r + 1.0, size - 2.0 - r)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    brightness = rng.uniform(0.7, 1.0, n).astype(np.float32)
    grid = np.arange(size, dtype=np.float32)
    images = np.empty((n, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=bool)
    for cls, shape in enumerate(SHAPES):
        idx = np.flatnonzero(labels == cls)
        if idx.size == 0:
            continue
        pose = (cx, cy, angle, r, brightness)
        pcx, pcy, pangle, pr, pb = (a[idx].astype(np.float32)[:, None, None] for a in pose)
        dx, dy = grid[None, None, :] - pcx, grid[None, :, None] - pcy
        cos, sin = np.cos(pangle), np.sin(pangle)
        u, v = dx * cos + dy * sin, dy * cos - dx * sin
        distance = signed_distance(shape, u, v, pr)
        images[idx] = np.clip(0.5 - distance, 0.0, 1.0) * pb
        masks[idx] = distance < 0.5
    return images, masks


def load_shapes(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    n, size, noise = params["n_samples"], params["image_size"], params["noise"]
    labels = np.arange(n, dtype=np.int64) % len(SHAPES)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    for start in range(0, n, CHUNK):
        part = labels[start:start + CHUNK]
        drawn = draw_shapes(part, size, rng)
        if noise > 0:
            drawn += noise * rng.standard_normal(drawn.shape, dtype=np.float32)
        images[start:start + CHUNK, 0] = np.clip(drawn, 0.0, 1.0)
    return classification("Shapes", images, labels, list(SHAPES))


KINDS = [
    DatasetKindInfo(
        "shapes", "Shapes", GENERATED,
        "Grey images of a circle, square, triangle, cross, ring or line at a random position, size and "
        "rotation, with pixel noise. A quick stand-in for MNIST that needs no download.",
        (Param("n_samples", "int", 2000, help="How many images to generate in all.",
               minimum=12, maximum=500_000),
         Param("image_size", "int", 28, help="Width and height of each image in pixels.",
               minimum=16, maximum=128),
         Param("noise", "float", 0.1, help="Standard deviation of the Gaussian pixel noise.",
               minimum=0.0, maximum=1.0)),
        load_shapes),
]
