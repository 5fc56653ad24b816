"""Batch image augmentation: shapes and dtypes kept, images changed per sample, settings checked."""

from __future__ import annotations

import json

import pytest
import torch

from engine.data import AugmentConfig, DatasetError, make_augmenter

SHAPE = (3, 16, 16)


def batch(n: int = 32, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(0))


def augment(config: AugmentConfig, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    augmenter = make_augmenter(config, tuple(x.shape[1:]), seed=seed)
    assert augmenter is not None
    return augmenter(x)


def changed(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Which samples of the batch differ."""
    return (a - b).abs().flatten(1).amax(dim=1) > 1e-6


def test_nothing_enabled_gives_no_augmenter() -> None:
    assert make_augmenter(AugmentConfig(), SHAPE) is None
    assert make_augmenter(AugmentConfig(), (2,)) is None  # nothing asked, nothing to refuse


@pytest.mark.parametrize("config", [AugmentConfig(hflip=True), AugmentConfig(crop_padding=3),
                                    AugmentConfig(rotation=30.0), AugmentConfig(color_jitter=0.5),
                                    AugmentConfig(True, 2, 15.0, 0.3)])
@pytest.mark.parametrize("shape", [(3, 16, 16), (1, 12, 20)])
def test_augmentation_keeps_shape_dtype_and_range_and_changes_images(config: AugmentConfig,
                                                                     shape: tuple[int, ...]) -> None:
    x = batch(shape=shape)
    before = x.clone()
    out = augment(config, x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before)  # the input batch is left alone
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert changed(out, x).any()


def test_flips_are_drawn_per_sample() -> None:
    x = batch(64)
    out = augment(AugmentConfig(hflip=True), x)
    flipped = torch.isclose(out, x.flip(-1)).flatten(1).all(dim=1)
    kept = torch.isclose(out, x).flatten(1).all(dim=1)
    assert (flipped | kept).all() and 10 < int(flipped.sum()) < 54


def test_crops_are_per_sample_shifts_of_the_padded_image() -> None:
    x = batch(64)
    out = augment(AugmentConfig(crop_padding=2), x)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    shifts = set()
    for i in range(len(x)):  # checking only: the augmenter itself has no per-sample loop
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(out[i], padded[i, :, dy:dy + 16, dx:dx + 16])]
        assert matches
        shifts.add(matches[0])
    assert len(shifts) > 5


def test_rotation_uses_a_different_angle_per_sample() -> None:
    x = batch(1).expand(16, *SHAPE).contiguous()
    out = augment(AugmentConfig(rotation=45.0), x)
    assert changed(out[1:], out[:1].expand(15, *SHAPE)).all()


def test_colour_jitter_on_grey_images() -> None:
    x = batch(16, (1, 8, 8))
    out = augment(AugmentConfig(color_jitter=0.4), x)
    assert changed(out, x).all()


def test_seeded_augmentation_is_reproducible() -> None:
    config = AugmentConfig(True, 2, 10.0, 0.2)
    x = batch()
    assert torch.equal(augment(config, x, seed=3), augment(config, x, seed=3))
    assert not torch.equal(augment(config, x, seed=3), augment(config, x, seed=4))


@pytest.mark.parametrize(("config", "shape", "message"), [
    (AugmentConfig(hflip=True), (2,), r"augmentation works on images .* samples of 2;"),
    (AugmentConfig(rotation=5.0), (20, 1), "samples of 20×1"),
    (AugmentConfig(color_jitter=0.1), (2, 8, 8), "colour jitter needs 1 or 3 channels"),
    (AugmentConfig(crop_padding=9), (1, 8, 8), "larger than the images"),
    (AugmentConfig(rotation=500.0), SHAPE, "must be at most 180, got 500"),
])
def test_bad_augmentation_requests(config: AugmentConfig, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        make_augmenter(config, shape)


def test_augment_config_json() -> None:
    config = AugmentConfig(hflip=True, crop_padding=4, rotation=12.5, color_jitter=0.25)
    assert AugmentConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert AugmentConfig.from_json({}) == AugmentConfig()
    for bad, message in (([], "JSON object"), ({"flip": True}, "unknown augmentation setting 'flip'"),
                         ({"hflip": "yes"}, "hflip. must be true or false"),
                         ({"crop_padding": 1.5}, "crop_padding. must be a whole number"),
                         ({"color_jitter": 2}, "color_jitter. must be at most 1, got 2")):
        with pytest.raises(DatasetError, match=message):
            AugmentConfig.from_json(bad)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augmentation_runs_on_the_gpu() -> None:
    x = batch().cuda()
    out = augment(AugmentConfig(True, 2, 15.0, 0.3), x)
    assert out.device == x.device and out.shape == x.shape
    assert torch.equal(out, augment(AugmentConfig(True, 2, 15.0, 0.3), x))
