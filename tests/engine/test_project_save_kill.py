"""Killing a saving process at random moments never corrupts the project, its backup or its folder.

A child process saves versions of a project over and over (the same `atomic_write` that
`save_project` ends in, with the versions' bytes made beforehand so that nearly all of its time is
spent inside the save); the test SIGKILLs it at a random moment, many times. After every kill the
main file and the backup must each be one of the versions, whole; a later save in this process must
then remove the temporary files the killed one left, leaving only the file and its backup.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.project import load_project, project_to_bytes
from engine.project_zip import atomic_write, backup_path, temporaries_of
from engine.resources import example_path

ROOT = Path(__file__).resolve().parents[2]
KILLS = 30
CHILD = """
import sys
from pathlib import Path
from engine.project_zip import atomic_write
versions = [Path(p).read_bytes() for p in sys.argv[2:]]
target = Path(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    atomic_write(target, versions[i % len(versions)])
    i += 1
"""

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is a POSIX signal")


def versions(tmp_path: Path, count: int = 3) -> list[Path]:
    """Project files of a few MB each, different in content, written beside the test's project."""
    rng = random.Random(5)
    paths = []
    for i in range(count):
        project = load_project(example_path("lenet5"))
        project.name = f"version {i}"
        project.attachments["runs/run-1/best.safetensors"] = rng.randbytes(2_000_000 + 500_000 * i)
        path = tmp_path / "versions" / f"v{i}.loom"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(project_to_bytes(project))
        paths.append(path)
    return paths


def test_sigkill_during_saves_leaves_a_whole_file_a_whole_backup_and_no_temporaries(tmp_path):
    sources = versions(tmp_path)
    whole = {p.read_bytes() for p in sources}
    folder = tmp_path / "project"
    folder.mkdir()
    target = folder / "model.loom"
    atomic_write(target, sources[0].read_bytes())
    rng = random.Random(11)
    left_temporaries = 0
    for _ in range(KILLS):
        with subprocess.Popen([sys.executable, "-c", CHILD, str(target), *map(str, sources)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) as child:
            try:
                assert child.stdout is not None and child.stdout.readline().strip() == "ready"
                time.sleep(rng.uniform(0.0, 0.25))
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait()
        assert target.read_bytes() in whole, "the main file is not a whole version after a kill"
        assert load_project(target).name.startswith("version")
        if backup_path(target).exists():
            assert backup_path(target).read_bytes() in whole, "the backup is not a whole version after a kill"
            load_project(backup_path(target))
        left_temporaries += bool(temporaries_of(target))
        atomic_write(target, sources[1].read_bytes())  # a later save cleans up after the killed one
        assert sorted(p.name for p in folder.iterdir()) == ["model.loom", "model.loom.bak"]
    # the kills did land inside saves (else this test would prove nothing about them)
    assert left_temporaries >= 3, f"only {left_temporaries} of {KILLS} kills interrupted a write"


def test_a_failing_save_removes_its_temporary_files(tmp_path, monkeypatch):
    target = tmp_path / "p.loom"
    atomic_write(target, b"first")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"second")
    monkeypatch.undo()
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.loom"]


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    target = tmp_path / "p.loom"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".p.loom.{sleeper.pid}.abc123.tmp"
        live.write_bytes(b"half")
        dead = tmp_path / ".p.loom.999999999.def456.tmp"
        dead.write_bytes(b"half")
        atomic_write(target, b"data")
        assert live.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_hour_old_temporary_is_stale_even_when_its_pid_lives_again(tmp_path):
    target = tmp_path / "p.loom"
    reused = tmp_path / f".p.loom.{os.getppid()}.old123.tmp"  # a live pid that is no save of ours
    reused.write_bytes(b"half")
    hour_ago = time.time() - 3700
    os.utime(reused, (hour_ago, hour_ago))
    atomic_write(target, b"data")
    assert not reused.exists()
