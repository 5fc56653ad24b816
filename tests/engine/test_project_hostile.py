"""Hostile and damaged `.loom` files: each ends in the loader's own clear error, within bounded memory."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from engine.graph.errors import ProjectFileError
from engine.project import Project, load_project, save_project
from engine.project_zip import MAX_JSON_DEPTH
from engine.resources import example_path

ROOT = Path(__file__).resolve().parents[2]


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return bytearray(buffer.getvalue())


def patch(data: bytearray, member: str, *, flags: int | None = None, method: int | None = None,
          size: int | None = None) -> bytearray:
    """Rewrite one member's fields in both its local header and its central-directory entry."""
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    local = info.header_offset
    central = data.find(b"PK\x01\x02" + data[local + 4:local + 6])
    while data[central + 46:central + 46 + len(member)] != member.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    for offset, value, fmt in ((6, flags, "<H"), (8, method, "<H"), (22, size, "<I")):
        if value is not None:
            struct.pack_into(fmt, data, local + offset, value)
            struct.pack_into(fmt, data, central + offset + 2, value)
    return data


def lenet_json() -> bytes:
    with zipfile.ZipFile(example_path("lenet5")) as archive:
        return archive.read("project.json")


def load_bytes(tmp_path: Path, data: bytes | bytearray) -> Project:
    path = tmp_path / "hostile.loom"
    path.write_bytes(bytes(data))
    return load_project(path)


def test_corrupt_deflate_data_is_a_clear_error(tmp_path):
    data = zip_of({"project.json": lenet_json()})
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("project.json")
    start = info.header_offset + 30 + len(info.filename)
    data[start:start + info.compress_size] = b"\xff" * info.compress_size
    with pytest.raises(ProjectFileError, match=r"'project\.json' is damaged"):
        load_bytes(tmp_path, data)


def test_unknown_compression_method_is_a_clear_error(tmp_path):
    data = patch(zip_of({"project.json": lenet_json()}), "project.json", method=77)
    with pytest.raises(ProjectFileError, match="compression method 77"):
        load_bytes(tmp_path, data)


def test_encrypted_flag_is_a_clear_error(tmp_path):
    data = patch(zip_of({"project.json": lenet_json()}), "project.json", flags=0x1)
    with pytest.raises(ProjectFileError, match="encrypted"):
        load_bytes(tmp_path, data)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 5, 200_000])
def test_deeply_nested_json_is_a_clear_error(tmp_path, depth):
    text = '{"format": "layerloom-project", "version": 1, "ui": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(ProjectFileError, match="nested"):
        load_bytes(tmp_path, zip_of({"project.json": text.encode()}))


def test_a_member_that_inflates_past_its_declared_size_is_refused_in_bounded_memory(tmp_path):
    bomb = b"\0" * 50_000_000  # 50 MB of zeros deflate to about 50 KB
    data = patch(zip_of({"project.json": lenet_json(), "runs/r1/best.safetensors": bomb}),
                 "runs/r1/best.safetensors", size=1000)
    tracemalloc.start()
    try:
        with pytest.raises(ProjectFileError, match=r"'runs/r1/best\.safetensors' is damaged"):
            load_bytes(tmp_path, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"reading a member declared as 1 KB took {peak:,} bytes"


def test_a_declared_size_deflate_cannot_produce_is_refused_before_reading(tmp_path):
    data = patch(zip_of({"project.json": lenet_json(), "runs/r1/last.safetensors": b"x" * 100}),
                 "runs/r1/last.safetensors", size=3_000_000_000)
    with pytest.raises(ProjectFileError, match=r"more than deflate can produce|the limit is"):
        load_bytes(tmp_path, data)


def test_stored_member_whose_sizes_disagree_is_refused(tmp_path):
    data = patch(zip_of({"project.json": lenet_json()}, zipfile.ZIP_STORED), "project.json", size=10)
    with pytest.raises(ProjectFileError, match="declares 10 bytes"):
        load_bytes(tmp_path, data)


def test_only_known_members_are_read(tmp_path):
    members = {"project.json": lenet_json(), "runs/run-1/run.json": b"{}", "__MACOSX/._project.json": b"x",
               "../../escape.txt": b"x", "runs/run-1/sub/deeper.json": b"{}", "notes.txt": b"hello"}
    project = load_bytes(tmp_path, zip_of(members))
    assert project.attachments == {"runs/run-1/run.json": b"{}"}


def test_truncated_zip_is_a_clear_error(tmp_path):
    data = bytes(zip_of({"project.json": lenet_json()}))
    for cut in (len(data) // 3, len(data) - 10):
        with pytest.raises(ProjectFileError, match=r"not a (readable )?Layerloom project"):
            load_bytes(tmp_path, data[:cut])


def write_run_with_weights(tmp_path: Path, weights: bytes) -> Path:
    project = load_project(example_path("mlp_spirals"))
    head = {"run_id": "run-1", "status": "completed", "started": "2026-01-01T00:00:00Z", "weights": ["best"]}
    project.attachments.update({"runs/run-1/run.json": json.dumps(head).encode(),
                                "runs/run-1/best.safetensors": weights})
    return save_project(project, tmp_path / "weights.loom")


@pytest.mark.parametrize("payload", [b"\x80\x04\x95 not safetensors but a pickle", b"", b"\xff" * 64])
def test_export_of_a_run_with_unreadable_weights_exits_with_a_clear_message(tmp_path, payload):
    path = write_run_with_weights(tmp_path, payload)
    done = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(path), "--format", "safetensors"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "best weights of run 'run-1' are not a readable safetensors file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "weights.safetensors").exists()


def test_members_are_capped_one_by_one_and_all_together(tmp_path, monkeypatch):
    import engine.project_zip as project_zip

    members = {"project.json": lenet_json(), "runs/r1/best.safetensors": b"a" * 5000,
               "runs/r1/last.safetensors": b"b" * 5000}
    monkeypatch.setattr(project_zip, "MAX_MEMBER_BYTES", 4000)
    with pytest.raises(ProjectFileError, match=r"declares 5,000 bytes; the limit is 4,000"):
        load_bytes(tmp_path, zip_of(members))
    monkeypatch.setattr(project_zip, "MAX_MEMBER_BYTES", 10_000)
    monkeypatch.setattr(project_zip, "MAX_TOTAL_BYTES", len(lenet_json()) + 8000)
    with pytest.raises(ProjectFileError, match="add up to more than"):
        load_bytes(tmp_path, zip_of(members))
