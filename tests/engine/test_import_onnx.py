"""Importing ONNX files written by torch's current exporter; outputs compared with onnxruntime on the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
import torchvision

from engine.build import build_module
from engine.importing.report import ImportFailed
from engine.importing.sources import import_source

SHAPE = (3, 96, 96)


def _export(module: torch.nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    module.eval()
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(module, (torch.randn(2, *shape),), str(path), dynamic_shapes=({0: batch},), verbose=False)
    return path


def _check(name: str, tmp_path: Path, shape: tuple[int, ...] = SHAPE) -> None:
    torch.manual_seed(0)
    source = torchvision.models.get_model(name, num_classes=10)
    for module in source.modules():  # torchvision starts some heads at zero: outputs would agree trivially
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=0.05)
    path = _export(source, shape, tmp_path / f"{name}.onnx")
    result = import_source(str(path))
    assert result.report.ok and result.report.method == "onnx"
    top = [n.id for n in result.doc.nodes.values()]
    # the module tree survives the file (the exporter folds batch norms into the convolutions before them)
    children = [c for c, m in source.named_children()
                if sum(p.numel() for p in m.parameters()) and not isinstance(m, torch.nn.BatchNorm2d)]
    assert all(c in top for c in children), (children, top)
    module = build_module(result.doc)
    module.load_state_dict(result.state_dict, strict=False)
    module.eval()
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(2))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        got = module(x).numpy()
    scale = float(np.abs(expected).max())
    assert scale > 0  # a real comparison, not of zeros
    # within 1e-4, and within 1e-4 of the output's scale (randomly initialised deep networks give tiny logits)
    assert float(np.abs(got - expected).max()) < 1e-4 * min(1.0, scale)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_onnx_files_from_torch_import_and_match_onnxruntime(name: str, tmp_path: Path) -> None:
    _check(name, tmp_path)


@pytest.mark.slow
def test_onnx_efficientnet_imports_and_matches_onnxruntime(tmp_path: Path) -> None:
    _check("efficientnet_b0", tmp_path)


@pytest.mark.slow
def test_onnx_vision_transformer_imports_and_matches_onnxruntime(tmp_path: Path) -> None:
    """The exporter spreads each attention module over dozens of ops; they come back as one layer."""
    _check("vit_b_16", tmp_path, (3, 224, 224))


def test_an_onnx_op_without_a_layer_is_reported_once_at_its_cause(tmp_path: Path) -> None:
    class Odd(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)
            self.out = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(torch.erf(self.fc(x)))

    path = _export(Odd(), (4,), tmp_path / "odd.onnx")
    with pytest.raises(ImportFailed) as failure:
        import_source(str(path))
    (unmapped,) = failure.value.report.unmapped  # the layers after it are not listed as well
    assert unmapped.op == "onnx.Erf" and "Erf" in unmapped.reason


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        import_source(str(path))
