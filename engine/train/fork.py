"""Forking a run: per-epoch weights kept in a run, and a new run that starts from them.

Keeping: `EpochWeights` is a callback that stores the weights at the end of epochs in the run's
record (``epoch-N.safetensors``, N 1-based: the weights after N epochs), bounded by the setting
``keep_epoch_weights`` (K). Every epoch is kept until K are; then every second one is dropped and
only every second epoch is kept from then on, and so on (the stride doubles), so a long run keeps
at most K snapshots spread evenly over it, and a short run keeps them all. The best and last
weights are stored as always, whatever K is (0 keeps no epoch weights).

Forking: `fork_job(project, parent, epoch, run_id, folder)` makes the job of a new run from the
project as it is NOW (the edited network, the current settings) and writes the parent's weights of
that epoch (``"3"``, ``"best"`` or ``"last"``) to a safetensors file in `folder`; the job's
``start_from`` names the file and the parent. In the worker, `start_from_parent` loads that file
(safetensors only: nothing in it can run code) and carries the weights into the freshly built
network by state key, which is the node path (``hidden1.weight``, ``layer2.0.conv1.weight``) and
must also match in shape and dtype. `CarryReport` says exactly what was carried, what the edited
network has that the parent did not (new nodes), what changed shape (a widened layer and the
layer reading from it), and what the parent had that is gone. The session sends it as a
``weights_carried`` message and a log line, and records the parent in the new run (``parent`` in
its run.json). Nothing here imports Qt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import telemetry as t
from engine.project import Project
from engine.runs import RunRecord
from engine.train.callbacks import Callback, EpochRecord
from engine.train.job import TrainingJob

if TYPE_CHECKING:
    import torch
    from torch import nn

    from engine.train.trainer import Trainer

EPOCH_KEY = re.compile(r"^(best|last|[1-9][0-9]{0,6})$")


class ForkError(ValueError):
    """A fork cannot start: no such run or epoch, or unreadable weights."""


@dataclass
class CarryReport:
    """What a fork carried from its parent's weights into the edited network."""

    parent: str
    epoch: str  # "3" (1-based), "best" or "last"
    carried: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    reshaped: list[dict[str, Any]] = field(default_factory=list)  # {key, parent_shape, shape}
    dropped: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every weight of the edited network came from the parent."""
        return not self.new and not self.reshaped

    def nodes(self, keys: list[str]) -> list[str]:
        """The node paths of state keys (``layer1.0.conv1.weight`` -> ``layer1.0.conv1``), in order."""
        return list(dict.fromkeys(k.rpartition(".")[0] or k for k in keys))

    def lines(self) -> list[str]:
        """The report for people, one line per kind of thing that happened."""
        where = f"epoch {self.epoch}" if self.epoch.isdigit() else f"its {self.epoch} weights"
        out = [f"forked from {self.parent} at {where}: {len(self.carried)} of "
               f"{len(self.carried) + len(self.new) + len(self.reshaped)} weight tensors carried"]
        for item in self.reshaped:
            out.append(f"not carried, shape changed: {item['key']} "
                       f"{_shape(item['parent_shape'])} -> {_shape(item['shape'])} (freshly initialised)")
        if self.new:
            out.append(f"not carried, new in this network: {', '.join(self.nodes(self.new))} (freshly initialised)")
        if self.dropped:
            out.append(f"left behind, no longer in the network: {', '.join(self.nodes(self.dropped))}")
        if self.complete:
            out.append("every weight of the network was carried")
        return out

    def message(self, run_id: str) -> t.WeightsCarried:
        return t.WeightsCarried(run_id, self.parent, self.epoch, list(self.carried), list(self.new),
                                [dict(r) for r in self.reshaped], list(self.dropped))

    def to_json(self) -> dict[str, Any]:
        """What the new run records about its parent (in its run.json)."""
        return {"run_id": self.parent, "epoch": self.epoch, "carried": len(self.carried), "new": self.new,
                "reshaped": self.reshaped, "dropped": self.dropped}


def _shape(shape: list[int]) -> str:
    return "×".join(map(str, shape)) or "scalar"


def carry_weights(module: nn.Module, source: dict[str, torch.Tensor], parent: str = "",
                  epoch: str = "last") -> CarryReport:
    """Copy every tensor of `source` whose key, shape and dtype match into `module`; report the rest."""
    import torch

    report = CarryReport(parent, epoch)
    state = module.state_dict()
    with torch.no_grad():
        for key, live in state.items():
            old = source.get(key)
            if old is None:
                report.new.append(key)
            elif tuple(old.shape) != tuple(live.shape) or old.dtype != live.dtype:
                report.reshaped.append({"key": key, "parent_shape": list(old.shape), "shape": list(live.shape)})
            else:
                live.copy_(old)
                report.carried.append(key)
    report.dropped = [k for k in source if k not in state]
    return report


# ---- keeping epoch weights ----------------------------------------------------------------------
class EpochWeights(Callback):
    """Keeps the weights after epochs in a run record, at most `keep` of them, spread over the run."""

    def __init__(self, record: RunRecord, keep: int) -> None:
        self.record, self.keep, self.stride = record, keep, 1

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        number = record.epoch + 1
        if self.keep <= 0 or number % self.stride:
            return
        from engine.train.recorder import safetensors_bytes

        kept = self.record.epoch_weights
        kept[number] = safetensors_bytes(trainer.state_dict_cpu())
        while len(kept) > self.keep:
            self.stride *= 2
            for n in [n for n in kept if n % self.stride]:
                del kept[n]


# ---- forking -------------------------------------------------------------------------------------
def fork_job(project: Project, parent: str, epoch: str, run_id: str, folder: str | Path,
             base_dir: Path | None = None) -> TrainingJob:
    """The job of a new run: the project's current network and settings, started from `parent`'s
    weights after `epoch` (1-based, or best / last), written to a safetensors file in `folder`.

    Raises ForkError (no such run or epoch) and what `TrainingJob.from_project` raises.
    """
    epoch = str(epoch)
    if not EPOCH_KEY.match(epoch):
        raise ForkError(f"an epoch is a number from 1, 'best' or 'last', not {epoch!r}")
    which = epoch if epoch in ("best", "last") else f"epoch-{epoch}"
    data = parent_weights_bytes(project, parent, which)
    job = TrainingJob.from_project(project, run_id, base_dir)
    path = Path(folder) / f"{parent}-{which}.safetensors"
    path.write_bytes(data)
    job.start_from = {"path": str(path), "parent": parent, "epoch": epoch}
    return job


def parent_weights_bytes(project: Project, parent: str, which: str) -> bytes:
    """The stored safetensors bytes of a run's weights (``best``, ``last`` or ``epoch-N``)."""
    data = project.attachments.get(f"runs/{parent}/{which}.safetensors")
    if data is None:
        known = any(name.startswith(f"runs/{parent}/") for name in project.attachments)
        raise ForkError(f"run {parent!r} keeps no {which.replace('-', ' ')} weights" if known else
                        f"the project has no run {parent!r}")
    return data


def start_from_parent(job: TrainingJob, module: nn.Module) -> CarryReport | None:
    """Carry the weights a forked job starts from into `module` (None when the job is no fork)."""
    start = job.start_from
    if not start:
        return None
    from safetensors.torch import load_file

    path, parent, epoch = start.get("path"), str(start.get("parent", "")), str(start.get("epoch", "last"))
    if not isinstance(path, str) or not Path(path).is_file():
        raise ForkError(f"the weights to fork {parent or 'the run'} from are missing ({path})")
    try:
        source = load_file(path)
    except Exception as exc:  # safetensors raises its own errors for a foreign or damaged file
        raise ForkError(f"the weights of {parent} are not a readable safetensors file ({exc})") from None
    return carry_weights(module, source, parent, epoch)


def available_epochs(project: Project, run_id: str) -> list[str]:
    """What a run can be forked from: its kept epochs (1-based, ascending), then best and last."""
    prefix = f"runs/{run_id}/"
    numbers = sorted(int(m.group(1)) for name in project.attachments if name.startswith(prefix)
                     for m in [re.match(r"^epoch-([1-9][0-9]{0,6})\.safetensors$", name[len(prefix):])] if m)
    kinds = [k for k in ("best", "last") if f"{prefix}{k}.safetensors" in project.attachments]
    return [str(n) for n in numbers] + kinds

