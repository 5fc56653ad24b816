"""Project format 2: format-1 files (a copy kept under fixtures/) open unchanged; newer ones are refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from engine.block_catalog import resnet18_network
from engine.graph.analysis import analyze
from engine.graph.errors import ProjectFileError
from engine.graph.serialize import document_to_data
from engine.project import FORMAT_VERSION, Project, load_project, project_json_bytes, project_to_bytes

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT_1_FILES = sorted(FIXTURES.glob("format1_*.loom"))


def _project_json(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("project.json"))


def test_the_format_went_up_for_blocks() -> None:
    assert FORMAT_VERSION == 3  # 3: frozen nodes (test_freezing_document)
    assert FORMAT_1_FILES, "the format-1 fixtures are missing"


@pytest.mark.parametrize("path", FORMAT_1_FILES, ids=lambda p: p.stem)
def test_format_one_files_open_unchanged(path: Path) -> None:
    data = _project_json(path)
    assert data["version"] == 1
    project = load_project(path)
    assert document_to_data(project.network) == data["network"]  # the same network, node for node
    assert (project.name, project.dataset, project.training, project.ui) == (
        data["name"], data["dataset"], data["training"], data["ui"])
    assert analyze(project.network).ok
    resaved = json.loads(project_json_bytes(project))
    assert resaved == {**data, "version": 2}  # the lowest format that holds it (no frozen nodes)


def test_a_file_from_a_newer_layerloom_is_refused_clearly(tmp_path: Path) -> None:
    data = json.loads(project_json_bytes(Project(resnet18_network().doc, "r")))
    data["version"] = FORMAT_VERSION + 1
    path = tmp_path / "future.loom"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(data))
    with pytest.raises(ProjectFileError, match=r"written by a newer Layerloom \(project format 4; this one "
                                               r"reads up to 3\): update Layerloom to open it"):
        load_project(path)


def test_a_format_one_file_cannot_hold_blocks(tmp_path: Path) -> None:
    data = json.loads(project_json_bytes(Project(resnet18_network().doc, "r")))
    data["version"] = 1
    path = tmp_path / "odd.loom"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(data))
    with pytest.raises(ProjectFileError, match="format-1 project cannot hold blocks"):
        load_project(path)


def test_a_project_with_blocks_round_trips_byte_identically(tmp_path: Path) -> None:
    project = Project(resnet18_network().doc, "resnet18")
    first = project_to_bytes(project)
    (tmp_path / "a.loom").write_bytes(first)
    assert project_to_bytes(load_project(tmp_path / "a.loom")) == first
