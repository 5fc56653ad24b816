"""How much the engine costs: the same training as a plain hand-written PyTorch loop, timed.

`bench_training(device)` trains an MLP and a CNN on the same generated images (the shapes data
set) three ways, interleaved and repeated: a plain loop (resident tensors, randperm +
index_select, loss and correct counts summed on the device, a validation pass each epoch), the
engine with full telemetry (step messages, feature maps of one node every 0.5 s, statistics every
2 s, confusion matrices and sample predictions, all encoded and written to a real pipe by the
worker's sender thread while a thread on the other end reads them), and the engine with telemetry
off. All three use the same network (the plain loop runs an `nn.Sequential` of copies of the
engine's built layers with the same initial weights), data, seed, batch size, number of steps
and torch threads; the first epoch is a warm-up and is not timed. Each row gives the best time of
the repeats for each way; ``ratio`` is the median over the repeats of engine / plain for runs made
back to back (target ≤ 1.05), ``ratio_of_best`` the best engine time over the best plain time, and
``telemetry_cost`` the median of engine with telemetry / engine without − 1.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from engine.build import build_module
from engine.data import DatasetConfig, DatasetSplits, load_dataset
from engine.graph.document import GraphDocument
from engine.runner import FrameSender
from engine.train.callbacks import Callback, EpochRecord
from engine.train.device import resolve_device, synchronize
from engine.train.job import TrainingJob
from engine.train.networks import cnn_document, image_mlp_document
from engine.train.session import run_job
from engine.train.settings import TrainingSettings
from engine.train.trainer import EVAL_BATCH_FACTOR, Trainer


class _EpochTimer(Callback):
    """Times epochs 2..N (the first is a warm-up), waiting for the device at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.start, self.end = device, 0.0, 0.0

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if epoch == 1:
            synchronize(self.device)
            self.start = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        synchronize(self.device)
        self.end = time.perf_counter()


def _pipe_sink() -> tuple[Callable[[dict[str, Any]], None], Callable[[], int]]:
    """A sink that sends frames through a real pipe (as the worker does) to a reading thread."""
    reader, writer = mp.Pipe(duplex=False)
    sender = FrameSender(writer.send_bytes)
    received = [0]

    def drain() -> None:
        try:
            while True:
                reader.recv_bytes()
                received[0] += 1
        except (EOFError, OSError):
            pass

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()

    def close() -> int:
        sender.close()
        writer.close()
        thread.join(5.0)
        reader.close()
        return received[0]

    return sender.send, close


def _engine_time(doc: GraphDocument, dataset: DatasetConfig, settings: TrainingSettings,
                 telemetry: bool) -> tuple[float, int]:
    s = settings.copy()
    s.telemetry.enabled = telemetry
    s.probes = [_probe_node(doc)] if telemetry else []
    device = resolve_device(s.device)
    timer = _EpochTimer(device)
    sink, close = _pipe_sink() if telemetry else (_ignore, lambda: 0)
    result = run_job(TrainingJob(doc, dataset, s, "bench"), sink, callbacks=[timer])
    messages = close()
    if result.status != "completed":
        raise RuntimeError(f"the engine's benchmark run {result.status}: {result.problems or result.failure}")
    return timer.end - timer.start, messages


def _ignore(message: dict[str, Any]) -> None:
    """Telemetry off: the reporter still exists but sends only lifecycle messages."""


def _probe_node(doc: GraphDocument) -> str:
    return next(n.id for n in doc.nodes.values() if n.type_id in ("Conv2d", "Linear"))


def _plain_time(doc: GraphDocument, data: DatasetSplits, s: TrainingSettings) -> float:
    """The same training as a plain loop a person would write."""
    device = resolve_device(s.device)
    torch.manual_seed(s.seed)
    model = nn.Sequential(*(copy.deepcopy(m) for m in build_module(doc).children())).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.optimizer.lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = (t.to(device) for t in data.train)
    vx, vy = (t.to(device) for t in data.val)
    generator = torch.Generator(device=device).manual_seed(s.seed)
    bs, n = s.batch_size, len(x)
    start = 0.0
    for epoch in range(s.epochs):
        if epoch == 1:
            synchronize(device)
            start = time.perf_counter()
        model.train()
        order = torch.randperm(n, device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        for i in range(-(-n // bs)):
            idx = order[i * bs:(i + 1) * bs]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            correct += (out.detach().argmax(-1) == yb).sum()
        _plain_validate(model, loss_fn, vx, vy, bs * EVAL_BATCH_FACTOR)
        float(loss_sum), int(correct)  # the epoch's numbers reach the host, as the engine's do
    synchronize(device)
    return time.perf_counter() - start


def _plain_validate(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor, bs: int) -> None:
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out = model(x[i:i + bs])
            loss_sum += loss_fn(out, y[i:i + bs])
            correct += (out.argmax(-1) == y[i:i + bs]).sum()
    float(loss_sum), int(correct)


def _settings(device: str, epochs: int, batch_size: int, threads: int) -> TrainingSettings:
    """The same settings for every way of training (Adam, lr 1e-3, seed 0)."""
    s = TrainingSettings(epochs=epochs, batch_size=batch_size, device=device, cpu_threads=threads, seed=0)
    s.optimizer.lr = 1e-3
    return s


# name, network, batch size, epochs
NETWORKS = (("mlp", image_mlp_document, 128, 20), ("cnn", cnn_document, 64, 6))


def bench_training(device: str = "cpu", repeats: int = 5, samples: int = 8192, threads: int | None = None,
                   scale: float = 1.0) -> list[dict[str, Any]]:
    """Time plain PyTorch against the engine for an MLP and a CNN; one row per network.

    Args:
        repeats: runs of each way, interleaved; the best time of each counts.
        samples: size of the generated data set (70% of it trains).
        threads: torch CPU threads for every run (default: torch's current setting).
        scale: multiplies each network's epochs (20 for the MLP, 6 for the CNN: a few seconds each on
            a laptop CPU, long enough that the periodic telemetry is paid at its real rate).
    """
    previous_threads = torch.get_num_threads()
    threads = threads or previous_threads
    torch.set_num_threads(threads)  # the plain loop runs with the same threads as the engine's runs
    try:
        return _bench(device, repeats, samples, threads, scale)
    finally:
        torch.set_num_threads(previous_threads)


def _bench(device: str, repeats: int, samples: int, threads: int, scale: float) -> list[dict[str, Any]]:
    dataset = DatasetConfig("shapes", {"n_samples": samples}, 0.15, 0.15, 0)
    data = load_dataset(dataset)
    rows = []
    for name, network, batch_size, base_epochs in NETWORKS:
        doc = network()
        epochs = max(2, round(base_epochs * scale))
        s = _settings(device, epochs, batch_size, threads)
        times: dict[str, list[float]] = {"plain": [], "engine": [], "engine_no_telemetry": []}
        messages = 0
        for _ in range(repeats):
            times["plain"].append(_plain_time(doc, data, s))
            elapsed, messages = _engine_time(doc, dataset, s, telemetry=True)
            times["engine"].append(elapsed)
            times["engine_no_telemetry"].append(_engine_time(doc, dataset, s, telemetry=False)[0])
        best = {k: min(v) for k, v in times.items()}
        steps = (epochs - 1) * -(-len(data.train[0]) // batch_size)
        # On a shared machine the load drifts between runs; the ratio of each interleaved pair (run
        # back to back) cancels that drift, and the median of the pairs ignores one unlucky pair.
        paired = [e / p for e, p in zip(times["engine"], times["plain"])]
        telemetry_paired = [e / n - 1.0 for e, n in zip(times["engine"], times["engine_no_telemetry"])]
        rows.append({"network": name, "device": device, "threads": threads, "batch_size": batch_size,
                     "timed_steps": steps, "plain_s": best["plain"], "engine_s": best["engine"],
                     "engine_no_telemetry_s": best["engine_no_telemetry"],
                     "ratio": statistics.median(paired),
                     "ratio_of_best": best["engine"] / best["plain"],
                     "telemetry_cost": statistics.median(telemetry_paired),
                     "telemetry_messages": messages})
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The benchmark as a small text table."""
    lines = [f"{'network':8} {'device':6} {'steps':>6} {'plain s':>8} {'engine s':>9} {'ratio':>6} "
             f"{'telemetry':>9}"]
    for r in rows:
        lines.append(f"{r['network']:8} {r['device']:6} {r['timed_steps']:6d} {r['plain_s']:8.3f} "
                     f"{r['engine_s']:9.3f} {r['ratio']:6.3f} {r['telemetry_cost'] * 100:8.1f}%")
    return "\n".join(lines)
