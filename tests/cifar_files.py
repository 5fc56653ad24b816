"""CIFAR-10 batch folders for tests: a tiny genuine-looking one, and one whose pickle would run a command.

Imported by engine and studio tests (``tests/`` is on the import path through the root conftest).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from engine.data.torchvision_sets import CIFAR_FOLDER, CIFAR_TRAIN


class RunsACommand:
    """Unpickling this calls os.system: what a crafted dataset file does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def write_cifar(root: Path, per_batch: int = 20, protocol: int = 2, evil_marker: Path | None = None) -> Path:
    """A `cifar-10-batches-py` folder under `root` with `per_batch` random images per batch file.

    With `evil_marker`, the first training batch's payload would create that file when unpickled.
    """
    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in (*CIFAR_TRAIN, "test_batch"):
        entry = {"batch_label": name, "labels": [int(v) for v in rng.integers(0, 10, per_batch)],
                 "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "filenames": [f"img{i}.png" for i in range(per_batch)]}
        if evil_marker is not None and name == CIFAR_TRAIN[0]:
            entry["data"] = RunsACommand(f"touch {evil_marker}")
        (folder / name).write_bytes(pickle.dumps(entry, protocol=protocol))
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                            "truck"], "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return folder
