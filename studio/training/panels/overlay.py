"""Pictures the recipe and explanation panels draw: heatmaps over images, and rows of image tiles.

Plain numpy, so panels stay cheap and tests can check the pixels. `heat_overlay` lays an
attribution map over an image through a colour table, each pixel's opacity growing with its
value (unimportant pixels keep the image), so both stay readable. `as_rgb` turns any uint8
thumbnail (grey or colour) into RGB; `tile_rows` lays out images in a grid with gaps, for the
generated-sample grid and the reconstruction pairs.
"""

from __future__ import annotations

import math

import numpy as np


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A uint8 image (H, W), (H, W, 1) or (H, W, 3) as (H, W, 3) uint8."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)


def heat_overlay(image: np.ndarray, heat: np.ndarray, lut: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """`heat` (H, W) in [0, 1] coloured by `lut` (256, 4) over `image`, at most `alpha` opaque: (H, W, 3) uint8.

    A heatmap of another size (a thumbnail of a larger input) is resampled to the image's size by
    nearest neighbour.
    """
    rgb = as_rgb(image).astype(np.float32)
    heat = np.nan_to_num(np.asarray(heat, dtype=np.float32), nan=0.0)
    if heat.shape != rgb.shape[:2]:
        rows = np.minimum((np.arange(rgb.shape[0]) * heat.shape[0]) // rgb.shape[0], heat.shape[0] - 1)
        cols = np.minimum((np.arange(rgb.shape[1]) * heat.shape[1]) // rgb.shape[1], heat.shape[1] - 1)
        heat = heat[rows][:, cols]
    heat = np.clip(heat, 0.0, 1.0)
    colours = lut[(heat * 255).astype(np.uint8)][:, :, :3].astype(np.float32)
    weight = (alpha * np.sqrt(heat))[:, :, None]  # faint attributions still tint the image a little
    return np.round(rgb * (1.0 - weight) + colours * weight).astype(np.uint8)


def tile_rows(images: np.ndarray, columns: int, gap: int, fill: int) -> np.ndarray:
    """Images (N, H, W, 3) uint8 in a grid of `columns`, `gap` pixels of grey `fill` apart."""
    n, h, w = images.shape[:3]
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns) if n else 0
    out = np.full((max(rows * (h + gap) - gap, 0), max(columns * (w + gap) - gap, 0), 3), fill, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = images[i]
    return out


def columns_for(count: int, tile_aspect: float, space_aspect: float) -> int:
    """How many columns make `count` tiles (width/height `tile_aspect`) fill a space of `space_aspect`."""
    if count <= 0:
        return 1
    return max(1, min(count, round(math.sqrt(count * space_aspect / max(tile_aspect, 1e-6)))))
