"""Round trips: networks exported as code or ONNX and imported back are the networks they came from."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
import torchvision

from engine.build import build_module
from engine.examples import lenet5, resnet_small
from engine.export.exporters import export_network
from engine.graph.document import GraphDocument
from engine.graph.serialize import body_to_data
from engine.importing.importer import import_module
from engine.importing.sources import import_source


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


def test_a_bundled_example_exported_as_code_imports_back_equal(tmp_path: Path) -> None:
    project = resnet_small()
    original = project.network
    shape = tuple(next(n for n in original.nodes.values() if n.type_id == "Input").params["shape"])
    torch.manual_seed(0)
    weights = build_module(original).state_dict()
    exported = export_network(original, "code", tmp_path / "resnet_small", weights)
    back = import_source(f"{exported.path}:ResnetSmall", input_shapes=[shape])
    # the same nodes at the top; block parameters are not inferred, so each block variant has its own
    # definition (BasicBlock, BasicBlock2, ...), with the same layers and weights inside
    assert [n.id for n in back.doc.nodes.values()] == [n.id for n in original.nodes.values()]
    assert _layer_types(build_module(back.doc)) == _layer_types(build_module(original))
    ours = build_module(original)
    ours.load_state_dict(weights)
    theirs = build_module(back.doc)
    assert back.state_dict.keys() == weights.keys()
    theirs.load_state_dict(weights)
    assert _outputs_agree(ours, theirs, shape, 1e-6)


def test_a_bundled_example_exported_as_onnx_imports_back_computing_the_same(tmp_path: Path) -> None:
    project = lenet5()
    original = project.network
    shape = tuple(next(n for n in original.nodes.values() if n.type_id == "Input").params["shape"])
    torch.manual_seed(0)
    module = build_module(original)
    exported = export_network(original, "onnx", tmp_path / "resnet_small", module.state_dict())
    back = import_source(str(exported.path))
    assert back.report.ok and back.report.max_abs_diff is not None and back.report.max_abs_diff < 1e-4
    kinds = Counter(n.type_id for n in back.doc.nodes.values())
    assert kinds["Conv2d"] == Counter(n.type_id for n in original.nodes.values())["Conv2d"]
    assert kinds["Linear"] == Counter(n.type_id for n in original.nodes.values())["Linear"]
    theirs = build_module(back.doc)
    theirs.load_state_dict(back.state_dict, strict=False)
    assert _outputs_agree(module, theirs, shape, 1e-4)
