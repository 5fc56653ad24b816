"""Opening a shared project in the studio never runs code from a crafted dataset file beside it."""

from __future__ import annotations

from cifar_files import write_cifar
from test_training_support import training_fixture  # noqa: F401

from engine.project import load_project, save_project
from engine.resources import example_path


def test_opening_a_project_beside_a_crafted_cifar_batch_refuses_it_and_never_runs_it(window, training, qtbot,
                                                                                   tmp_path):
    marker = tmp_path / "ran.txt"
    write_cifar(tmp_path / "data", evil_marker=marker)
    project = load_project(example_path("resnet_small"))
    project.dataset = {"kind": "cifar10", "params": {"root": "data", "download": False, "max_samples": 40},
                       "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}
    path = save_project(project, tmp_path / "shared.loom")

    assert window.open_path(path)
    qtbot.waitUntil(lambda: bool(training.preview.error) or training.preview.result is not None, timeout=60_000)

    panel = training.panels["dataset"]
    assert training.preview.result is None
    assert "data_batch_1 was refused" in training.preview.error
    qtbot.waitUntil(lambda: panel.error.isVisible(), timeout=10_000)
    assert "data_batch_1 was refused" in panel.error.text() and "could run code" in panel.error.text()
    assert not marker.exists()
