"""Importing through torch.export: saved .pt2 programs, and the fallback for modules torch.fx cannot trace."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from engine.build import build_module
from engine.importing.importer import import_module
from engine.importing.report import ImportFailed
from engine.importing.sources import import_source

SHAPE = (3, 64, 64)


def _save_program(module: nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    module.eval()
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(module, (torch.randn(2, *shape),), dynamic_shapes=({0: batch},))
    torch.export.save(program, path)
    return path


def test_a_saved_program_imports_with_the_module_tree_and_its_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = torchvision.models.resnet18(num_classes=7).eval()
    path = _save_program(source, SHAPE, tmp_path / "resnet18.pt2")
    result = import_source(str(path))
    assert result.report.ok and result.report.method.startswith("torch.export")
    assert result.report.max_abs_diff is not None and result.report.max_abs_diff < 1e-5
    doc = result.doc
    traced = import_module(source, [SHAPE], check=False).doc  # the same hierarchy as torch.fx gives
    assert [n.id for n in doc.nodes.values()] == [n.id for n in traced.nodes.values()]
    assert sorted(d.name for d in doc.library) == sorted(d.name for d in traced.library)
    module = build_module(doc)
    assert set(module.state_dict()) == set(source.state_dict())
    module.load_state_dict(result.state_dict)
    module.eval()
    x = torch.randn(3, *SHAPE)
    with torch.no_grad():
        assert torch.allclose(module(x), source(x), atol=1e-5, rtol=0)


def test_a_program_with_an_unmappable_op_is_reported(tmp_path: Path) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.erf(self.fc(x))

    path = _save_program(Odd(), (4,), tmp_path / "odd.pt2")
    with pytest.raises(ImportFailed) as failure:
        import_source(str(path))
    (unmapped,) = failure.value.report.unmapped
    assert unmapped.path.endswith("erf") and "erf" in unmapped.op


def test_a_pt2_that_is_not_a_program_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "fake.pt2"
    path.write_bytes(b"PK\x03\x04 not really a program")
    with pytest.raises(ValueError, match=r"not a torch\.export program"):
        import_source(str(path))


class ShapeBranch(nn.Module):
    """Python control flow on a shape: torch.fx cannot follow it, torch.export can."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Linear(8, 8)
        self.narrow = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > 4:
            x = torch.relu(self.wide(x))
        return self.narrow(x)


def test_a_module_torch_fx_cannot_trace_is_imported_through_torch_export() -> None:
    source = ShapeBranch()
    result = import_module(source, [(8,)], source="ShapeBranch")
    assert result.report.method == "torch.export"
    assert any("torch.fx could not trace" in note for note in result.report.notes)
    assert [n.type_id for n in result.doc.nodes.values()] == ["Input", "Linear", "ReLU", "Linear", "Output"]
    assert result.doc.node("narrow").params["out_features"] == 3
    assert result.report.max_abs_diff is not None and result.report.max_abs_diff < 1e-6
