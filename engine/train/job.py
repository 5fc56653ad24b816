"""A training job: what to train on what, and its one serialisation. No torch, no Qt.

`TrainingJob` bundles the network document, the dataset config, the training settings, the run id,
the folder relative dataset paths are resolved against and the project's name. Its JSON form
(`to_json` / `from_json`) is the only way a job travels: to a spawned worker, to the in-process
runner, to data-parallel ranks. `project_json` writes the same form from a project's stored
sections without parsing them, so that settings a worker cannot parse still reach it and come
back as an error message rather than an exception in the caller; `from_json` parses and checks.
Pre-flight checks are `engine.train.preflight`; building the run on a device is
`engine.train.setup`. Two optional parts ride along in the same JSON, only when set: ``task``
(``{"kind": "lr_find", ...}``: the worker sweeps the learning rate instead of training, see
`engine.train.lr_finder`) and ``start_from`` (a forked run: the safetensors file and the parent run
whose weights it starts from, see `engine.train.fork`).

A project's initial weights (an imported network's, `engine.project_zip.INITIAL_WEIGHTS_MEMBER`)
travel with the job: in memory as the safetensors bytes (`initial_weights`), in the JSON form as
the path of a file that the caller writes into a folder of its own (``weights_dir``, a run's folder),
so a 100 MB model never passes through JSON (without a folder they are inlined as base64).
Training starts from them (`engine.train.fine_tune`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.config import DatasetConfig
from engine.data.errors import DatasetError
from engine.graph.document import GraphDocument
from engine.graph.serialize import document_from_data, document_to_data
from engine.project import Project
from engine.project_zip import INITIAL_WEIGHTS_MEMBER
from engine.train.settings import TrainingSettings

INITIAL_WEIGHTS_FILE = "initial-weights.safetensors"  # in the folder the JSON form is written for


def _job_json(network: dict[str, Any], dataset: Any, settings: Any, run_id: str, name: str,
              base_dir: Path | str | None, initial_weights: bytes | None = None,
              weights_dir: Path | str | None = None) -> dict[str, Any]:
    """The one JSON form of a job (plain data: nothing in it is pickled or names code)."""
    data = {"network": network, "dataset": dataset, "settings": settings, "run_id": run_id, "name": name,
            "base_dir": str(base_dir) if base_dir else None}
    if initial_weights is not None and weights_dir is not None:
        data["initial_weights"] = str(_write_weights(initial_weights, weights_dir))
    elif initial_weights is not None:  # no folder to write to: inline (base64), slower but self-contained
        data["initial_weights_base64"] = base64.b64encode(initial_weights).decode("ascii")
    return data


def _read_weights(data: dict[str, Any]) -> bytes | None:
    path, inline = data.get("initial_weights"), data.get("initial_weights_base64")
    if isinstance(path, str):
        return Path(path).read_bytes()
    if isinstance(inline, str):
        return base64.b64decode(inline)
    return None


def _write_weights(weights: bytes, folder: Path | str) -> Path:
    path = Path(folder) / INITIAL_WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(weights)
    return path


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
    task: dict[str, Any] | None = None  # {"kind": "lr_find", ...}: not a training run
    start_from: dict[str, Any] | None = None  # {"path", "parent", "epoch"}: a fork's starting weights
    initial_weights: bytes | None = field(default=None, repr=False)  # safetensors: start from these

    @classmethod
    def from_project(cls, project: Project, run_id: str = "run", base_dir: Path | None = None) -> TrainingJob:
        """The job a project describes; raises SettingsError or DatasetError for malformed settings."""
        dataset = DatasetConfig.from_json(project.dataset) if project.dataset else None
        if dataset is None:
            raise DatasetError("the project has no dataset: choose one before training")
        return cls(project.network, dataset, TrainingSettings.from_json(project.training), run_id, base_dir,
                   project.name, initial_weights=project.attachments.get(INITIAL_WEIGHTS_MEMBER))

    def to_json(self, weights_dir: Path | str | None = None) -> dict[str, Any]:
        """The JSON form; initial weights, if any, are written to `weights_dir` and named by path."""
        data = _job_json(document_to_data(self.document), self.dataset.to_json(), self.settings.to_json(),
                         self.run_id, self.name, self.base_dir, self.initial_weights, weights_dir)
        for key in ("task", "start_from"):
            if getattr(self, key) is not None:
                data[key] = dict(getattr(self, key))
        return data

    @staticmethod
    def project_json(project: Project, run_id: str, base_dir: Path | str | None = None,
                     weights_dir: Path | str | None = None) -> dict[str, Any]:
        """A project's job in the same JSON form, its sections as stored (parsed by `from_json`)."""
        return _job_json(document_to_data(project.network), project.dataset, project.training, run_id,
                         project.name, base_dir, project.attachments.get(INITIAL_WEIGHTS_MEMBER), weights_dir)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingJob:
        """Parse a job; raises DatasetError, SettingsError or ProjectFileError for what does not parse."""
        if not data.get("dataset"):
            raise DatasetError("the project has no dataset: choose one before training")
        base = data.get("base_dir")
        job = cls(document_from_data(data["network"]), DatasetConfig.from_json(data["dataset"]),
                  TrainingSettings.from_json(data["settings"]), str(data.get("run_id", "run")),
                  Path(base) if base else None, str(data.get("name", "untitled")),
                  initial_weights=_read_weights(data))
        job.task = data["task"] if isinstance(data.get("task"), dict) else None
        job.start_from = data["start_from"] if isinstance(data.get("start_from"), dict) else None
        return job

    @property
    def names(self) -> dict[str, str]:
        return {node_id: node.name for node_id, node in self.document.nodes.items()}
