"""Image augmentation applied to whole batches, on the device the batch is already on.

`make_augmenter(config, input_shape)` returns a function from a float batch
(N, C, H, W) to a new batch of the same shape and dtype, or None when nothing
is switched on. Every sample gets its own random draw, without any Python loop
over samples: flips through a random mask, crops with padding through batched
indexing into the padded batch, rotations through one `affine_grid` /
`grid_sample` call with per-sample angles, and colour jitter through
per-sample factors (brightness and contrast; saturation too for 3 channels).
Values are clamped to the batch's original range, so images in [0, 1] stay
there. Plain torch operations are used throughout (torchvision's v2
functional ops draw one set of parameters per call, not per sample). The input
batch is never modified in place. Asking for augmentation of anything but
images of shape (C, H, W) is a `DatasetError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from engine.data.augment_config import AugmentConfig  # re-exported: the settings live there, torch-free
from engine.data.errors import DatasetError

Augmenter = Callable[[torch.Tensor], torch.Tensor]
Step = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def _uniform(n: int, strength: float, like: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    """Per-sample factors in [1 - strength, 1 + strength], shaped (N, 1, 1, 1)."""
    u = torch.rand(n, device=like.device, generator=g, dtype=like.dtype)
    return (1.0 + strength * (2.0 * u - 1.0)).view(n, 1, 1, 1)


def hflip(x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
    flip = torch.rand(len(x), device=x.device, generator=g) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def random_crop(x: torch.Tensor, g: torch.Generator | None, padding: int) -> torch.Tensor:
    n, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=g)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), device=x.device, generator=g)
    rows = (dy + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, channel, rows, cols]


def rotate(x: torch.Tensor, g: torch.Generator | None, degrees: float) -> torch.Tensor:
    n, _, h, w = x.shape
    angle = (2.0 * torch.rand(n, device=x.device, generator=g) - 1.0) * math.radians(degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(angle)
    # a rotation in pixels, written in affine_grid's normalised coordinates so non-square images stay true
    rows = [torch.stack([cos, -sin * h / w, zero], 1), torch.stack([sin * w / h, cos, zero], 1)]
    theta = torch.stack(rows, 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _grey(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)
    return x


def color_jitter(x: torch.Tensor, g: torch.Generator | None, strength: float) -> torch.Tensor:
    n = len(x)
    lo, hi = x.amin(), x.amax()
    x = x * _uniform(n, strength, x, g)
    mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _uniform(n, strength, x, g) + mean
    if x.shape[1] == 3:
        grey = _grey(x)
        x = (x - grey) * _uniform(n, strength, x, g) + grey
    return torch.clamp(x, lo, hi)


class _Pipeline:
    """The enabled steps in order, with one random generator per device when seeded."""

    def __init__(self, steps: list[Step], seed: int | None) -> None:
        self.steps = steps
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        g = self._generator(x.device)
        for step in self.steps:
            x = step(x, g)
        return x


def _check_shape(config: AugmentConfig, input_shape: tuple[int, ...]) -> None:
    if len(input_shape) != 3:
        shown = "×".join(map(str, input_shape)) or "scalar"
        raise DatasetError(f"augmentation works on images (channels×height×width), but the dataset gives "
                           f"samples of {shown}; switch augmentation off for this dataset")
    channels, h, w = input_shape
    if config.color_jitter > 0 and channels not in (1, 3):
        raise DatasetError(f"colour jitter needs 1 or 3 channels, the images have {channels}")
    if config.crop_padding > min(h, w):
        raise DatasetError(f"crop_padding {config.crop_padding} is larger than the images ({h}×{w})")


def make_augmenter(config: AugmentConfig, input_shape: tuple[int, ...],
                   seed: int | None = None) -> Augmenter | None:
    """A batch augmenter for images of `input_shape` (without batch), or None when nothing is enabled.

    Args:
        seed: draw from a seeded generator (one per device) for reproducible runs; None draws from torch's
            global generator.
    """
    config.validate()
    if not config.enabled:
        return None
    _check_shape(config, tuple(input_shape))
    steps: list[Step] = []
    if config.hflip:
        steps.append(hflip)
    if config.crop_padding > 0:
        steps.append(partial(random_crop, padding=config.crop_padding))
    if config.rotation > 0:
        steps.append(partial(rotate, degrees=float(config.rotation)))
    if config.color_jitter > 0:
        steps.append(partial(color_jitter, strength=float(config.color_jitter)))
    return _Pipeline(steps, seed)
