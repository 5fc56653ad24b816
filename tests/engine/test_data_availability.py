"""`dataset_availability`: a cheap check of whether a dataset can be loaded here, for readiness messages."""

from __future__ import annotations

import pytest
from cifar_files import write_cifar

from engine.data.availability import dataset_availability
from engine.examples import EXAMPLE_BUILDERS


@pytest.mark.parametrize("name", sorted(EXAMPLE_BUILDERS))
def test_every_bundled_example_trains_offline(name):
    result = dataset_availability(EXAMPLE_BUILDERS[name]().dataset)
    assert result.ready and not result.needs_download and not result.message


def cifar(root, download: bool) -> dict:
    return {"kind": "cifar10", "params": {"root": str(root), "download": download}}


def test_missing_standard_set_with_download_off_is_not_ready(tmp_path):
    result = dataset_availability(cifar(tmp_path, False))
    assert not result.ready
    assert "CIFAR-10 files were not found" in result.message and "download is off" in result.message


def test_missing_standard_set_with_download_on_is_ready_but_says_it_downloads(tmp_path):
    result = dataset_availability(cifar(tmp_path, True))
    assert result.ready and result.needs_download
    assert "170 MB" in result.message and str(tmp_path / "cifar-10-batches-py") in result.message


def test_standard_set_on_disk_is_ready(tmp_path):
    write_cifar(tmp_path, per_batch=2)
    result = dataset_availability(cifar(tmp_path, False))
    assert result.ready and not result.needs_download and not result.message


def test_relative_paths_resolve_against_the_project_folder(tmp_path):
    write_cifar(tmp_path / "data", per_batch=2)
    assert dataset_availability(cifar("data", False), tmp_path).ready
    assert not dataset_availability(cifar("data", False), tmp_path / "elsewhere").ready


@pytest.mark.parametrize(("dataset", "words"), [
    ({}, "no dataset"),
    ({"kind": "csv", "params": {"path": "missing.csv"}}, "does not exist"),
    ({"kind": "image_folder", "params": {"path": ""}}, "choose a"),
    ({"kind": "spirals", "params": {"arms": 0}}, "arms"),
    ({"kind": "no_such_kind"}, "unknown dataset kind"),
    ("not a dict", "must be a JSON object"),
])
def test_unusable_settings_are_not_ready_and_say_why(tmp_path, dataset, words):
    result = dataset_availability(dataset, tmp_path)
    assert not result.ready and words in result.message


def test_preflight_with_the_project_folder_reports_unavailable_data_and_validate_says_so(tmp_path, capsys):
    from engine.cli import main
    from engine.project import load_project, save_project
    from engine.resources import example_path
    from engine.train.preflight import DATASET, preflight

    project = load_project(example_path("resnet_small"))
    assert preflight(project.network, project.dataset, project.training, base=tmp_path) == []
    project.dataset = cifar("data", False)
    problems = preflight(project.network, project.dataset, project.training, base=tmp_path)
    assert [p.section for p in problems] == [DATASET] and "CIFAR-10 files were not found" in problems[0].message
    assert preflight(project.network, project.dataset, project.training) == []  # no folder: not checked
    write_cifar(tmp_path / "data", per_batch=2)
    assert preflight(project.network, project.dataset, project.training, base=tmp_path) == []

    path = save_project(project, tmp_path / "elsewhere" / "p.loom")  # its data/ folder is not beside it
    assert main(["validate", str(path)]) == 1
    assert "CIFAR-10 files were not found" in capsys.readouterr().out
