"""File ▸ Import Model…: the import runs off the GUI thread, shows its report, and opens the network."""

from __future__ import annotations

import textwrap
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

MODELS = '''
import torch
from torch import nn


class Cell(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class SmallNet(nn.Module):
    def __init__(self, channels=8, classes=3):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.cells = nn.Sequential(Cell(channels), Cell(channels))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.cells(self.stem(x))), 1))


class Flat(nn.Module):
    """Layers only: opens without blocks (the canvas draws block instances once blocks-studio lands)."""

    def __init__(self, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.relu(self.bn(self.conv(x)))), 1))


class Strange(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 8), nn.ReLU())

    def forward(self, x):
        return torch.fft.rfft(self.encoder(x)).abs()
'''


def _models(tmp_path: Path) -> Path:
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(MODELS))
    return path


def _open_dialog(window, qtbot):  # -> ImportDialog
    window.actions.import_model.trigger()
    dialog = window.import_dialog
    qtbot.waitExposed(dialog)
    return dialog


def _click_import(dialog, qtbot) -> None:
    button = dialog.buttons.button(QDialogButtonBox.StandardButton.Close)
    assert button is not None
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)


def test_import_model_opens_the_imported_network(window, qtbot, tmp_path, screenshots):
    dialog = _open_dialog(window, qtbot)
    qtbot.keyClicks(dialog.source, f"{_models(tmp_path)}:Flat")
    qtbot.keyClicks(dialog.shape, "3,16,16")
    qtbot.keyClicks(dialog.arguments, "classes=5")
    _click_import(dialog, qtbot)
    assert dialog.progress.isVisible() or not dialog.running  # busy while the worker thread imports
    qtbot.waitUntil(lambda: window.controller is not None and "head" in window.controller.project.network.nodes,
                    timeout=120_000)
    assert window.import_dialog is None or not window.import_dialog.isVisible()
    doc = window.controller.project.network
    assert [n.id for n in doc.nodes.values()] == ["x", "conv", "bn", "relu", "pool", "flatten", "head", "output"]
    assert doc.node("head").params["out_features"] == 5
    assert set(window.scene.nodes) == set(doc.nodes)  # drawn on the canvas
    assert "weights/initial.safetensors" in window.controller.project.attachments
    window.fit_to_view()
    qtbot.wait(100)
    window.grab().save(str(screenshots / "import_small_net.png"))


def test_an_unmappable_model_keeps_the_dialog_open_with_the_report(window, qtbot, tmp_path, screenshots):
    def open_nodes() -> list[str] | None:
        return None if window.controller is None else list(window.controller.project.network.nodes)

    before = open_nodes()
    dialog = _open_dialog(window, qtbot)
    qtbot.keyClicks(dialog.source, f"{_models(tmp_path)}:Strange")
    qtbot.keyClicks(dialog.shape, "4")
    _click_import(dialog, qtbot)
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    text = dialog.report.toPlainText()
    assert dialog.isVisible() and "could not be mapped" in text and "torch.fft.rfft" in text, text
    assert "result: FAILED" in text
    assert open_nodes() == before  # nothing replaced what was open
    dialog.grab().save(str(screenshots / "import_report_unmappable.png"))
    dialog.reject()


def test_a_source_that_cannot_be_loaded_says_why(window, qtbot, tmp_path):
    dialog = _open_dialog(window, qtbot)
    qtbot.keyClicks(dialog.source, str(tmp_path / "missing.py") + ":Net")
    _click_import(dialog, qtbot)
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "no such Python file" in dialog.report.toPlainText()
    dialog.reject()
