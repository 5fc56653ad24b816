"""Sample previews for the GUI: a few inputs as displayable images plus their labels.

`sample_grid` takes the first samples of a split (splits are already shuffled)
and returns them as uint8 images N×H×W×C for image datasets, or None for any
other input, together with one label string per sample: the class name, or
the target values for regression. Standardised images are rescaled per image
to fill 0..255.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.data.config import DatasetSplits
from engine.data.source import CLASSIFICATION


def _labels(y: torch.Tensor, task: str, class_names: list[str]) -> list[str]:
    if task == CLASSIFICATION:
        return [class_names[int(i)] for i in y]
    return [", ".join(f"{float(v):.3g}" for v in row.reshape(-1)) for row in y]


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """Float images (N, C, H, W) as uint8 (N, H, W, C); values outside [0, 1] are rescaled per image."""
    x = x.detach().float().cpu()
    if len(x) and (x.min() < 0 or x.max() > 1):
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
    return (x * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def sample_grid(splits: DatasetSplits, n: int = 16,
                split: str = "train") -> tuple[np.ndarray | None, list[str]]:
    """Up to `n` samples of `split`: images (or None for non-image data) and their labels."""
    x, y = splits.split(split)
    x, y = x[:n], y[:n]
    summary = splits.summary
    labels = _labels(y, summary.task, summary.class_names)
    if not summary.is_image:
        return None, labels
    return to_uint8_images(x), labels
