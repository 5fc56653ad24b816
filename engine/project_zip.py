"""The zip layer of `.loom` files: hostile-file reading and atomic, crash-safe writing.

Reading (`read_project_zip`, `parse_json_member`) treats every file as hostile:

- only known member names are read: ``project.json``, run files
  ``runs/<run id>/<file name>`` and the initial weights of an imported network
  (``weights/initial.safetensors``); anything else (``__MACOSX/``, stray folders) is
  skipped, never inflated;
- a member is read in chunks and may inflate to at most its declared size, which
  must itself be plausible for its compressed size, below a per-member cap and,
  summed over the archive, below a global cap; inflating past the declared size,
  a bad CRC, corrupt deflate data, an unknown compression method or the
  encrypted flag is an error;
- JSON that is not UTF-8, malformed, or nested deeper than `MAX_JSON_DEPTH`
  is an error.

Every such failure is raised as the loader's own `ProjectFileError` naming the
file and the member; nothing from the file is executed and memory stays bounded
by the caps, never by what the file claims.

Writing (`atomic_write`) puts the new bytes in a temporary file beside the
target, fsyncs it and `os.replace`s it over the target. The previous version is
kept as ``<name>.bak``, itself replaced atomically (a hard link, or a fsynced
copy where links are not possible), so a kill at any moment leaves the main file
and the backup each either the old or the new complete version. Temporary files
are removed on any failure, and a later save removes the ones a killed save left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Collection, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.graph.errors import ProjectFileError

PROJECT_MEMBER = "project.json"
MAX_PROJECT_JSON = 64 * 1024 * 1024  # the document, settings and UI state: text, never weights
MAX_MEMBER_BYTES = 8 * 1024**3  # one run file: the weights of a big network (read into memory, as torch needs)
MAX_TOTAL_BYTES = 32 * 1024**3  # everything read from one project
MAX_MEMBERS = 20_000
MAX_JSON_DEPTH = 100  # the project format nests a few levels; deeper is hostile or broken
_CHUNK = 1024 * 1024
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than this (RFC 1951 block limits)
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_RUN_MEMBER = re.compile(r"^runs/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps keep saves byte-identical
_STALE_TEMP_AGE_S = 600.0  # where liveness of the writer cannot be checked (Windows)
_REUSED_PID_AGE_S = 3600.0


INITIAL_WEIGHTS_MEMBER = "weights/initial.safetensors"  # an imported network's weights (engine.importing)
# a sweep's configuration and its Optuna journal (engine.sweep); plain JSON, read with their own checks
SWEEP_CONFIG_MEMBER, SWEEP_JOURNAL_MEMBER = "sweep/config.json", "sweep/journal.log"
SWEEP_MEMBERS = (SWEEP_CONFIG_MEMBER, SWEEP_JOURNAL_MEMBER)


def is_known_member(name: str) -> bool:
    """Whether `name` is a member Layerloom reads: project.json, a run file, the initial weights or a sweep's."""
    return name in (PROJECT_MEMBER, INITIAL_WEIGHTS_MEMBER, *SWEEP_MEMBERS) or bool(_RUN_MEMBER.match(name))


@dataclass
class ZipContents:
    """What `read_project_zip` found: project.json, the run files, and the names it skipped."""

    project_json: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def read_project_zip(source: Path, only: Collection[str] | None = None) -> ZipContents:
    """Read the known members of a `.loom` zip within the caps, or raise ProjectFileError.

    With `only`, just project.json and those members are inflated (a sweep's journal without the weights)."""
    where = str(source)
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ProjectFileError(f"{where} holds {len(infos):,} members; a project holds at most "
                                       f"{MAX_MEMBERS:,}")
            members = {info.filename: info for info in infos if not info.is_dir()}
            if PROJECT_MEMBER not in members:
                raise ProjectFileError(f"{where} is a zip but holds no {PROJECT_MEMBER}")
            budget = [MAX_TOTAL_BYTES]
            raw = _read_member(archive, members[PROJECT_MEMBER], MAX_PROJECT_JSON, budget, where)
            contents = ZipContents(raw)
            for name, info in members.items():
                if name == PROJECT_MEMBER:
                    continue
                if not is_known_member(name):
                    contents.skipped.append(name)
                    continue
                if only is not None and name not in only:
                    continue
                contents.attachments[name] = _read_member(archive, info, MAX_MEMBER_BYTES, budget, where)
            return contents
    except ProjectFileError:
        raise
    except zipfile.BadZipFile as exc:
        if str(exc) == "File is not a zip file":
            raise ProjectFileError(f"{where} is not a Layerloom project (not a zip file)") from None
        raise ProjectFileError(f"{where} is not a readable Layerloom project (damaged zip: {exc})") from None
    except (OSError, EOFError, ValueError, OverflowError, RuntimeError, NotImplementedError, zlib.error,
            UnicodeDecodeError, IndexError, KeyError, struct.error) as exc:
        # zipfile raises these for truncated, inconsistent or unsupported archives (IndexError and
        # struct.error from a member's damaged "extra" field, found by the fuzz test)
        raise ProjectFileError(f"{where} is not a readable Layerloom project ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: list[int],
                 where: str) -> bytes:
    """One member, read in chunks, never more than declared, the member cap or the remaining budget."""
    name = f"{where}: member {info.filename!r}"
    if info.flag_bits & 0x1:
        raise ProjectFileError(f"{name} is encrypted; Layerloom projects are never encrypted")
    if info.compress_type not in _COMPRESSIONS:
        raise ProjectFileError(f"{name} uses compression method {info.compress_type}, which Layerloom does "
                               "not read (only stored or deflate)")
    declared = info.file_size
    if declared > cap:
        raise ProjectFileError(f"{name} declares {declared:,} bytes; the limit is {cap:,}")
    if declared > budget[0]:
        raise ProjectFileError(f"{where}: the members add up to more than {MAX_TOTAL_BYTES:,} bytes")
    if info.compress_type == zipfile.ZIP_STORED and declared != info.compress_size:
        raise ProjectFileError(f"{name} declares {declared:,} bytes but stores {info.compress_size:,}")
    if info.compress_type == zipfile.ZIP_DEFLATED and declared > info.compress_size * _DEFLATE_MAX_RATIO + 1024:
        raise ProjectFileError(f"{name} declares {declared:,} bytes from {info.compress_size:,} compressed "
                               "bytes, more than deflate can produce")
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as stream:
            # ask for one byte past the declared size: a reader that gives it means the member inflates further
            while True:
                chunk = stream.read(min(_CHUNK, declared - total + 1))
                if not chunk:
                    break
                total += len(chunk)
                if total > declared:
                    raise ProjectFileError(f"{name} inflates past its declared {declared:,} bytes")
                chunks.append(chunk)
    except zipfile.BadZipFile as exc:
        # zipfile cuts a member off at its declared size; one that inflates further then fails its CRC
        raise ProjectFileError(f"{name} is damaged ({exc}; its data does not match its declared size and "
                               "checksum)") from None
    except (zlib.error, EOFError) as exc:
        raise ProjectFileError(f"{name} is damaged (its compressed data cannot be inflated: {_reason(exc)})") \
            from None
    if total != declared:
        raise ProjectFileError(f"{name} holds {total:,} bytes but declares {declared:,}")
    budget[0] -= total
    return b"".join(chunks)


def parse_json_member(raw: bytes, where: str, member: str = PROJECT_MEMBER) -> Any:
    """Decode a JSON member, refusing bad text, malformed JSON and hostile nesting."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectFileError(f"{where}: {member} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectFileError(f"{where}: {member}: malformed JSON at line {exc.lineno}, column "
                               f"{exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ProjectFileError(f"{where}: {member} is nested too deeply to read") from None
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise ProjectFileError(f"{where}: {member} is nested more than {MAX_JSON_DEPTH} levels deep")
    return data


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: deep input cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterator[Any] | None = None
        if isinstance(value, dict):
            children = iter(value.values())
        elif isinstance(value, list):
            children = iter(value)
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


# ---- writing ---------------------------------------------------------------------


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A deflated zip of `members` in the given order, with fixed timestamps and 0644 modes."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def backup_path(target: Path) -> Path:
    return target.with_name(target.name + ".bak")


def atomic_write(target: Path, data: bytes, *, keep_backup: bool = True) -> Path:
    """Write `data` to `target` atomically, keeping the previous version as `<target>.bak`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~current_umask()
    temporaries: list[Path] = []
    try:
        new = _temporary(target, temporaries)
        with open(new, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(new, mode)  # mkstemp creates the file private (0600)
        if keep_backup and target.exists():
            _replace_backup(target, temporaries)
        os.replace(new, target)
        temporaries.remove(new)
        _fsync_folder(target.parent)
    finally:
        for leftover in temporaries:
            with suppress(OSError):
                leftover.unlink()
    return target


def _temporary(target: Path, temporaries: list[Path]) -> Path:
    # the writer's pid is in the name, so a later save can tell a killed writer's file from a live one's
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    path = Path(name)
    temporaries.append(path)
    return path


def _replace_backup(target: Path, temporaries: list[Path]) -> None:
    """Make `<target>.bak` the current target, atomically: link (or copy and fsync) it, then replace."""
    staged = _temporary(target, temporaries)
    staged.unlink()
    try:
        os.link(target, staged)  # instant and atomic; the target is replaced by a new inode afterwards
    except OSError:
        shutil.copy2(target, staged)
        with open(staged, "rb+") as handle:
            os.fsync(handle.fileno())
    # rename() does nothing when both names are links to one file (a save killed between its two
    # replaces leaves the backup and the file so); `staged` then stays listed and is removed afterwards
    os.replace(staged, backup_path(target))


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def temporaries_of(target: Path) -> list[Path]:
    """Temporary files of saves of `target` (finished, running or killed) in its folder."""
    prefix = f".{target.name}."
    with suppress(OSError):
        return [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    return []


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove temporary files that killed saves of `target` left; returns what was removed."""
    removed = []
    for path in temporaries_of(target):
        if _writer_is_gone(path, target):
            with suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _writer_is_gone(path: Path, target: Path) -> bool:
    """Whether the save that made `path` is over: its process no longer exists (or, unknown, it is old)."""
    pid_text = path.name[len(target.name) + 2:].split(".", 1)[0]
    if os.name == "posix" and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return False  # a save of this process (another thread's) may be running
        try:
            os.kill(pid, 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:
            pass
        # the pid may have been reused by another program: a file untouched for an hour is no live save
        return _age_s(path) > _REUSED_PID_AGE_S
    return _age_s(path) > _STALE_TEMP_AGE_S


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def current_umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
