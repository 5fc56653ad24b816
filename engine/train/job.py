"""A training job: what to train on what, checked before anything trains, then set up.

`TrainingJob` bundles the network document, the dataset config, the training settings and the run
id. It round-trips through plain JSON (`to_json` / `from_json`), which is how a job reaches a
spawned worker: nothing is pickled. `check_job` loads the dataset and returns every problem a user
can fix (network errors, a dataset that cannot load, an Input that does not fit the data, settings
that do not fit the task) as readable strings, before any training starts. `build_setup` turns a
checked job into a `TrainSetup` on a device: seeded module, loss, optimiser, schedule, batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.build import build_module
from engine.data import (
    DatasetConfig,
    DatasetError,
    DatasetSplits,
    check_input_shape,
    load_dataset,
    make_augmenter,
)
from engine.graph.analysis import Analysis, analyze
from engine.graph.document import GraphDocument
from engine.graph.serialize import document_from_data, document_to_data
from engine.project import Project
from engine.train.batches import make_batches, nbytes
from engine.train.device import Precision
from engine.train.objective import MetricSums, make_loss
from engine.train.optim import LRSchedule, make_optimizer
from engine.train.settings import TrainingSettings
from engine.train.trainer import TrainSetup

PROBE_SAMPLES = 16


@dataclass
class TrainingJob:
    """The network, the data and the settings of one run."""

    document: GraphDocument
    dataset: DatasetConfig
    settings: TrainingSettings
    run_id: str = "run"
    base_dir: Path | None = None  # relative dataset paths are resolved here (the project's folder)
    name: str = "untitled"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_project(cls, project: Project, run_id: str = "run", base_dir: Path | None = None) -> TrainingJob:
        """The job a project describes; raises SettingsError or DatasetError for malformed settings."""
        dataset = DatasetConfig.from_json(project.dataset) if project.dataset else None
        if dataset is None:
            raise DatasetError("the project has no dataset: choose one before training")
        return cls(project.network, dataset, TrainingSettings.from_json(project.training), run_id, base_dir,
                   project.name)

    def to_json(self) -> dict[str, Any]:
        return {"network": document_to_data(self.document), "dataset": self.dataset.to_json(),
                "settings": self.settings.to_json(), "run_id": self.run_id, "name": self.name,
                "base_dir": str(self.base_dir) if self.base_dir else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingJob:
        base = data.get("base_dir")
        return cls(document_from_data(data["network"]), DatasetConfig.from_json(data["dataset"]),
                   TrainingSettings.from_json(data["settings"]), str(data.get("run_id", "run")),
                   Path(base) if base else None, str(data.get("name", "untitled")))

    @property
    def names(self) -> dict[str, str]:
        return {node_id: node.name for node_id, node in self.document.nodes.items()}


@dataclass
class CheckedJob:
    """A job that passed `check_job`, with what the checks produced."""

    job: TrainingJob
    analysis: Analysis
    data: DatasetSplits
    input_id: str
    output_id: str


def check_job(job: TrainingJob) -> tuple[CheckedJob | None, list[str]]:
    """Load the data and check everything; (checked job, []) or (None, problems)."""
    doc, settings = job.document, job.settings
    analysis = analyze(doc)
    problems = [_node_text(job, p.node_id, p.message) for p in analysis.errors]
    inputs = [n for n in doc.nodes.values() if doc.spec_of(n).is_input]
    outputs = [n for n in doc.nodes.values() if doc.spec_of(n).is_output]
    if len(inputs) > 1:
        problems.append(f"training needs exactly one Input node; the network has {len(inputs)}")
    if len(outputs) > 1:
        problems.append(f"training needs exactly one Output node; the network has {len(outputs)}")
    try:
        data = load_dataset(job.dataset, job.base_dir)
    except DatasetError as exc:
        return None, [*problems, f"dataset: {exc}"]
    summary = data.summary
    output = analysis.output_of(outputs[0].id) if len(outputs) == 1 else None
    if len(inputs) == 1 and analysis.output_of(inputs[0].id) is not None:
        node = inputs[0]
        problem = check_input_shape(summary, tuple(node.params["shape"]), node.params["dtype"], node.name)
        if problem:
            problems.append(problem)
    problems += settings.validate(summary, output, list(doc.nodes))
    if summary.sizes.get("train", 0) == 0:
        problems.append("the dataset leaves no samples for training")
    if problems:
        return None, problems
    return CheckedJob(job, analysis, data, inputs[0].id, outputs[0].id), []


def _node_text(job: TrainingJob, node_id: str | None, message: str) -> str:
    if node_id is None or node_id not in job.document.nodes:
        return message
    return f"'{job.document.nodes[node_id].name}': {message}"


def build_setup(checked: CheckedJob, device: torch.device, rank: int = 0, world: int = 1) -> TrainSetup:
    """Build the network and everything around it on `device` (seeded, so every rank starts alike)."""
    job, s = checked.job, checked.job.settings
    summary = checked.data.summary
    torch.manual_seed(s.seed)
    module = build_module(job.document, checked.analysis).to(device)
    model: nn.Module = module
    if world > 1:
        model = nn.parallel.DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda"
                                                    else None)
    x, y = checked.data.train
    batches = make_batches(x, y, s.batch_size, device, s.seed, s.data.resident_limit_mb, s.data.num_workers,
                           rank, world)
    optimizer = make_optimizer(module.parameters(), s.optimizer, device)
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
        reduce=_all_reduce if world > 1 else None, agree=_agree if world > 1 else None, world=world)


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
