"""Generated sequence tasks: noisy waveforms, token parity, and copy-the-first-token.

- ``waveforms``: float sequences (L, 1) of a sine, square, sawtooth or triangle
  wave with random frequency, phase and amplitude plus noise; the class is the
  wave form.
- ``parity``: int64 token ids (L,) of 0s and 1s; the class is whether the
  number of 1s is even or odd. Every token matters, so it needs memory.
- ``copy_first``: int64 token ids (L,) over K symbols; the class is the first
  token, which a left-to-right recurrent network must carry over L steps. With
  the defaults an LSTM goes from chance (1/K) to near 100% within about ten
  epochs of the 2000 samples.

All are drawn with numpy from the seed alone, vectorised over samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.kind import GENERATED, DatasetKindInfo
from engine.data.source import SourceData, classification
from engine.layers.spec import Param

WAVES = ["sine", "square", "sawtooth", "triangle"]


def _waves(kind: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Rows of unit-amplitude waves; `cycles` is the phase in whole cycles, shape (N, L)."""
    frac = cycles - np.floor(cycles)
    sine = np.sin(2 * np.pi * cycles)
    square = np.where(sine >= 0, 1.0, -1.0)
    shapes = np.stack([sine, square, 2.0 * frac - 1.0, 1.0 - 4.0 * np.abs(frac - 0.5)])
    return shapes[kind, np.arange(len(kind))]


def load_waveforms(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    n, length = params["n_samples"], params["seq_len"]
    labels = np.arange(n, dtype=np.int64) % len(WAVES)
    per_sequence = rng.uniform(1.5, 4.0, (n, 1))
    cycles = per_sequence * np.arange(length)[None, :] / length + rng.uniform(0.0, 1.0, (n, 1))
    amplitude = rng.uniform(0.6, 1.2, (n, 1))
    x = amplitude * _waves(labels, cycles) + params["noise"] * rng.standard_normal((n, length))
    return classification("Waveforms", x[:, :, None].astype(np.float32), labels, list(WAVES))


def load_parity(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 2, (params["n_samples"], params["seq_len"]), dtype=np.int64)
    return classification("Parity", tokens, tokens.sum(axis=1) % 2, ["even", "odd"], vocab_size=2)


def load_copy_first(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    rng = np.random.default_rng(seed)
    symbols = params["symbols"]
    tokens = rng.integers(0, symbols, (params["n_samples"], params["seq_len"]), dtype=np.int64)
    return classification("Copy first token", tokens, tokens[:, 0].copy(),
                          [f"token {i}" for i in range(symbols)], vocab_size=symbols)


def _n_samples() -> Param:
    return Param("n_samples", "int", 2000, help="How many sequences to generate in all.",
                 minimum=10, maximum=1_000_000)


def _seq_len(default: int) -> Param:
    return Param("seq_len", "int", default, help="Length of each sequence (time steps).",
                 minimum=2, maximum=4096)


KINDS = [
    DatasetKindInfo(
        "waveforms", "Waveforms", GENERATED,
        "Noisy sine, square, sawtooth and triangle waves of random frequency, phase and amplitude; "
        "input is a sequence of seq_len steps of 1 value.",
        (_n_samples(), _seq_len(64),
         Param("noise", "float", 0.2, help="Standard deviation of the noise added to each step.",
               minimum=0.0, maximum=2.0)),
        load_waveforms),
    DatasetKindInfo(
        "parity", "Parity", GENERATED,
        "Token ids 0/1; the label is whether the sequence holds an even or odd number of 1s. "
        "Use an Embedding with at least 2 entries. An LSTM learns length 6 in seconds; every step longer "
        "makes it much harder.",
        (_n_samples(), _seq_len(6)), load_parity),
    DatasetKindInfo(
        "copy_first", "Copy first token", GENERATED,
        "Token ids over `symbols` symbols; the label is the first token, so a recurrent network must "
        "remember it for seq_len steps. Use an Embedding with at least `symbols` entries.",
        (_n_samples(), _seq_len(10),
         Param("symbols", "int", 4, help="How many different tokens (= classes).", minimum=2, maximum=256)),
        load_copy_first),
]
