"""Blocks build into nested modules with hand-written names; ResNet-18 equals torchvision's."""

from __future__ import annotations

import pytest
import torch
import torchvision

from engine.block_catalog import BUNDLED_BLOCKS, install_bundled, resnet18_network, transformer_classifier
from engine.build import build_module, example_inputs
from engine.export.exporters import export_network
from engine.graph.analysis import analyze
from engine.network import Network


def test_resnet18_from_blocks_is_torchvisions_resnet18() -> None:
    net = resnet18_network()
    result = analyze(net.doc)
    assert result.ok and result.total_params == 11_689_512
    module = build_module(net.doc, result)
    reference = torchvision.models.resnet18()
    assert sum(p.numel() for p in module.parameters()) == 11_689_512
    ours, theirs = module.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert "layer2.0.downsample.0.weight" in ours and "layer2.1.downsample.0.weight" not in ours
    module.load_state_dict(theirs)
    module.eval()
    reference.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(module(x), reference(x), atol=1e-5, rtol=0)
    assert type(module.layer1[0]).__name__ == "BasicBlock"


def test_a_transformer_made_of_one_repeated_block_builds_and_trains() -> None:
    torch.manual_seed(0)
    net = transformer_classifier(vocab=20, length=12, d_model=32, heads=4, layers=3, classes=2)
    module = build_module(net.doc)
    keys = list(module.state_dict())
    assert any(k.startswith("encoder.2.self_attn.") for k in keys) and "encoder.2.norm2.weight" in keys
    assert isinstance(module.encoder, torch.nn.Sequential) and len(module.encoder) == 3
    tokens = torch.randint(0, 20, (64, 12), generator=torch.Generator().manual_seed(1))
    labels = (tokens[:, 0] < 10).long()  # the class is in the first token: attention must carry it
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(tokens), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("name", BUNDLED_BLOCKS)
def test_every_bundled_block_validates_builds_and_counts_its_parameters(name: str) -> None:
    sequence = name == "TransformerEncoderBlock"
    net = Network(name)
    install_bundled(net.doc, name)
    x = net.input((10, 64) if sequence else (64, 8, 8), name="x")
    values = {"d_model": 64} if sequence else {"channels": 64} if name not in ("InvertedResidual",) else {}
    if name == "InvertedResidual":
        values = {"channels": 64, "hidden": 384}
    y = net.add(name, x, name="block", **values)
    net.output(y, name="y")
    result = analyze(net.doc)
    assert result.ok, [p.message for p in result.problems]
    module = build_module(net.doc, result)
    assert result.total_params == sum(p.numel() for p in module.parameters())
    module.eval()
    out = module(*example_inputs(net.doc))
    assert tuple(out.shape[1:]) == result.output_of("block").shape


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_networks_with_blocks_export(tmp_path, fmt: str) -> None:
    net = resnet18_network(num_classes=5, input_shape=(3, 32, 32))
    report = export_network(net.doc, fmt, tmp_path / "resnet")
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
