"""The Optuna study of a sweep: kept in the project as a journal, or in any Optuna storage.

A project's study is Optuna's journal (JSON lines, one operation each) stored as the member
``sweep/journal.log``, so a sweep survives closing and reopening and resumes where it stopped. While
a sweep runs, the journal is a working file (`WorkingJournal`) that the worker processes append to
under Optuna's file lock; the sweep copies it back into the project after every finished trial, and
the project is saved atomically as always. With ``--storage URL`` the study lives in that storage
instead (SQLite, PostgreSQL, MySQL: any URL Optuna's RDB storage takes, or a journal file path), so
several machines share it.

`open_study(source, study_name=None)` is what readers use (the studio's Sweep panel reads trials,
intermediate values and states with Optuna's own API): `source` is a `.loom` path or an open
`Project` (its stored journal, replayed in memory: reading never writes the file), a journal file
path (the working file of a running sweep), or a storage URL. A stored journal is hostile like the
rest of a project: its size and lines are capped, every line must be a JSON object, and the replay
and the trials it yields are checked, so a damaged journal is a `SweepStudyError`, never a traceback.
Optuna's journal never unpickles anything (only its Redis backend keeps pickled snapshots, which
Layerloom never uses).

`create_study` opens or creates the named study with the sampler and pruner a `SweepConfig` asks for
(TPE or random; median, Hyperband or none). No torch here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import TrialState

from engine.graph.errors import ProjectFileError
from engine.project_zip import read_project_zip
from engine.sweep.space import JOURNAL_MEMBER, SweepConfig

if TYPE_CHECKING:
    from engine.project import Project

MAX_JOURNAL_BYTES = 256 * 2**20
MAX_JOURNAL_LINE = 4 * 2**20
DEFAULT_STUDY_NAME = "sweep"
SQLITE_LOCK_TIMEOUT_S = 60  # several processes share one SQLite file: wait for the lock, do not fail
STORAGE_ATTEMPTS = 5
JOURNAL_LOCK_GRACE_S = 5


class SweepStudyError(ValueError):
    """A study cannot be opened: none stored, a damaged journal, an unknown name, a mismatched direction."""


optuna.logging.set_verbosity(optuna.logging.WARNING)  # Layerloom reports trials itself


# ---- the journal as project data -----------------------------------------------------------------
def parse_journal(raw: bytes, where: str = "the sweep journal") -> list[dict[str, Any]]:
    """The journal's operations, each a JSON object; raises `SweepStudyError` for anything else."""
    if len(raw) > MAX_JOURNAL_BYTES:
        raise SweepStudyError(f"{where} is larger than {MAX_JOURNAL_BYTES:,} bytes")
    logs = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_JOURNAL_LINE:
            raise SweepStudyError(f"{where}: line {number} is longer than {MAX_JOURNAL_LINE:,} bytes")
        try:
            log = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise SweepStudyError(f"{where}: line {number} is not a journal entry ({type(exc).__name__})") from None
        if not isinstance(log, dict) or not isinstance(log.get("op_code"), int) or isinstance(log["op_code"], bool):
            raise SweepStudyError(f"{where}: line {number} is not a journal entry")
        logs.append(log)
    return logs


def journal_bytes(logs: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(log, separators=(",", ":")).encode("utf-8") + b"\n" for log in logs)


class MemoryJournal(BaseJournalBackend):
    """A journal held in memory: a stored study read without touching any file."""

    def __init__(self, logs: list[dict[str, Any]] | None = None) -> None:
        self.logs = list(logs or [])

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        yield from self.logs[log_number_from:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.logs.extend(json.loads(json.dumps(logs)))  # as a file would hold them


def journal_storage(raw: bytes, where: str = "the sweep journal") -> JournalStorage:
    """A storage replaying `raw` in memory, checked (`SweepStudyError` when damaged)."""
    logs = parse_journal(raw, where)
    try:
        storage = JournalStorage(MemoryJournal(logs))
        check_storage(storage)
    except SweepStudyError:
        raise
    except Exception as exc:  # the replay of a crafted journal fails in many ways (KeyError, TypeError...)
        raise SweepStudyError(f"{where} is damaged and cannot be replayed ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None
    return storage


def check_storage(storage: BaseStorage) -> None:
    """Every trial's values, intermediate values and parameters have the types Optuna's readers expect."""
    for study in storage.get_all_studies():
        for trial in storage.get_all_trials(study._study_id, deepcopy=False):
            values = trial.values or []
            steps = trial.intermediate_values
            if not all(_is_number(v) for v in values) or \
                    not all(_is_int(k) and _is_number(v) for k, v in steps.items()):
                raise SweepStudyError(f"trial {trial.number} of study {study.study_name!r} holds values that are "
                                      "not numbers")
            for name, value in trial.params.items():
                if not trial.distributions[name]._contains(trial.distributions[name].to_internal_repr(value)):
                    raise SweepStudyError(f"trial {trial.number}: {name} = {value!r} is outside its range")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class WorkingJournal:
    """The journal file a running sweep appends to (a temporary folder), seeded from the project's member."""

    def __init__(self, raw: bytes | None = None, where: str = "the project's sweep journal") -> None:
        if raw:
            journal_storage(raw, where)  # refuse a damaged journal before any worker replays it
        self.folder = Path(tempfile.mkdtemp(prefix="layerloom-sweep-"))
        self.path = self.folder / "journal.log"
        self.path.write_bytes(raw or b"")

    def storage(self) -> JournalStorage:
        return file_storage(self.path)

    def snapshot(self) -> bytes:
        """The journal's complete lines as they are now. Never waits for the writers' lock (a worker killed
        while holding it must not stall the caller, the studio's GUI thread among them): a line being
        appended at this moment is simply left for the next snapshot."""
        raw = self.path.read_bytes()
        return raw[:raw.rfind(b"\n") + 1]

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- storages ------------------------------------------------------------------------------------
def is_storage_url(text: str) -> bool:
    return "://" in text


def display_url(url: str) -> str:
    """A storage URL fit to print: its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a database URL sqlalchemy reads: show it only up to the host
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url


def file_storage(path: str | os.PathLike[str]) -> JournalStorage:
    """A journal file shared by processes (Optuna's file lock, portable: no symlinks). A lock left by a
    killed process is broken after `JOURNAL_LOCK_GRACE_S` (an append holds it for milliseconds)."""
    lock = JournalFileOpenLock(str(path), grace_period=JOURNAL_LOCK_GRACE_S)
    return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))


def url_storage(url: str) -> BaseStorage:
    """Optuna's RDB storage for `url`; SQLite waits for its lock instead of failing when several processes
    write at once."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}}
    for attempt in range(STORAGE_ATTEMPTS):
        try:
            return RDBStorage(url, **kwargs)
        except ImportError as exc:
            raise SweepStudyError(f"the storage {display_url(url)!r} needs a database driver that is not "
                                  f"installed: {exc}") from None
        except Exception as exc:  # sqlalchemy's errors for unknown dialects, unreachable servers, bad URLs
            text = str(exc)
            # two sweeps starting at once on a new database both create its tables and version row: the
            # one that loses the race finds them made (or locked) and tries again
            racing = type(exc).__name__ in ("OperationalError", "IntegrityError")
            if racing and attempt < STORAGE_ATTEMPTS - 1:
                time.sleep(0.2 * (attempt + 1))
                continue
            reason = text.splitlines()[0][:300] if text else type(exc).__name__
            raise SweepStudyError(f"cannot open the storage {display_url(url)!r}: {reason}") from None
    raise AssertionError("unreachable")


def storage_from(spec: dict[str, str]) -> BaseStorage:
    """The storage a worker process opens: ``{"journal": path}`` or ``{"url": url}``."""
    if "journal" in spec:
        return file_storage(spec["journal"])
    return url_storage(spec["url"])


# ---- studies -------------------------------------------------------------------------------------
def study_name_for(config: SweepConfig, project_name: str) -> str:
    return config.study_name or project_name or DEFAULT_STUDY_NAME


def make_sampler(config: SweepConfig, worker: int = 0) -> optuna.samplers.BaseSampler:
    seed = None if config.seed is None else config.seed + worker
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials running in parallel count as bad guesses, so workers spread out
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=config.sampler_startup_trials, constant_liar=True)


def make_pruner(config: SweepConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=config.pruner_startup_trials,
                                           n_warmup_steps=config.pruner_warmup_epochs)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto")
    return optuna.pruners.NopPruner()


def create_study(storage: BaseStorage | str, name: str, config: SweepConfig, worker: int = 0) -> optuna.Study:
    """Open the study `name` in `storage` (creating it), with the config's sampler, pruner and direction."""
    study = optuna.create_study(storage=storage, study_name=name, direction=config.direction,
                                sampler=make_sampler(config, worker), pruner=make_pruner(config), load_if_exists=True)
    stored = study.direction.name.lower()
    if stored != config.direction:
        raise SweepStudyError(f"the study {name!r} already {stored}s; this sweep would {config.direction} "
                              f"{config.metric}. Start a new study (--restart, or another study name)")
    metric = study.user_attrs.get("metric")
    if metric is None and worker == 0:
        study.set_user_attr("metric", config.metric)
    elif metric is not None and metric != config.metric:
        raise SweepStudyError(f"the study {name!r} optimises {metric}, not {config.metric}. Start a new study "
                              "(--restart, or another study name)")
    return study


def check_compatible(study: optuna.Study, config: SweepConfig) -> None:
    """Refuse ranges the stored trials cannot continue with: Optuna keeps one kind (and log scale, and list
    of choices) per parameter for a whole study; changing the bounds of a number is fine."""
    wanted = config.distributions()
    for trial in study.get_trials(deepcopy=False):
        for name, old in trial.distributions.items():
            new = wanted.get(name)
            if new is None:
                continue
            try:
                optuna.distributions.check_distribution_compatibility(old, new)
            except ValueError:
                raise SweepStudyError(
                    f"the range of {name} changed in a way the study {study.study_name!r} cannot continue with "
                    f"(trial {trial.number} used {_describe(old)}, now {_describe(new)}); keep its kind, scale "
                    "and choices, or start a new study (--restart, or another study name)") from None


def _describe(distribution: Any) -> str:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return f"choices {list(distribution.choices)}"
    kind = "whole numbers" if isinstance(distribution, optuna.distributions.IntDistribution) else "numbers"
    return f"{kind} {distribution.low:g}..{distribution.high:g}" + (" on a log scale" if distribution.log else "")


def fail_interrupted(study: optuna.Study, reason: str) -> list[int]:
    """Mark trials left running by a sweep that was killed as failed; returns their numbers."""
    numbers = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if trial.state == TrialState.RUNNING:
            study._storage.set_trial_user_attr(trial._trial_id, "error", reason)
            study.tell(trial.number, state=TrialState.FAIL)
            numbers.append(trial.number)
    return numbers


def open_study(source: Project | str | os.PathLike[str], study_name: str | None = None) -> optuna.Study:
    """The study of a project, a journal file or a storage URL, for reading; see the module docstring."""
    from engine.project import Project

    if isinstance(source, Project):
        raw = source.attachments.get(JOURNAL_MEMBER)
        if raw is None:
            raise SweepStudyError(f"the project {source.name!r} has no sweep yet")
        storage: BaseStorage = journal_storage(raw)
    elif isinstance(source, str) and is_storage_url(source):
        storage = url_storage(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise SweepStudyError(f"{path}: no such file")
        if path.suffix == ".loom":
            try:
                contents = read_project_zip(path, only={JOURNAL_MEMBER})
            except ProjectFileError as exc:
                raise SweepStudyError(str(exc)) from None
            raw = contents.attachments.get(JOURNAL_MEMBER)
            if raw is None:
                raise SweepStudyError(f"{path} has no sweep yet")
            storage = journal_storage(raw, f"{path}: {JOURNAL_MEMBER}")
        else:  # a running sweep's working journal: read live, so the reader sees new trials as they come
            try:
                storage = file_storage(path)
                check_storage(storage)
            except SweepStudyError:
                raise
            except Exception as exc:
                raise SweepStudyError(f"{path} is not a readable sweep journal ({type(exc).__name__})") from None
    return optuna.load_study(study_name=_only_study(storage, study_name), storage=storage)


def _only_study(storage: BaseStorage, name: str | None) -> str:
    names = [s.study_name for s in storage.get_all_studies()]
    if name is not None:
        if name not in names:
            raise SweepStudyError(f"there is no study {name!r} here" + (f"; there is {', '.join(names)}"
                                                                         if names else ""))
        return name
    if len(names) != 1:
        raise SweepStudyError("there is no study here" if not names else
                              f"there are several studies here ({', '.join(names)}); name one")
    return names[0]
