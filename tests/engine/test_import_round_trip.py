"""Round trips: networks exported as code or ONNX and imported back are the networks they came from."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
import torchvision

from engine.build import build_module
from engine.examples import resnet_small
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
    layers = Counter(n.type_id for n in original.nodes.values())
    assert Counter(n.type_id for n in back.doc.nodes.values()) == layers
    assert {n.id: n.params for n in back.doc.nodes.values()} == {n.id: n.params for n in original.nodes.values()}
    ours = build_module(original)
    ours.load_state_dict(weights)
    theirs = build_module(back.doc)
    assert back.state_dict.keys() == weights.keys()
    theirs.load_state_dict(weights)
    assert _outputs_agree(ours, theirs, shape, 1e-6)


def test_a_bundled_example_exported_as_onnx_imports_back_computing_the_same(tmp_path: Path) -> None:
    project = resnet_small()
    original = project.network
    shape = tuple(next(n for n in original.nodes.values() if n.type_id == "Input").params["shape"])
    torch.manual_seed(0)
    module = build_module(original)
    exported = export_network(original, "onnx", tmp_path / "resnet_small", module.state_dict())
    back = import_source(str(exported.path))
    assert back.report.ok and back.report.max_abs_diff is not None and back.report.max_abs_diff < 1e-4
    kinds = {n.type_id for n in back.doc.nodes.values()}
    # the same kinds of layers, less the batch norms the ONNX exporter folds into the convolutions
    assert kinds - {"Reduce", "Reshape"} <= {n.type_id for n in original.nodes.values()} | {"GlobalAvgPool"}
    theirs = build_module(back.doc)
    theirs.load_state_dict(back.state_dict, strict=False)
    assert _outputs_agree(module, theirs, shape, 1e-4)
