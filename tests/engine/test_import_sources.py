"""Import sources, weights files, the report of what cannot be mapped, and `layerloom import`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from engine.build import build_module
from engine.cli import main
from engine.graph.blocks import REPEAT
from engine.importing.importer import import_module
from engine.importing.report import ImportFailed
from engine.importing.sources import SourceError, import_source, load_module, parse_kwargs
from engine.importing.weights import INITIAL_WEIGHTS, WeightsError, initial_weights, read_weights
from engine.project import load_project

MODEL_SOURCE = '''
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
    def __init__(self, channels=8, classes=3, cells=3):
        super().__init__()
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        self.cells = nn.Sequential(*[Cell(channels) for _ in range(cells)])
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.cells(self.stem(x))
        return self.head(x.mean((2, 3)))


class Strange(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 4))

    def forward(self, x):
        return torch.erf(self.inner(x)).sort(dim=-1).values


def make_small(width=4):
    return SmallNet(channels=width)
'''


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(MODEL_SOURCE))
    return path


def test_a_class_in_a_python_file_imports_with_keyword_arguments(model_file: Path) -> None:
    result = import_source(f"{model_file}:SmallNet", parse_kwargs(["channels=6", "classes=5"]), [(1, 12, 12)])
    doc = result.doc
    assert [n.id for n in doc.nodes.values()] == ["x", "stem", "cells", "mean", "head", "output"]
    cells = doc.node("cells")
    assert cells.params[REPEAT] == 3 and doc.library.get(cells.type_id).name == "Cell"
    assert result.report.ok and result.report.parameters == result.report.source_parameters
    assert result.report.max_abs_diff is not None and result.report.max_abs_diff < 1e-5
    assert doc.node("head").params["out_features"] == 5
    assert set(build_module(doc).state_dict()) == set(result.state_dict)


def test_a_factory_function_and_a_module_path(model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module, shape = load_module(f"{model_file}:make_small", {"width": 3})
    assert shape is None and module.stem.out_channels == 3
    monkeypatch.syspath_prepend(str(model_file.parent))
    module, _ = load_module("models:SmallNet", {"cells": 1})
    assert len(module.cells) == 1
    with pytest.raises(SourceError, match="has no 'Missing'"):
        load_module("models:Missing")
    with pytest.raises(SourceError, match="no model"):
        load_module("torchvision:not_a_model")
    with pytest.raises(SourceError, match="--input-shape"):
        import_source(f"{model_file}:SmallNet")


def test_unmappable_operations_are_reported_by_path_and_op_and_the_import_fails(model_file: Path) -> None:
    with pytest.raises(ImportFailed) as failure:
        import_source(f"{model_file}:Strange", input_shapes=[(4,)])
    report = failure.value.report
    assert not report.ok
    lines = [u.line() for u in report.unmapped]
    assert any(line.startswith("erf: torch.erf") for line in lines), lines
    assert any("sort" in u.op for u in report.unmapped), lines
    text = report.text()
    assert "could not be mapped" in text and "result: FAILED" in text


def test_an_unmappable_op_inside_a_block_names_its_path() -> None:
    class Inner(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumsum(x, dim=1)

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 3), Inner())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    with pytest.raises(ImportFailed) as failure:
        import_module(Outer(), [(3,)])
    (unmapped,) = failure.value.report.unmapped
    assert unmapped.path == "body ▸ 1 ▸ cumsum" and unmapped.op == "torch.cumsum"


def test_weights_from_safetensors_and_state_dicts(model_file: Path, tmp_path: Path) -> None:
    source, _ = load_module(f"{model_file}:SmallNet")
    torch.manual_seed(3)
    trained = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in source.state_dict().items()}
    save_file(trained, tmp_path / "w.safetensors")
    torch.save(trained, tmp_path / "w.pt")
    torch.save({"state_dict": trained, "epoch": 3}, tmp_path / "checkpoint.pth")
    for name in ("w.safetensors", "w.pt", "checkpoint.pth"):
        result = import_source(f"{model_file}:SmallNet", input_shapes=[(1, 8, 8)], weights=tmp_path / name)
        assert torch.equal(result.state_dict["head.weight"], trained["head.weight"]), name


def test_weights_that_need_unpickling_are_refused(model_file: Path, tmp_path: Path) -> None:
    source, _ = load_module(f"{model_file}:SmallNet")
    torch.save(source, tmp_path / "whole_model.pt")  # a pickled module: code, not weights
    with pytest.raises(WeightsError, match="never unpickles"):
        read_weights(tmp_path / "whole_model.pt")
    with pytest.raises(ImportFailed, match="never unpickles"):
        import_source(f"{model_file}:SmallNet", input_shapes=[(1, 8, 8)], weights=tmp_path / "whole_model.pt")
    (tmp_path / "w.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        read_weights(tmp_path / "w.safetensors")
    save_file({"head.weight": torch.zeros(2, 2)}, tmp_path / "wrong.safetensors")
    with pytest.raises(ImportFailed, match="does not fit the model"):
        import_source(f"{model_file}:SmallNet", input_shapes=[(1, 8, 8)], weights=tmp_path / "wrong.safetensors")


def test_cli_import_writes_a_project_with_initial_weights(model_file: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "small.loom"
    status = main(["import", f"{model_file}:SmallNet", "-o", str(out), "--input-shape", "1,10,10",
                   "--arg", "classes=4"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "result: imported" in printed and "outputs match the source" in printed
    project = load_project(out)
    assert project.network.node("head").params["out_features"] == 4
    weights = initial_weights(project.attachments)
    assert weights is not None and INITIAL_WEIGHTS in project.attachments
    module = build_module(project.network)
    module.load_state_dict(weights)  # every key, every shape


def test_cli_import_exits_1_and_writes_nothing_when_an_op_cannot_be_mapped(
        model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "strange.loom"
    status = main(["import", f"{model_file}:Strange", "-o", str(out), "--input-shape", "4"])
    printed = capsys.readouterr().out
    assert status == 1 and not out.exists()
    assert "erf: torch.erf" in printed and "result: FAILED" in printed


def test_cli_import_exits_2_for_a_source_that_cannot_be_loaded(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["import", str(tmp_path / "missing.py") + ":Net", "-o", str(tmp_path / "x.loom")])
    assert status == 2 and "no such Python file" in capsys.readouterr().err


def test_importing_leaves_the_source_module_untouched(model_file: Path) -> None:
    source, _ = load_module(f"{model_file}:SmallNet")
    source.train()
    before = {k: v.clone() for k, v in source.state_dict().items()}
    import_module(source, [(1, 8, 8)])
    assert source.training
    assert all(torch.equal(before[k], v) for k, v in source.state_dict().items())  # batch counters too
