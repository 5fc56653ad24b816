"""Setting a checked job up on a device: the data loaded, the module built, everything seeded.

`check_job(job)` loads the dataset and runs the pre-flight (`engine.train.preflight`) with its
summary; it returns a `CheckedJob` or the `StartProblem`s, with node ids. `build_setup` turns a
checked job into a `TrainSetup` on a device: seeded module, loss, optimiser, schedule, batches.
The module starts from the project's initial weights where the job has them, and its frozen
nodes stay out of the optimiser (`engine.train.fine_tune`); what that did is in the setup's notes.
This is the first stage that needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.build import build_module
from engine.data.augment import make_augmenter
from engine.data.config import DatasetSplits
from engine.data.errors import DatasetError
from engine.data.loader import load_dataset
from engine.graph.analysis import Analysis, analyze
from engine.train.batches import make_batches, nbytes
from engine.train.device import Precision
from engine.train.fine_tune import freeze, load_initial_weights, trainable_parameters
from engine.train.job import TrainingJob
from engine.train.objective import MetricSums, make_loss
from engine.train.optim import LRSchedule, make_optimizer
from engine.train.preflight import DATASET, StartProblem, inputs_and_outputs, preflight
from engine.train.trainer import TrainSetup

PROBE_SAMPLES = 16


@dataclass
class CheckedJob:
    """A job that passed `check_job`, with what the checks produced."""

    job: TrainingJob
    analysis: Analysis
    data: DatasetSplits
    input_id: str
    output_id: str


def check_job(job: TrainingJob) -> tuple[CheckedJob | None, list[StartProblem]]:
    """Load the data and run the pre-flight with it; (checked job, []) or (None, problems)."""
    doc = job.document
    analysis = analyze(doc)
    try:
        data = load_dataset(job.dataset, job.base_dir)
    except DatasetError as exc:
        problems = preflight(doc, job.dataset.to_json(), job.settings, analysis)
        return None, [*problems, StartProblem(f"dataset: {exc}", None, DATASET)]
    problems = preflight(doc, job.dataset.to_json(), job.settings, analysis, data.summary)
    if problems:
        return None, problems
    inputs, outputs = inputs_and_outputs(doc)
    return CheckedJob(job, analysis, data, inputs[0].id, outputs[0].id), []


def build_setup(checked: CheckedJob, device: torch.device, rank: int = 0, world: int = 1) -> TrainSetup:
    """Build the network and everything around it on `device` (seeded, so every rank starts alike)."""
    job, s = checked.job, checked.job.settings
    summary = checked.data.summary
    torch.manual_seed(s.seed)
    module = build_module(job.document, checked.analysis)
    notes = _start_weights(checked, module)
    module = module.to(device)
    model: nn.Module = module
    if world > 1:
        model = nn.parallel.DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda"
                                                    else None)
    x, y = checked.data.train
    batches = make_batches(x, y, s.batch_size, device, s.seed, s.data.resident_limit_mb, s.data.num_workers,
                           rank, world)
    optimizer = make_optimizer(trainable_parameters(module), s.optimizer, device)
    schedule = LRSchedule(optimizer, s.optimizer.lr, s.schedule, s.epochs, batches.steps_per_epoch)
    augment = None
    if s.augment.enabled:
        augment = make_augmenter(s.augment, summary.input_shape, seed=s.seed + rank)
    return TrainSetup(
        model=model, module=module, loss_fn=make_loss(s, summary.task, summary.num_classes),
        optimizer=optimizer,
        schedule=schedule, batches=batches, val=_resident(checked.data.val, device, s.data.resident_limit_mb),
        test=_resident(checked.data.test, device, s.data.resident_limit_mb), settings=s,
        precision=Precision.create(s.precision, device), device=device, task=summary.task,
        num_classes=summary.num_classes, names=job.names, augment=augment,
        reduce=_all_reduce if world > 1 else None, agree=_agree if world > 1 else None, world=world,
        notes=notes)


def _start_weights(checked: CheckedJob, module: nn.Module) -> list[str]:
    """Load the job's initial weights and freeze its frozen nodes (before DDP wraps the module)."""
    notes: list[str] = []
    if checked.job.initial_weights is not None:
        notes += load_initial_weights(module, checked.job.initial_weights).lines()
    frozen = freeze(checked.job.document, module)
    notes += frozen.lines()
    if frozen.paths and not any(True for _ in trainable_parameters(module)):
        raise FrozenNetworkError("every weight of the network is frozen: unfreeze a node to train")
    return notes


class FrozenNetworkError(ValueError):
    """Nothing is left to train."""


def _resident(pair: tuple[torch.Tensor, torch.Tensor], device: torch.device,
              limit_mb: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Small evaluation splits move to the device once; big ones stay on the host."""
    if nbytes(*pair) <= limit_mb * 2**20:
        return pair[0].to(device), pair[1].to(device)
    return pair


def probe_inputs(checked: CheckedJob, device: torch.device) -> tuple[torch.Tensor, ...]:
    """The fixed batch that feature maps are captured for: the first validation samples."""
    x = checked.data.val[0] if len(checked.data.val[0]) else checked.data.train[0]
    return (x[:PROBE_SAMPLES].to(device),)


def _all_reduce(sums: MetricSums) -> None:
    """Sum the training metrics of all ranks (every rank then reports the same numbers)."""
    import torch.distributed as dist

    packed = torch.stack([sums.loss.double(), sums.correct.double(), sums.top_correct.double(),
                          sums.abs_error.double(),
                          torch.tensor(float(sums.batches), dtype=torch.float64, device=sums.loss.device),
                          torch.tensor(float(sums.samples), dtype=torch.float64, device=sums.loss.device),
                          torch.tensor(float(sums.elements), dtype=torch.float64, device=sums.loss.device)])
    dist.all_reduce(packed)
    loss, correct, top, abs_error, batches, samples, elements = packed.tolist()
    sums.loss.fill_(loss)
    sums.correct.fill_(int(correct))
    sums.top_correct.fill_(int(top))
    sums.abs_error.fill_(abs_error)
    sums.batches, sums.samples, sums.elements = int(batches), int(samples), int(elements)


def _agree(flag: bool) -> bool:
    """Rank 0's value of `flag` on every rank (so all ranks stop at the same epoch)."""
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.broadcast(value, src=0)
    return bool(value.item())
