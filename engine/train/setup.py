"""Setting a checked job up on a device: the data loaded, the module built, everything seeded.

`check_job(job)` loads the dataset and runs the pre-flight (`engine.train.preflight`) with its
summary; it returns a `CheckedJob` or the `StartProblem`s, with node ids. `build_setup` turns a
checked job into a `TrainSetup` on a device: seeded module, loss, optimiser, schedule, batches.
The module starts from the project's initial weights where the job has them, and its frozen
nodes stay out of the optimiser (`engine.train.fine_tune`); what that did is in the setup's notes.
This is the first stage that needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
from engine.train.recipes.declared import AUTOENCODER, GAN, SUPERVISED, VAE
from engine.train.recipes.runtime import make_recipe
from engine.train.recipes.structure import noise_nodes
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
    val_labels: torch.Tensor | None = None  # the validation classes, kept when a recipe replaces the targets


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
    labels = data.val[1] if data.summary.task == "classification" else None
    if job.settings.recipe.kind in (AUTOENCODER, VAE):  # the target is the input (the same tensors)
        data = replace(data, train=(data.train[0], data.train[0]), val=(data.val[0], data.val[0]),
                       test=(data.test[0], data.test[0]))
    return CheckedJob(job, analysis, data, inputs[0].id, outputs[0].id, labels), []


def build_setup(checked: CheckedJob, device: torch.device, rank: int = 0, world: int = 1) -> TrainSetup:
    """Build the network and everything around it on `device` (seeded, so every rank starts alike)."""
    job, s = checked.job, checked.job.settings
    summary = checked.data.summary
    torch.manual_seed(s.seed)
    module = build_module(job.document, checked.analysis)
    notes = _start_weights(checked, module)
    module = module.to(device)
    model: nn.Module = module
    if world > 1 and s.recipe.kind == GAN:
        raise ValueError("the gan recipe trains in one process; start it without --nproc")
    if world > 1:
        model = nn.parallel.DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda"
                                                    else None)
    x, y = checked.data.train
    batches = make_batches(x, y, s.batch_size, device, s.seed, s.data.resident_limit_mb, s.data.num_workers,
                           rank, world)
    precision = Precision.create(s.precision, device)
    recipe = make_recipe(job.document, checked.analysis, module, s, device, precision, batches.steps_per_epoch,
                         checked.val_labels)
    optimizer = recipe.optimizer if recipe is not None and recipe.optimizer is not None else \
        make_optimizer(trainable_parameters(module), s.optimizer, device)
    schedule = recipe.schedule if recipe is not None and recipe.schedule is not None else \
        LRSchedule(optimizer, s.optimizer.lr, s.schedule, s.epochs, batches.steps_per_epoch)
    augment = None
    if s.augment.enabled:
        augment = make_augmenter(s.augment, summary.input_shape, seed=s.seed + rank)
    if recipe is not None and recipe.wrap_augment is not None:  # autoencoders: targets and denoising noise
        augment = recipe.wrap_augment(augment)
    supervised = s.recipe.kind == SUPERVISED
    task = summary.task if supervised else "regression"  # what the metrics compare: reconstructions
    loss_fn = recipe.loss if recipe is not None and recipe.loss is not None else \
        make_loss(s, summary.task, summary.num_classes)
    return TrainSetup(
        model=model, module=module, loss_fn=loss_fn, optimizer=optimizer,
        schedule=schedule, batches=batches, val=_resident(checked.data.val, device, s.data.resident_limit_mb),
        test=_resident(checked.data.test, device, s.data.resident_limit_mb), settings=s,
        precision=precision, device=device, task=task,
        num_classes=summary.num_classes if supervised else None, names=job.names, augment=augment,
        reduce=_all_reduce if world > 1 else None, agree=_agree if world > 1 else None, world=world,
        recipe=recipe, notes=notes)



def _start_weights(checked: CheckedJob, module: nn.Module) -> list[tuple[str, str]]:
    """Load the job's initial weights and freeze its frozen nodes (before DDP wraps the module); the log lines
    that say what was done, each with its level."""
    notes: list[tuple[str, str]] = []
    if checked.job.initial_weights is not None and not checked.job.start_from:  # a fork starts from its parent's
        loaded = load_initial_weights(module, checked.job.initial_weights)
        # weights that no longer fit are a warning: the person meant to start from them
        notes += [(line, "info" if loaded.complete else "warning") for line in loaded.lines()]
    frozen = freeze(checked.job.document, module)
    notes += [(line, "info") for line in frozen.lines()]
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
    """The fixed batch that feature maps are captured for: the first validation samples (and, for a
    GAN's generator, a fixed noise batch), in the order of the network's inputs."""
    x = checked.data.val[0] if len(checked.data.val[0]) else checked.data.train[0]
    samples = x[:PROBE_SAMPLES].to(device)
    doc = checked.job.document
    noise = noise_nodes(doc)
    if not noise:
        return (samples,)
    shape = tuple(noise[0].params["shape"])
    z = torch.randn((len(samples), *shape), generator=torch.Generator().manual_seed(0)).to(device)
    order = [n.id for n in doc.nodes.values() if doc.spec_of(n).is_input]
    return (z, samples) if order.index(noise[0].id) < order.index(checked.input_id) else (samples, z)


def probe_input_ids(checked: CheckedJob) -> list[str]:
    """The node ids of `probe_inputs`, in the same order."""
    doc = checked.job.document
    return [n.id for n in doc.nodes.values() if doc.spec_of(n).is_input]


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
