"""Training runs kept inside a project, as files under ``runs/<run_id>/``.

A `RunRecord` is one run: its settings, a snapshot of the network (the project's JSON data of it),
the dataset config and summary, the per-step points (about 10 a second) and per-epoch metrics,
best and test metrics, the final status, and the best and last weights as safetensors bytes whose
keys are node ids (``conv1.weight``). It is stored as these members, the same in a project's
attachments and in the folder a worker writes::

    run.json            id, times, status, device, parameter count, best/test metrics, error,
                        the epochs whose weights are kept, the parent of a forked run, and for a
                        sweep's trial its study, trial number, state, value and parameters ("sweep")
    settings.json       the TrainingSettings JSON
    network.json        the network as in project.json
    metrics.json        {"steps": {column: [...]}, "epochs": [...], "confusion": [[...]] | null,
                         "lr_changes": [{step, epoch, epoch_fraction, lr, previous}, ...]}
    best.safetensors    weights of the best epoch
    last.safetensors    weights at the end
    epoch-N.safetensors weights after epoch N (1-based), for the epochs kept (`engine.train.fork`)

`list_runs` reads only run.json of each run (cheap); `load_run_weights` reads safetensors only,
never pickle. Run ids are plain names (letters, digits, ``-``, ``_``, ``.``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.project import Project

if TYPE_CHECKING:  # listing runs must not load torch: the studio's Runs panel shows them at once
    import torch

RUNS = "runs/"
WEIGHT_KINDS = ("best", "last")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_STEP_COLUMNS = ("step", "epoch", "loss", "lr", "samples_per_s", "elapsed_s")
_EPOCH_FILE = re.compile(r"^epoch-([1-9][0-9]{0,6})\.safetensors$")
MAX_EPOCH_FILES = 1000  # a run folder or project holding more is hostile: the rest are not read


class RunError(ValueError):
    """A run is missing, malformed or has no such weights."""


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise RunError(f"run id {run_id!r} must be 1-64 letters, digits, '-', '_' or '.', starting with a "
                       "letter or digit")
    return run_id


@dataclass
class RunRecord:
    """Everything saved about one run."""

    run_id: str
    started: str = ""  # ISO 8601, UTC
    finished: str = ""
    status: str = "running"  # completed, stopped, failed
    settings: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    dataset_summary: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    parameter_count: int = 0
    steps: list[dict[str, float]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=dict)  # epoch and metrics (val_loss, train_loss, ...)
    test: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] | None = None
    error: dict[str, Any] | None = None
    weights: dict[str, bytes] = field(default_factory=dict)  # "best" / "last" -> safetensors bytes
    sweep: dict[str, Any] | None = None  # a sweep's trial: {"study", "trial", "state", "value", "metric", "params"}
    epoch_weights: dict[int, bytes] = field(default_factory=dict)  # epoch (1-based) -> safetensors bytes
    parent: dict[str, Any] | None = None  # a forked run: {run_id, epoch, carried, new, reshaped, dropped}
    lr_changes: list[dict[str, Any]] = field(default_factory=list)  # rates set by hand while training

    # ---- files ---------------------------------------------------------------------
    def to_files(self) -> dict[str, bytes]:
        """The record as file name -> bytes."""
        head = {"run_id": self.run_id, "started": self.started, "finished": self.finished,
                "status": self.status, "device": self.device, "parameter_count": self.parameter_count,
                "epochs": len(self.epochs), "best": self.best, "test": self.test, "error": self.error,
                "dataset": self.dataset, "dataset_summary": self.dataset_summary,
                "weights": sorted(self.weights), "epoch_weights": sorted(self.epoch_weights),
                "parent": self.parent}
        if self.sweep is not None:
            head["sweep"] = self.sweep
        steps = {c: [s.get(c) for s in self.steps] for c in _STEP_COLUMNS}
        metrics = {"steps": steps, "epochs": self.epochs, "confusion": self.confusion,
                   "lr_changes": self.lr_changes}
        files = {"run.json": _json(head), "settings.json": _json(self.settings),
                 "network.json": _json(self.network), "metrics.json": _json(metrics)}
        files.update({f"{kind}.safetensors": data for kind, data in self.weights.items()})
        files.update({f"epoch-{n}.safetensors": data for n, data in self.epoch_weights.items()})
        return files

    @classmethod
    def from_files(cls, files: dict[str, bytes], run_id: str | None = None) -> RunRecord:
        """Rebuild a record from `to_files` output; raises RunError when run.json is missing or bad."""
        head = _read_json(files, "run.json")
        metrics = _read_json(files, "metrics.json", {"steps": {}, "epochs": [], "confusion": None})
        columns = metrics.get("steps", {})
        count = max((len(v) for v in columns.values()), default=0)
        steps = [{c: columns[c][i] for c in columns if i < len(columns[c])} for i in range(count)]
        weights = {k: files[f"{k}.safetensors"] for k in WEIGHT_KINDS if f"{k}.safetensors" in files}
        epoch_weights = {int(m.group(1)): data for name, data in files.items()
                         for m in [_EPOCH_FILE.match(name)] if m}
        parent = head.get("parent")
        changes = metrics.get("lr_changes") if isinstance(metrics, dict) else None
        record = cls(
            run_id or head.get("run_id", ""), head.get("started", ""), head.get("finished", ""),
            head.get("status", "unknown"), _read_json(files, "settings.json", {}),
            _read_json(files, "network.json", {}), head.get("dataset", {}), head.get("dataset_summary", {}),
            head.get("device", ""), int(head.get("parameter_count", 0)), steps, metrics.get("epochs", []),
            head.get("best", {}), head.get("test", {}), metrics.get("confusion"), head.get("error"), weights,
            head.get("sweep") if isinstance(head.get("sweep"), dict) else None)
        record.epoch_weights = epoch_weights
        record.parent = parent if isinstance(parent, dict) else None
        record.lr_changes = [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []
        return record

    def write_dir(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.to_files().items():
            (folder / name).write_bytes(data)

    @classmethod
    def read_dir(cls, folder: str | Path) -> RunRecord:
        return cls.from_files(read_run_files(folder))


RUN_FILES = ("run.json", "settings.json", "network.json", "metrics.json",
             *(f"{kind}.safetensors" for kind in WEIGHT_KINDS))


def read_run_files(folder: str | Path) -> dict[str, bytes]:
    """The files a worker wrote for a run, as bytes: only the known names, run.json checked.

    Nothing is decoded beyond run.json (so metrics and weights are never parsed or re-encoded on
    their way into a project); raises `RunError` when run.json is missing or malformed.
    """
    folder = Path(folder)
    files = {name: (folder / name).read_bytes() for name in RUN_FILES if (folder / name).is_file()}
    epochs = sorted(p.name for p in folder.glob("epoch-*.safetensors") if _EPOCH_FILE.match(p.name) and p.is_file())
    files.update({name: (folder / name).read_bytes() for name in epochs[:MAX_EPOCH_FILES]})
    head = _read_json(files, "run.json")
    if not isinstance(head, dict):
        raise RunError("the run's run.json is not an object")
    return files


def attach_run_files(project: Project, run_id: str, files: dict[str, bytes]) -> None:
    """Store a run's files (from `read_run_files` or `RunRecord.to_files`) in the project, replacing
    any run with the same id. Cheap: the bytes are stored as they are."""
    check_run_id(run_id)
    delete_run(project, run_id, missing_ok=True)
    prefix = _prefix(run_id)
    for name, data in files.items():
        project.attachments[prefix + name] = data


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False, allow_nan=True) + "\n").encode("utf-8")


def _read_json(files: dict[str, bytes], name: str, default: Any = None) -> Any:
    if name not in files:
        if default is None:
            raise RunError(f"the run has no {name}")
        return default
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"the run's {name} is malformed: {exc}") from None
    except RecursionError:
        raise RunError(f"the run's {name} is nested too deeply to read") from None


@dataclass
class RunSummary:
    """One line of a project's run list."""

    run_id: str
    started: str
    status: str
    settings: dict[str, Any]
    best: dict[str, float]
    test: dict[str, float]
    epochs: int
    sweep: dict[str, Any] | None = None  # a sweep's trial: its study, number, state, value and parameters
    parent: dict[str, Any] | None = None  # a forked run's parent: {run_id, epoch, ...}


def _prefix(run_id: str) -> str:
    return f"{RUNS}{run_id}/"


def run_ids(project: Project) -> list[str]:
    """Ids of the runs in `project`, oldest first (by start time, then id)."""
    ids = {name[len(RUNS):].split("/", 1)[0] for name in project.attachments
           if name.startswith(RUNS) and name.endswith("/run.json")}
    return sorted(ids, key=lambda i: (_text(_head(project, i).get("started"), ""), i))


def _head(project: Project, run_id: str) -> dict[str, Any]:
    try:
        data = json.loads(project.attachments[_prefix(run_id) + "run.json"].decode("utf-8"))
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


# a project file is hostile until read: a field of the wrong type reads as missing, never as a crash
def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def list_runs(project: Project) -> list[RunSummary]:
    """A summary of every run in `project`, oldest first."""
    out = []
    for run_id in run_ids(project):
        head = _head(project, run_id)
        raw = project.attachments.get(_prefix(run_id) + "settings.json", b"{}")
        settings = _mapping(_read_json({"settings.json": raw}, "settings.json", {}))
        parent = head.get("parent")
        out.append(RunSummary(run_id, _text(head.get("started"), ""), _text(head.get("status"), "unknown"),
                              settings, _mapping(head.get("best")), _mapping(head.get("test")),
                              _count(head.get("epochs")), _mapping(head.get("sweep")) or None,
                              parent if isinstance(parent, dict) else None))
    return out


def add_run(project: Project, record: RunRecord) -> None:
    """Store `record` in the project's attachments (replacing a run with the same id)."""
    attach_run_files(project, record.run_id, record.to_files())


def delete_run(project: Project, run_id: str, missing_ok: bool = False) -> None:
    prefix = _prefix(run_id)
    names = [n for n in project.attachments if n.startswith(prefix)]
    if not names and not missing_ok:
        raise RunError(f"the project has no run {run_id!r}")
    for name in names:
        del project.attachments[name]


def get_run(project: Project, run_id: str) -> RunRecord:
    prefix = _prefix(run_id)
    files = {n[len(prefix):]: d for n, d in project.attachments.items() if n.startswith(prefix)}
    if not files:
        raise RunError(f"the project has no run {run_id!r}")
    return RunRecord.from_files(files, run_id)


def load_run_weights(project: Project, run_id: str, which: str = "best") -> dict[str, torch.Tensor]:
    """The weights of a run as a state dict keyed by node id (from safetensors, never pickle)."""
    from safetensors.torch import load as load_safetensors

    if which not in WEIGHT_KINDS:
        raise RunError(f"weights are 'best' or 'last', not {which!r}")
    data = project.attachments.get(_prefix(run_id) + f"{which}.safetensors")
    if data is None:
        if not any(n.startswith(_prefix(run_id)) for n in project.attachments):
            raise RunError(f"the project has no run {run_id!r}")
        raise RunError(f"run {run_id!r} has no {which} weights")
    try:
        return load_safetensors(data)
    except Exception as exc:  # safetensors raises SafetensorError (or others) for any foreign payload
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunError(f"the {which} weights of run {run_id!r} are not a readable safetensors file "
                       f"({reason})") from None


def new_run_id(project: Project, stem: str = "run") -> str:
    """The next free id: run-1, run-2, ..."""
    taken = set(run_ids(project))
    i = 1
    while f"{stem}-{i}" in taken:
        i += 1
    return f"{stem}-{i}"
