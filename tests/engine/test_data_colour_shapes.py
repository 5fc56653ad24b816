"""The generated colour-shapes dataset: deterministic, CIFAR-shaped, and learnable by the ResNet example."""

from __future__ import annotations

import numpy as np
import torch

from engine.data import DatasetConfig, load_dataset
from engine.data.colour_shapes import CLASSES, MIN_CONTRAST, draw_colour_shapes


def config(seed: int = 0, n: int = 200) -> DatasetConfig:
    return DatasetConfig("colour_shapes", {"n_samples": n}, 0.15, 0.15, seed)


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = load_dataset(config(0)), load_dataset(config(0)), load_dataset(config(1))
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.train[1], b.train[1])
    assert not torch.equal(a.train[0], c.train[0])


def test_shaped_like_cifar10_with_balanced_classes():
    splits = load_dataset(config(n=1000))
    summary = splits.summary
    assert summary.input_shape == (3, 32, 32) and summary.input_dtype == "float32"
    assert summary.num_classes == 10 and summary.class_names == CLASSES
    x = splits.train[0]
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    counts = summary.class_counts["train"]
    assert max(counts) - min(counts) <= 0.35 * (sum(counts) / 10)


def test_colour_does_not_tell_the_class_but_the_outline_is_always_visible():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(10), 60)
    images = draw_colour_shapes(labels, 32, 0.0, rng)
    mean_colour = images.mean(axis=(2, 3))  # (N, 3)
    per_class = np.stack([mean_colour[labels == k].mean(axis=0) for k in range(10)])
    assert np.ptp(per_class, axis=0).max() < 0.15  # every class has about the same average colour
    luma = np.tensordot(images, np.array([0.299, 0.587, 0.114], dtype=np.float32), axes=([1], [0]))
    spread = luma.max(axis=(1, 2)) - luma.min(axis=(1, 2))
    assert spread.min() >= MIN_CONTRAST * 0.8  # shape against background, minus the anti-aliased edge


def test_the_resnet_example_learns_it_well_above_chance():
    """The bundled ResNet with its own settings, on 2,000 images for 6 epochs (10% is chance)."""
    from engine.examples import resnet_small
    from engine.train.job import TrainingJob
    from engine.train.session import run_job

    job = TrainingJob.from_project(resnet_small(), "learns")
    assert job.dataset.kind == "colour_shapes"
    job.dataset.params["n_samples"] = 2000
    job.settings.epochs, job.settings.cpu_threads = 6, 1
    job.settings.telemetry.enabled = False
    result = run_job(job, lambda m: None)
    assert result.status == "completed", result.failure
    assert result.record.test["accuracy"] >= 0.35, [e["val"] for e in result.record.epochs]


def test_every_allowed_image_size_generates_shapes_inside_the_picture():
    """The declared range starts at 16 px, where the largest radius once left no room for a centre."""
    rng = np.random.default_rng(0)
    labels = np.arange(40) % len(CLASSES)
    for size in (16, 17, 18, 19, 96):
        images = draw_colour_shapes(labels, size, 0.0, rng)
        assert images.shape == (40, 3, size, size) and np.isfinite(images).all()
