"""Shared pieces of the training tests: the training UI fixture, small example projects, a scripted run.

The fixtures here are imported by the ``test_training_*`` and ``test_panels_*`` modules (this
module holds no tests itself).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool

from engine.project import load_project
from engine.resources import example_path


def small_example(name: str = "lenet5", samples: int = 600, epochs: int = 2, **training: Any) -> Any:
    """A bundled example with a small dataset and few epochs (tests stay fast on two cores)."""
    project = load_project(example_path(name))
    project.dataset["params"]["n_samples"] = samples
    project.training.update(epochs=epochs, **training)
    project.training.setdefault("telemetry", {}).update(feature_map_interval=0.05, stats_interval=0.2)
    return project


@pytest.fixture(name="training")
def training_fixture(window, qtbot):
    """The main window's training UI (installed here until MainWindow installs it itself)."""
    ui = window.training
    ui.preview.want()  # as when a person opens the Dataset or Training panel
    yield ui
    ui.shutdown()
    QThreadPool.globalInstance().waitForDone(60_000)


def open_small(window, qtbot, ui, name: str = "lenet5", **kwargs: Any) -> Any:
    """Open a small example and wait for its dataset preview."""
    project = small_example(name, **kwargs)
    window.open_project(project)
    window.controller.flush_analysis()
    qtbot.waitUntil(lambda: ui.preview.result is not None or bool(ui.preview.error), timeout=60_000)
    return project


# ---- a scripted run: prepared messages, no worker -------------------------------------------------
class ScriptedRun:
    """A client that hands out one prepared batch of messages per poll, like a very fast worker."""

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = list(batches)
        self.commands: list[tuple[str, Any]] = []
        self.finished: dict[str, Any] | None = None
        self.closed = False
        self.alive = False

    def poll(self) -> list[dict[str, Any]]:
        batch = self.batches.pop(0) if self.batches else []
        for m in batch:
            if m["type"] == "finished":
                self.finished = m
        return batch

    def pause(self) -> None:
        self.commands.append(("pause", None))

    def resume(self) -> None:
        self.commands.append(("resume", None))

    def stop(self) -> None:
        self.commands.append(("stop", None))

    def set_probes(self, nodes: list[str]) -> None:
        self.commands.append(("set_probes", list(nodes)))

    def record(self) -> None:
        return None

    def run_files(self) -> dict[str, bytes]:
        return {}

    def close(self) -> None:
        self.closed = True


def message(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "run_id": "scripted", "time": time.time(), **fields}


def started(epochs: int = 3, steps: int = 10, probes: tuple[str, ...] = ("conv1",)) -> dict[str, Any]:
    return message("run_started", settings={}, device="cpu", parameter_count=1000, dataset={}, epochs=epochs,
                   steps_per_epoch=steps, probes=list(probes), network={})


def step(i: int, steps: int = 10) -> dict[str, Any]:
    epoch, k = divmod(i, steps)
    return message("step", step=i, epoch=epoch, loss=1.0 / (1 + i), lr=1e-3, samples_per_s=5000.0 + i,
                   epoch_fraction=(k + 1) / steps)


def epoch(e: int, accuracy: float = 0.5) -> dict[str, Any]:
    return message("epoch", epoch=e, train={"loss": 1.0 / (e + 1), "accuracy": accuracy},
                   val={"loss": 1.2 / (e + 1), "accuracy": accuracy - 0.05}, lr=1e-3, seconds=0.5, best=True,
                   eta_s=3.0)


def stats(kind: str, node: str, i: int, rng: np.random.Generator) -> dict[str, Any]:
    def one() -> dict[str, Any]:
        return {"norm": float(rng.uniform(0.01, 2.0)), "mean": 0.0, "std": 0.1, "min": -0.3, "max": 0.3,
                "hist": rng.integers(0, 50, 32).astype(np.float32), "edges": [-0.3, 0.3]}

    return message(kind, node_id=node, step=i, params={"weight": one(), "bias": one()})


def feature_maps(node: str, i: int, rng: np.random.Generator, channels: int = 32, side: int = 64) -> dict[str, Any]:
    maps = rng.standard_normal((channels, side, side)).astype(np.float16)
    return message("feature_maps", node_id=node, step=i, maps=maps, shape=[channels, side, side])


CLASSES = ["circle", "square", "triangle", "cross", "ring", "line"]


def confusion(e: int, rng: np.random.Generator) -> dict[str, Any]:
    return message("confusion_matrix", split="val", epoch=e, matrix=rng.integers(0, 30, (6, 6)), class_names=CLASSES)


def predictions(e: int, rng: np.random.Generator) -> dict[str, Any]:
    return message("sample_predictions", epoch=e, inputs=rng.integers(0, 255, (16, 28, 28, 1), dtype=np.uint8),
                   true=[int(v) for v in rng.integers(0, 6, 16)], predicted=[int(v) for v in rng.integers(0, 6, 16)],
                   class_names=CLASSES)


def finished(status: str = "completed", epochs: int = 3) -> dict[str, Any]:
    return message("finished", status=status, epochs=epochs, best={"val_loss": 0.4, "val_accuracy": 0.9}, last={},
                   test={}, weights={})


PARAM_NODES = ("conv1", "conv2", "fc1", "fc2", "fc3")
RELU_NODES = ("relu1", "relu2", "relu3", "relu4")


def firehose(polls: int = 150, steps_per_poll: int = 30, seed: int = 0) -> list[list[dict[str, Any]]]:
    """Far more telemetry than a worker sends: every poll carries 30 steps, the largest feature maps
    of two nodes, statistics of every node; every tenth an epoch, a confusion matrix and predictions."""
    rng = np.random.default_rng(seed)
    steps = 10 * steps_per_poll
    batches: list[list[dict[str, Any]]] = [[started(epochs=polls // 10 + 1, steps=steps)]]
    for p in range(polls):
        i0 = p * steps_per_poll
        batch = [step(i0 + k, steps) for k in range(steps_per_poll)]
        batch += [feature_maps(n, i0, rng) for n in ("conv1", "relu1")]
        for node in PARAM_NODES:
            batch += [stats("weight_stats", node, i0, rng), stats("grad_stats", node, i0, rng)]
        batch += [message("activation_stats", node_id=n, step=i0, mean=0.1, std=0.2,
                          dead_fraction=float(rng.uniform())) for n in RELU_NODES]
        if p % 10 == 9:
            e = p // 10
            batch += [epoch(e), confusion(e, rng), predictions(e, rng)]
            batch.append(message("log", text=f"epoch {e} done", level="info"))
        batches.append(batch)
    batches.append([finished(epochs=polls // 10)])
    return batches
