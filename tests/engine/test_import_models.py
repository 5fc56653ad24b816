"""Importing torchvision classifiers: hierarchy, parameter counts, state-dict keys and outputs equal the source.

Each model is imported without the importer's own output check (the test does
its own), built, given the source's weights and run in eval mode on the same
random batch. The CPU-heavy ones are marked slow; none is skipped.
"""

from __future__ import annotations

import pytest
import torch
import torchvision

from engine.build import build_module
from engine.graph.analysis import analyze
from engine.graph.blocks import REPEAT
from engine.graph.document import GraphDocument
from engine.graph.errors import DocumentError
from engine.importing.importer import import_module

LIGHT = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_y_400mf"]
HEAVY = ["resnet50", "vgg11", "efficientnet_b0", "densenet121", "convnext_tiny", "vit_b_16"]
KNOWN_COUNTS = {"resnet18": 11_689_512, "mobilenet_v2": 3_504_872, "vit_b_16": 86_567_656}
SHAPE = (3, 224, 224)


def _check_fidelity(name: str) -> None:
    torch.manual_seed(0)
    source = torchvision.models.get_model(name, weights=None).eval()
    result = import_module(source, [SHAPE], source=name, check=False)
    analysis = analyze(result.doc)
    assert analysis.ok, [p.message for p in analysis.errors]
    module = build_module(result.doc, analysis)
    count = sum(p.numel() for p in source.parameters())
    assert count == KNOWN_COUNTS.get(name, count)
    assert analysis.total_params == count
    assert sum(p.numel() for p in module.parameters()) == count

    ours, theirs = module.state_dict(), source.state_dict()
    renamed = {k: result.state_dict[k] for k in result.state_dict}  # the source's weights under our keys
    assert len(renamed) == len(theirs)
    assert list(ours) == list(renamed) or sorted(ours) == sorted(renamed)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in renamed.items()}
    assert set(ours) == set(theirs)  # the source's keys exactly, RegNet's ``block1-0`` included

    module.load_state_dict(renamed)
    module.eval()
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = source(x), module(x)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0), float((got - expected).abs().max())


@pytest.mark.parametrize("name", LIGHT)
def test_torchvision_classifier_imports_exactly(name: str) -> None:
    _check_fidelity(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", HEAVY)
def test_heavy_torchvision_classifier_imports_exactly(name: str) -> None:
    _check_fidelity(name)


def test_resnet18_hierarchy_follows_named_children() -> None:
    source = torchvision.models.resnet18()
    doc = import_module(source, [SHAPE], check=False).doc
    children = [name for name, _ in source.named_children()]
    layers = [n.id for n in doc.nodes.values() if n.type_id not in ("Input", "Output")]
    assert [n for n in layers if n != "flatten"] == children  # torch.flatten in forward is the one extra
    assert doc.node("layer1").type_id == "BasicBlock" and doc.node("layer1").params[REPEAT] == 2
    for stage in ("layer2", "layer3", "layer4"):  # a first block with a projection, then a plain one
        body = doc.library.get(doc.node(stage).type_id).body
        assert [n.id for n in body.nodes.values() if n.id not in ("x", "y")] == ["0", "1"]
        first = doc.library.get(body.node("0").type_id).body
        assert "downsample" in first.nodes and doc.library.get(first.node("downsample").type_id)
    # every downsample projection is its own Sequential block, with the source's numbered children
    downsample = doc.library.get(doc.library.get(doc.library.get(doc.node("layer2").type_id).body.node("0")
                                                 .type_id).body.node("downsample").type_id)
    assert [n.type_id for n in downsample.body.nodes.values()] == ["BlockInput", "Conv2d", "BatchNorm2d",
                                                                   "BlockOutput"]


def test_identical_children_share_one_definition() -> None:
    source = torchvision.models.mobilenet_v2()
    doc = import_module(source, [SHAPE], check=False).doc
    features = doc.library.get(doc.node("features").type_id).body
    kinds = [features.node(str(i)).type_id for i in range(len(source.features))]
    assert len(set(kinds)) < len(kinds)  # e.g. the repeated inverted residuals of one stage
    # the second and third blocks of the 32-channel stage are identical in torchvision: one definition
    assert features.node("5").type_id == features.node("6").type_id != features.node("4").type_id


def test_regnet_stage_names_with_dashes_are_kept_as_node_ids() -> None:
    source = torchvision.models.regnet_y_400mf()
    result = import_module(source, [SHAPE], check=False)
    assert not any("→" in note for note in result.report.notes)  # nothing renamed
    trunk = result.doc.library.get(result.doc.node("trunk_output").type_id).body
    stage = result.doc.library.get(trunk.node("block1").type_id).body
    assert "block1-0" in stage.nodes
    expected = {k: tuple(v.shape) for k, v in source.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in result.state_dict.items()} == expected
    assert list(build_module(result.doc).state_dict()) == list(source.state_dict())
    assert "trunk_output.block1.block1-0.proj.0.weight" in expected


def test_dashed_names_are_node_ids_only_inside_blocks() -> None:
    doc = GraphDocument()
    with pytest.raises(DocumentError):
        doc.add_node("ReLU", node_id="block1-0")
    body = doc.library.new_body(doc.registry)
    assert body.add_node("ReLU", name="first", node_id="block1-0").id == "block1-0"
    for bad in ("-a", "a-", "a--b", "1-0", "a.b"):
        with pytest.raises(DocumentError):
            body.add_node("ReLU", node_id=bad)
