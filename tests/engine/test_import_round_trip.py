"""Round trips: networks exported as code or ONNX and imported back are the networks they came from:
bundled examples (the blocks-based small ResNet and LeNet-5) with the same layers, the same weights
under the same keys and the same outputs; an imported model exported as code, with the same hierarchy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch
import torchvision

from engine.build import build_module
from engine.examples import lenet5, resnet_small
from engine.export.exporters import export_network
from engine.export.project_export import export_project
from engine.graph.blocks import REPEAT
from engine.graph.document import GraphDocument
from engine.graph.serialize import body_to_data
from engine.importing.importer import ImportResult, import_module
from engine.importing.sources import import_source, project_from_import


def _structure(doc: GraphDocument) -> dict[str, object]:
    """Nodes (id, type, parameters) and wires of a network and of every block definition it uses."""
    def strip(data: dict[str, object]) -> dict[str, object]:
        for node in data["nodes"]:  # type: ignore[union-attr]
            node.pop("position")
        return data

    return {"network": strip(body_to_data(doc)),
            "blocks": {d.name: strip(body_to_data(d.body)) for d in doc.library}}


def _layer_types(module: torch.nn.Module) -> Counter[str]:
    """The kinds of layer modules in a built network, blocks and repeats expanded."""
    return Counter(type(m).__name__ for m in module.modules()
                   if not list(m.children()) and not isinstance(m, torch.nn.Sequential))  # not empty repeats


def _outputs_agree(a: torch.nn.Module, b: torch.nn.Module, shape: tuple[int, ...], atol: float) -> bool:
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(5))
    a.eval()
    b.eval()
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=atol, rtol=0)


def test_an_imported_model_exported_as_code_imports_back_to_the_same_hierarchy(tmp_path: Path) -> None:
    shape = (3, 64, 64)
    first = import_module(torchvision.models.resnet18(num_classes=5), [shape], check=False)
    exported = export_network(first.doc, "code", tmp_path / "resnet18", first.state_dict)
    weights = export_network(first.doc, "safetensors", tmp_path / "resnet18", first.state_dict)
    again = import_source(f"{exported.path}:Resnet18", input_shapes=[shape], weights=weights.path)
    assert json.dumps(_structure(again.doc), sort_keys=True) == json.dumps(_structure(first.doc), sort_keys=True)
    assert again.state_dict.keys() == first.state_dict.keys()
    assert all(torch.equal(again.state_dict[k], first.state_dict[k]) for k in first.state_dict)


def _example(name: str) -> tuple[GraphDocument, tuple[int, ...], dict[str, torch.Tensor]]:
    """A bundled example's network, its input shape and weights (BatchNorm statistics made non-trivial)."""
    original = {"resnet_small": resnet_small, "lenet5": lenet5}[name]().network
    shape = tuple(next(n for n in original.nodes.values() if n.type_id == "Input").params["shape"])
    torch.manual_seed(0)
    module = build_module(original)
    module.train()
    with torch.no_grad():  # a few batches move the running statistics off their defaults
        for _ in range(3):
            module(torch.randn(8, *shape))
    return original, shape, module.state_dict()


def _same_network(original: GraphDocument, back: ImportResult, weights: dict[str, torch.Tensor],
                  shape: tuple[int, ...], atol: float) -> None:
    """Same layers (blocks and repeats expanded), the same parameters under the same keys, same outputs."""
    ours, theirs = build_module(original), build_module(back.doc)
    assert _layer_types(theirs) == _layer_types(ours)
    assert list(theirs.state_dict()) == list(ours.state_dict())
    learned = {k for k in weights if not k.endswith("num_batches_tracked")}  # a counter, not a weight
    assert set(back.state_dict) >= learned
    assert all(torch.equal(back.state_dict[k], weights[k]) for k in learned)
    ours.load_state_dict(weights)
    theirs.load_state_dict(back.state_dict, strict=False)
    assert _outputs_agree(ours, theirs, shape, atol)


@pytest.mark.parametrize("name", ["resnet_small", "lenet5"])
def test_a_bundled_example_exported_as_code_imports_back_equal(name: str, tmp_path: Path) -> None:
    original, shape, weights = _example(name)
    exported = export_network(original, "code", tmp_path / name, weights)
    weights_file = export_network(original, "safetensors", tmp_path / name, weights)
    class_name = "".join(part.title() for part in name.split("_")).replace("Lenet5", "Lenet5")
    back = import_source(f"{exported.path}:{class_name}", input_shapes=[shape], weights=weights_file.path)
    assert back.report.ok
    # the same nodes at the top; block parameters are not inferred, so each block variant has its own
    # definition (BasicBlock, BasicBlock2, ...), with the same layers and weights inside
    assert [n.id for n in back.doc.nodes.values()] == [n.id for n in original.nodes.values()]
    _same_network(original, back, weights, shape, 1e-6)


@pytest.mark.parametrize("name", ["resnet_small", "lenet5"])
def test_a_bundled_example_exported_as_onnx_imports_back_equal(name: str, tmp_path: Path) -> None:
    original, shape, weights = _example(name)
    exported = export_network(original, "onnx", tmp_path / name, weights)
    back = import_source(str(exported.path))
    assert back.report.ok and back.report.max_abs_diff is not None and back.report.max_abs_diff < 1e-4
    assert back.report.parameters == sum(w.numel() for k, w in weights.items()
                                         if "running_" not in k and not k.endswith("num_batches_tracked"))
    # the stages come back as blocks: layer1 (BasicBlock repeated twice) as a block repeated twice
    if name == "resnet_small":
        top = [n.id for n in back.doc.nodes.values()]
        assert [n for n in top if n in ("layer1", "layer2", "layer3")] == ["layer1", "layer2", "layer3"]
        assert back.doc.node("layer1").params.get(REPEAT) == 2
    _same_network(original, back, weights, shape, 1e-5)


def test_an_imported_project_exported_as_code_without_a_run_carries_its_imported_weights(tmp_path: Path) -> None:
    shape = (3, 32, 32)
    source = torchvision.models.resnet18(num_classes=4)
    project = project_from_import(import_module(source, [shape], check=False), "resnet18")
    code = export_project(project, "code", tmp_path / "resnet18")
    weights = export_project(project, "safetensors", tmp_path / "resnet18")
    assert code.weights_from.startswith("the project's initial weights")
    again = import_source(f"{code.path}:Resnet18", input_shapes=[shape], weights=weights.path)
    assert json.dumps(_structure(again.doc), sort_keys=True) == json.dumps(_structure(project.network),
                                                                          sort_keys=True)
    expected = source.state_dict()
    assert all(torch.equal(again.state_dict[k], expected[k]) for k in expected)
