"""Recovery files: where autosaved documents wait, and which of them a crashed studio left behind.

Each studio session owns a `RecoverySlot` in the recovery folder: ``<session>.lock`` (a
`QLockFile` held while the session runs), ``<session>.loom`` (the autosaved project, written with
the engine's atomic `save_project`) and ``<session>.json`` (what it is: the project's own path,
its name and when it was written). A normal save or close removes the ``.loom`` and ``.json``;
closing also releases the lock. What a killed process leaves behind is a ``.json`` whose lock can
be taken (Qt sees the owner is gone): `orphaned_slots()` finds those, already locked, so the next
start can offer them and adopt the chosen one as its own slot.

The folder is ``$LAYERLOOM_RECOVERY_DIR`` when set, else ``recovery/`` beside the studio's
QSettings file, so tests that isolate QSettings isolate recovery too.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile

from studio.settings import make_settings

RECOVERY_ENV = "LAYERLOOM_RECOVERY_DIR"


def recovery_dir() -> Path:
    override = os.environ.get(RECOVERY_ENV)
    folder = Path(override) if override else Path(make_settings().fileName()).parent / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class RecoverySlot:
    """One session's recovery files (held under its lock)."""

    folder: Path
    session: str
    lock: QLockFile
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, folder: Path | None = None) -> RecoverySlot:
        folder = folder or recovery_dir()
        session = uuid.uuid4().hex[:12]
        lock = QLockFile(str(folder / f"{session}.lock"))
        lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
        lock.tryLock(0)
        return cls(folder, session, lock)

    @property
    def project_file(self) -> Path:
        return self.folder / f"{self.session}.loom"

    @property
    def meta_file(self) -> Path:
        return self.folder / f"{self.session}.json"

    @property
    def original_path(self) -> Path | None:
        path = self.meta.get("path")
        return Path(path) if path else None

    @property
    def saved_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.meta.get("saved_at")))
        except ValueError:
            return None

    def has_files(self) -> bool:
        return self.project_file.is_file()

    def write_meta(self, name: str, path: Path | None) -> None:
        """Say what the project file holds (after it was written)."""
        self.meta = {"name": name, "path": str(path) if path else None,
                     "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pid": os.getpid()}
        _write_json_atomically(self.meta_file, self.meta)

    def remove_files(self) -> None:
        """Forget the autosaved document (saved, discarded or closed normally); the lock stays."""
        self.meta_file.unlink(missing_ok=True)
        self.project_file.unlink(missing_ok=True)
        for stale in self.folder.glob(f".{self.session}.*.tmp"):
            stale.unlink(missing_ok=True)

    def release(self) -> None:
        """Remove the files and give up the lock (the session ends)."""
        self.remove_files()
        self.lock.unlock()


def orphaned_slots(folder: Path | None = None) -> list[RecoverySlot]:
    """Recovery files whose session is gone, newest first; each comes back locked by this process."""
    folder = folder or recovery_dir()
    found: list[RecoverySlot] = []
    for meta_file in folder.glob("*.json"):
        session = meta_file.stem
        lock = QLockFile(str(folder / f"{session}.lock"))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue  # a running studio owns it
        slot = RecoverySlot(folder, session, lock)
        try:
            slot.meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if not isinstance(slot.meta, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            slot.meta = {}
        if not slot.has_files():
            slot.release()  # half a slot (killed before its first write finished): nothing to offer
            continue
        found.append(slot)
    found.sort(key=lambda s: str(s.meta.get("saved_at", "")), reverse=True)
    return found
