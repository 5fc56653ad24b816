"""Batches for the training loop: resident on the device, or streamed through a DataLoader.

A data set smaller than the resident limit (256 MB by default) is copied to the training
device once; each epoch draws one shuffled permutation there (`torch.randperm` on the device) and
every batch is two `index_select`s: no DataLoader, no per-step host work. `batch_at` gives a
batch of the current epoch again, so a failure can be diagnosed on the batch that caused it. Bigger data sets stay on
the host and stream through a `DataLoader` that fetches whole batches at once (``__getitems__``),
with worker processes, pinned memory and non-blocking copies.

Both shard for data-parallel training: every rank draws the same permutation (same seed, same
epoch) and takes every world_size-th index, trimmed so all ranks run the same number of steps.
A last batch of a single sample is dropped (BatchNorm cannot train on one sample).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

Batch = tuple[torch.Tensor, torch.Tensor]


class Batches(Protocol):
    steps_per_epoch: int
    samples_per_epoch: int

    def epoch(self, epoch: int) -> Iterator[Batch]: ...


def nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _shard_size(n: int, world: int) -> int:
    return n // world if world > 1 else n


def _steps(n: int, batch_size: int) -> int:
    steps = -(-n // batch_size)
    if steps > 1 and n % batch_size == 1:
        steps -= 1
    return max(steps, 1) if n else 0


class ResidentBatches:
    """Shuffled batches of tensors that live on the training device."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device, seed: int,
                 rank: int = 0, world: int = 1) -> None:
        self.x = x.to(device)
        self.y = y.to(device)
        self.device = device
        self.batch_size = batch_size
        self.rank, self.world = rank, world
        self.samples_per_epoch = _shard_size(len(x), world)
        self.steps_per_epoch = _steps(self.samples_per_epoch, batch_size)
        self._on_device = device.type in ("cpu", "cuda")  # randperm with a generator runs there
        self._generator = torch.Generator(device=device if self._on_device else "cpu").manual_seed(seed)
        self._order = torch.arange(0)

    def order(self) -> torch.Tensor:
        n = len(self.x)
        if self._on_device:
            order = torch.randperm(n, device=self.device, generator=self._generator)
        else:
            order = torch.randperm(n, generator=self._generator).to(self.device)
        if self.world > 1:
            order = order[self.rank::self.world][: self.samples_per_epoch]
        return order

    def epoch(self, epoch: int) -> Iterator[Batch]:
        order, bs, x, y = self.order(), self.batch_size, self.x, self.y
        self._order = order
        for i in range(self.steps_per_epoch):
            idx = order[i * bs:(i + 1) * bs]
            yield x.index_select(0, idx), y.index_select(0, idx)

    def batch_at(self, step: int) -> Batch:
        """Batch number `step` of the current epoch again (to diagnose a failure)."""
        idx = self._order[step * self.batch_size:(step + 1) * self.batch_size]
        return self.x.index_select(0, idx), self.y.index_select(0, idx)


class _IndexedTensors(Dataset):
    """Host tensors that hand out whole batches by index list (one gather per batch)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> Batch:
        return self.x[i], self.y[i]

    def __getitems__(self, indices: list[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return self.x.index_select(0, idx), self.y.index_select(0, idx)


class _ShardSampler(Sampler[int]):
    def __init__(self, n: int, seed: int, rank: int, world: int, limit: int) -> None:
        self.n, self.seed, self.rank, self.world, self.limit = n, seed, rank, world, limit
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        return iter(order[self.rank::self.world][: self.limit].tolist())

    def __len__(self) -> int:
        return self.limit


def _keep(batch: Batch) -> Batch:
    return batch


class StreamedBatches:
    """Shuffled batches read from host tensors by a DataLoader and copied to the device."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device, seed: int,
                 num_workers: int = 0, rank: int = 0, world: int = 1) -> None:
        self.device = device
        self.samples_per_epoch = _shard_size(len(x), world)
        self.steps_per_epoch = _steps(self.samples_per_epoch, batch_size)
        self.sampler = _ShardSampler(len(x), seed, rank, world, self.samples_per_epoch)
        drop_last = self.steps_per_epoch * batch_size < self.samples_per_epoch
        self.loader = DataLoader(_IndexedTensors(x, y), batch_size=batch_size, sampler=self.sampler,
                                 num_workers=num_workers, collate_fn=_keep, drop_last=drop_last,
                                 pin_memory=device.type == "cuda", persistent_workers=num_workers > 0)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        self.sampler.epoch = epoch
        non_blocking = self.device.type == "cuda"
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=non_blocking), y.to(self.device, non_blocking=non_blocking)


def make_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device, seed: int,
                 resident_limit_mb: float, num_workers: int = 0, rank: int = 0, world: int = 1) -> Batches:
    """Resident batches when the data fits under the limit, else streamed ones."""
    if nbytes(x, y) <= resident_limit_mb * 2**20:
        return ResidentBatches(x, y, batch_size, device, seed, rank, world)
    return StreamedBatches(x, y, batch_size, device, seed, num_workers, rank, world)


def eval_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[Batch]:
    """Batches in order for evaluation; `x` and `y` may live on the host or the device."""
    non_blocking = device.type == "cuda" and x.device.type == "cpu"
    for i in range(0, len(x), batch_size):
        yield (x[i:i + batch_size].to(device, non_blocking=non_blocking),
               y[i:i + batch_size].to(device, non_blocking=non_blocking))
