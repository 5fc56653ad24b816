"""Generated 2-D point sets: spirals, moons, circles, XOR, and a 1-D curve to fit.

Each is drawn with numpy from the seed alone, so the same seed gives the same
points on every machine, in a few milliseconds. Inputs are float32 of shape
(2,) (the curve: (1,)); noise is Gaussian, in the same units as the
coordinates, which lie roughly within [-1.5, 1.5].
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.kind import GENERATED, DatasetKindInfo
from engine.data.source import REGRESSION, SourceData, classification
from engine.layers.spec import Param

if TYPE_CHECKING:  # tensors only when data loads: listing kinds must not import torch
    pass

TAU = 2.0 * np.pi


def _n_samples(default: int = 2000) -> Param:
    return Param("n_samples", "int", default, help="How many points to generate in all.",
                 minimum=10, maximum=1_000_000)


def _noise(default: float) -> Param:
    return Param("noise", "float", default, help="Standard deviation of the Gaussian noise added to each "
                 "point.", minimum=0.0, maximum=2.0)


def _labels(n: int, classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % classes


def _finish(name: str, points: np.ndarray, labels: np.ndarray, noise: float,
            rng: np.random.Generator, names: list[str]) -> SourceData:
    points = points + noise * rng.standard_normal(points.shape)
    return classification(name, points.astype(np.float32), labels, names)


def load_spirals(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    n, arms = params["n_samples"], params["arms"]
    labels = _labels(n, arms)
    t = rng.uniform(0.05, 1.0, n)
    angle = TAU * (params["turns"] * t + labels / arms)
    points = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return _finish("Spirals", points, labels, params["noise"], rng, [f"arm {i + 1}" for i in range(arms)])


def load_moons(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    n = params["n_samples"]
    labels = _labels(n, 2)
    theta = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    lower = np.stack([1.0 - np.cos(theta), 0.5 - np.sin(theta)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    return _finish("Moons", points, labels, params["noise"], rng, ["upper", "lower"])


def load_circles(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    n = params["n_samples"]
    labels = _labels(n, 2)
    theta = rng.uniform(0.0, TAU, n)
    radius = np.where(labels == 0, 1.0, params["factor"])
    points = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return _finish("Circles", points, labels, params["noise"], rng, ["outer", "inner"])


def load_xor(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.0, 1.0, (params["n_samples"], 2))
    labels = (points[:, 0] * points[:, 1] < 0).astype(np.int64)
    return _finish("XOR", points, labels, params["noise"], rng, ["same sign", "opposite sign"])


def load_curve(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    import torch
    rng = np.random.default_rng(seed)
    n = params["n_samples"]
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = np.sin(np.pi * params["frequency"] * x) + params["noise"] * rng.standard_normal((n, 1))
    return SourceData("Curve", torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32)),
                      task=REGRESSION)


KINDS = [
    DatasetKindInfo(
        "spirals", "Spirals", GENERATED,
        "2-D points on interleaved spiral arms, one class per arm. Needs a non-linear boundary.",
        (_n_samples(),
         Param("arms", "int", 2, help="Number of spiral arms (= classes).", minimum=2, maximum=12),
         Param("turns", "float", 1.5, help="How many times each arm winds around the centre.",
               minimum=0.25, maximum=5.0),
         _noise(0.05)),
        load_spirals),
    DatasetKindInfo("moons", "Two moons", GENERATED,
                    "2-D points on two interleaving half circles, 2 classes.",
                    (_n_samples(), _noise(0.1)), load_moons),
    DatasetKindInfo(
        "circles", "Circles", GENERATED, "2-D points on two concentric circles, 2 classes.",
        (_n_samples(), _noise(0.05),
         Param("factor", "float", 0.5, help="Radius of the inner circle relative to the outer one.",
               minimum=0.05, maximum=0.95)),
        load_circles),
    DatasetKindInfo("xor", "XOR", GENERATED,
                    "2-D points in the square [-1, 1]², labelled by whether x and y have the same sign.",
                    (_n_samples(), _noise(0.05)), load_xor),
    DatasetKindInfo(
        "curve", "Curve (regression)", GENERATED,
        "Regression: one input x in [-1, 1], one noisy target sin(π·frequency·x).",
        (_n_samples(), _noise(0.1),
         Param("frequency", "float", 1.0, help="The target is sin(π·frequency·x); higher is wigglier.",
               minimum=0.1, maximum=10.0)),
        load_curve),
]
