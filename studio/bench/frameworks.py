"""The frameworks section: the engine beside Lightning and Keras, when they are installed.

Neither is a dependency: ``pip install layerloom[bench]`` (or ``pip install lightning keras``)
adds them, and a framework that is missing gives a row saying so. Each framework trains the same
network (the same layer sizes, built its own way), on the same data, with Adam at lr 1e-3, the
same batch size, epochs and torch threads, written the way its documentation shows:
Lightning with a `LightningModule` and a shuffled `DataLoader` over a `TensorDataset` (no logger,
progress bar, checkpointing or model summary), Keras 3 on its torch backend with
``model.fit(x, y, shuffle=True)``. Every run is a fresh process, the ways alternate over the
rounds, epochs 2..N are timed, and each row gives framework / engine per round (min, median, max,
spread): above 1 means the engine is faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from typing import Any

from studio.bench.fresh import Spec, interleaved, ratio_stats
from studio.bench.limit import engine_run
from studio.bench.networks import TRAINING, parse_cases, prepare_data

FRAMEWORKS = ("lightning", "keras")


def _arrays(spec: Spec) -> tuple[Any, Any]:
    from engine.data import load_dataset

    data = load_dataset(TRAINING[spec["network"]].dataset(spec["data_dir"]))
    return data.train


def lightning_run(spec: Spec) -> dict[str, Any]:
    """Lightning's documented loop (in a fresh process): seconds for epochs 2..N."""
    import copy
    import logging
    import warnings

    logging.getLogger("lightning").setLevel(logging.ERROR)  # its tips and device banners, not ours to print
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")

    import lightning as L
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from engine.build import build_module

    torch.set_num_threads(spec["threads"])
    net = TRAINING[spec["network"]]
    x, y = _arrays(spec)
    torch.manual_seed(0)
    layers = nn.Sequential(*(copy.deepcopy(m) for m in build_module(net.document()).children()))

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = layers

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            xb, yb = batch
            return nn.functional.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    times: dict[str, float] = {}

    class Timer(L.Callback):
        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            if trainer.current_epoch == 1:
                times["start"] = time.perf_counter()

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            times["end"] = time.perf_counter()

    loader = DataLoader(TensorDataset(x, y), batch_size=net.batch_size, shuffle=True)
    trainer = L.Trainer(max_epochs=spec["epochs"], accelerator="cpu" if spec["device"] == "cpu" else "auto",
                        devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[Timer()])
    trainer.fit(Module(), loader)
    return {"seconds": times["end"] - times["start"]}


def keras_run(spec: Spec) -> dict[str, Any]:
    """Keras 3 on the torch backend (in a fresh process): seconds for epochs 2..N."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import torch

    torch.set_num_threads(spec["threads"])
    net = TRAINING[spec["network"]]
    x, y = _arrays(spec)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(_keras_layers(net.name, tuple(x.shape[1:])))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    times: dict[str, float] = {}

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                times["start"] = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            times["end"] = time.perf_counter()

    xs, ys = x.numpy(), y.numpy()
    if net.name == "cnn":
        xs = xs.transpose(0, 2, 3, 1)  # Keras convolutions take channels last
    model.fit(xs, ys, batch_size=net.batch_size, epochs=spec["epochs"], shuffle=True, verbose=0,
              callbacks=[Timer()])
    return {"seconds": times["end"] - times["start"]}


def _keras_layers(name: str, shape: tuple[int, ...]) -> list[Any]:
    import keras
    from keras import layers

    if name == "mlp":
        return [keras.Input(shape), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"),
                layers.Dense(10)]
    return [keras.Input((shape[1], shape[2], shape[0])), layers.Conv2D(8, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2), layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(6)]


RUNNERS = {"lightning": lightning_run, "keras": keras_run}


def installed(framework: str) -> bool:
    return importlib.util.find_spec(framework) is not None


def bench_frameworks(cases: tuple[tuple[str, int], ...], rounds: int = 8,
                     scale: float = 1.0) -> list[dict[str, Any]]:
    """Each installed framework against the engine, one row per framework, network and threads."""
    rows: list[dict[str, Any]] = []
    present = [f for f in FRAMEWORKS if installed(f)]
    rows += [{"framework": f, "error": f"not installed (pip install {f}, or layerloom[bench])"}
             for f in FRAMEWORKS if f not in present]
    if not present:
        return rows
    with tempfile.TemporaryDirectory(prefix="layerloom-bench-") as data_dir:
        prepare_data(data_dir)
        for name, threads in cases:
            net = TRAINING[name]
            spec = {"network": name, "threads": threads, "device": "cpu", "data_dir": data_dir,
                    "epochs": max(2, round(net.epochs * scale))}
            contestants = [("engine", engine_run, spec), *((f, RUNNERS[f], spec) for f in present)]
            results = interleaved(contestants, rounds)
            engine = [r["seconds"] for r in results["engine"]]
            for framework in present:
                other = [r["seconds"] for r in results[framework]]
                rows.append({"framework": framework, "network": name, "threads": threads, "rounds": rounds,
                             "framework_s": round(statistics.median(other), 4),
                             "engine_s": round(statistics.median(engine), 4), **ratio_stats(other, engine)})
    return rows


def run_section(args: argparse.Namespace) -> list[dict[str, Any]]:
    return bench_frameworks(parse_cases(args.cases), args.rounds, args.scale)
