"""The networks and data the benchmarks measure on (engine code only, no Qt; torch only when training).

- `chain_network(n)` and `canvas_network(n)` (built in `engine.examples`, where every example
  network is): the large networks for shape inference and for the canvas;
- `TRAINING`: the training benchmark's networks by name, each with its data set and batch size:
  ``mlp`` (64-128-64-10 on 8×8 digits-like images, about half a millisecond a step on a laptop
  CPU, so any per-step overhead shows) and ``cnn`` (a LeNet-style CNN on 28×28 shapes);
- `digits_like(path)`: writes the 8×8 digits-like data set (1,797 samples of 10 classes, like
  scikit-learn's digits) as an .npz file the engine's ``npz`` dataset kind reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.examples import canvas_network, chain_network
from engine.graph.document import GraphDocument

if TYPE_CHECKING:
    from engine.data import DatasetConfig

__all__ = ["DEFAULT_CASES", "TRAINING", "TrainingNetwork", "canvas_network", "chain_network", "digits_like",
           "parse_cases", "prepare_data"]

DIGITS_SAMPLES = 1797
DIGITS_SIDE = 8


def digits_like(path: Path, samples: int = DIGITS_SAMPLES, seed: int = 0) -> Path:
    """Write 8×8 grey 'digits' of 10 classes (a stroke pattern per class, jittered and noisy) to `path`."""
    rng = np.random.default_rng(seed)
    side = DIGITS_SIDE
    prototypes = (rng.random((10, side, side)) > 0.6).astype(np.float32) * 16.0
    labels = rng.integers(0, 10, samples)
    shifts = rng.integers(-1, 2, (samples, 2))
    x = np.empty((samples, side, side), np.float32)
    for i, (label, (dy, dx)) in enumerate(zip(labels, shifts)):
        x[i] = np.roll(prototypes[label], (int(dy), int(dx)), axis=(0, 1))
    x = np.clip(x + rng.normal(0.0, 3.0, x.shape), 0.0, 16.0) / 16.0
    np.savez(path, x=x.reshape(samples, side * side).astype(np.float32), y=labels.astype(np.int64))
    return path


@dataclass(frozen=True)
class TrainingNetwork:
    """A benchmark network with its data and the epochs that make a run of about a second."""

    name: str
    batch_size: int
    epochs: int

    def document(self) -> GraphDocument:
        from engine.examples import cnn_document, mlp_document

        if self.name == "mlp":
            return mlp_document(DIGITS_SIDE * DIGITS_SIDE, (128, 64), 10)
        return cnn_document(classes=6)

    def dataset(self, data_dir: str) -> DatasetConfig:
        """All samples train: the limit has no validation, so neither has the engine here."""
        from engine.data import DatasetConfig

        if self.name == "mlp":
            return DatasetConfig("npz", {"path": str(Path(data_dir) / "digits.npz")}, 0.0, 0.0, 0)
        return DatasetConfig("shapes", {"n_samples": 4096}, 0.0, 0.0, 0)


TRAINING = {"mlp": TrainingNetwork("mlp", 64, 40), "cnn": TrainingNetwork("cnn", 64, 4)}


def prepare_data(data_dir: str) -> dict[str, Any]:
    """Write the files the training networks read into `data_dir`."""
    digits_like(Path(data_dir) / "digits.npz")
    return {"data_dir": data_dir}


DEFAULT_CASES = (("mlp", 1), ("mlp", 2), ("cnn", 1), ("cnn", 2))  # (network, torch threads) of the training sections


def parse_cases(text: str | None) -> tuple[tuple[str, int], ...]:
    """``mlp:1,cnn:1,cnn:2`` -> (("mlp", 1), ("cnn", 1), ("cnn", 2)); empty gives the defaults."""
    if not text:
        return DEFAULT_CASES
    cases = []
    for part in text.split(","):
        name, _, threads = part.strip().partition(":")
        if name not in TRAINING:
            raise ValueError(f"unknown network {name!r}; choose from {', '.join(TRAINING)}")
        cases.append((name, int(threads or 1)))
    return tuple(cases)
