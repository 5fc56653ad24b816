"""Blocks in the document: definitions used by reference, instances, repeat, the reversible operations."""

from __future__ import annotations

import json

import pytest

from engine.graph.blocks import BlockParam
from engine.graph.errors import DocumentError, ProjectFileError
from engine.graph.hierarchy import (
    edit_inside,
    expose_param,
    group_into_block,
    make_unique,
    place_block,
    set_block_param,
    set_repeat,
    ungroup_block,
)
from engine.graph.serialize import document_from_data, document_to_data
from engine.network import Network


def _chain() -> Network:
    net = Network("chain")
    x = net.input((3, 8, 8), name="image")
    a = net.add("Conv2d", x, out_channels=4, padding=1, name="conv1")
    b = net.add("BatchNorm2d", a, name="bn1")
    c = net.add("ReLU", b, name="relu1")
    d = net.add("Add", [c, x], name="add1") if False else c
    f = net.add("Flatten", d, name="flatten")
    o = net.add("Linear", f, out_features=3, name="fc")
    net.output(o, name="logits")
    return net


def _bytes(doc) -> str:
    return json.dumps(document_to_data(doc), indent=1)


def test_group_makes_one_instance_and_a_definition_in_the_library() -> None:
    doc = _chain().doc
    step = group_into_block(doc, ["conv1", "bn1", "relu1"], name="ConvBnRelu", instance_name="stem")
    assert step.result == "stem"
    assert list(doc.nodes) == ["image", "stem", "flatten", "fc", "logits"]
    definition = doc.definition_of("stem")
    assert definition.input_ids() == ["x"] and definition.output_ids() == ["y"]
    spec = doc.spec("stem")
    assert [p.name for p in spec.inputs] == ["x"] and [p.name for p in spec.outputs] == ["y"]
    assert doc.nodes["stem"].params == {"repeat": 1}
    assert {(e.source, e.target) for e in doc.edges} >= {("image", "stem"), ("stem", "flatten")}


def test_every_operation_undoes_to_the_same_bytes_and_redoes() -> None:
    doc = _chain().doc
    original = _bytes(doc)
    steps = [group_into_block(doc, ["conv1", "bn1", "relu1"], name="ConvBnRelu")]
    instance = steps[0].result
    steps.append(expose_param(doc, "ConvBnRelu", BlockParam("channels", (("conv1", "out_channels"),))))
    steps.append(set_block_param(doc, instance, "channels", 6))
    steps.append(set_repeat(doc, instance, 3))
    steps.append(place_block(doc, "ConvBnRelu", name="spare"))
    steps.append(make_unique(doc, "spare"))
    steps.append(edit_inside(doc, "ConvBnRelu", lambda body: body.set_param("conv1", "kernel_size", 5)))
    steps.append(ungroup_block(doc, instance))
    after = _bytes(doc)
    for step in reversed(steps):
        step.undo()
    assert _bytes(doc) == original
    for step in steps:
        step.redo()
    assert _bytes(doc) == after


def test_instances_follow_their_definition_and_make_unique_detaches_one() -> None:
    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1", "relu1"], name="ConvBnRelu", instance_name="a")
    place_block(doc, "ConvBnRelu", name="b")
    unique = make_unique(doc, "b").result
    assert doc.nodes["b"].type_id == unique != "ConvBnRelu"
    edit_inside(doc, "ConvBnRelu", lambda body: body.set_param("conv1", "out_channels", 7))
    assert doc.definition_of("a").body.nodes["conv1"].params["out_channels"] == 7
    assert doc.definition_of("b").body.nodes["conv1"].params["out_channels"] == 4


def test_a_block_that_would_contain_itself_is_refused_clearly() -> None:
    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1", "relu1"], name="Inner", instance_name="a")
    group_into_block(doc, ["a"], name="Outer", instance_name="outer")
    inner_body = doc.library.get("Inner").body
    with pytest.raises(DocumentError, match="cannot contain itself: Inner ▸ Outer ▸ Inner"):
        inner_body.add_node("Outer")
    with pytest.raises(DocumentError, match="cannot contain itself"):
        doc.library.get("Outer").body.add_node("Outer")
    data = document_to_data(doc)
    inner = next(b for b in data["blocks"] if b["name"] == "Inner")
    inner["nodes"].append({"id": "loop", "block": "Outer", "name": "loop", "params": {}, "position": [0, 0]})
    with pytest.raises(ProjectFileError, match="cannot contain itself"):
        document_from_data(data)


def test_nested_blocks_save_and_load_byte_identically() -> None:
    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1"], name="ConvBn", instance_name="cb")
    group_into_block(doc, ["cb", "relu1"], name="Stage", instance_name="layer1")
    set_repeat(doc, "layer1", 2)
    text = _bytes(doc)
    again = document_from_data(json.loads(text))
    assert _bytes(again) == text
    assert again.library.get("Stage").body.nodes["cb"].type_id == "ConvBn"


def test_numbered_ids_are_allowed_inside_blocks_only() -> None:
    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1"], name="Downsample")
    body = doc.library.get("Downsample").body
    body.add_node("ReLU", node_id="0", name="zero")
    with pytest.raises(DocumentError, match="identifier"):
        doc.add_node("ReLU", node_id="0", name="zero")


def test_ports_belong_where_they_make_sense() -> None:
    doc = _chain().doc
    with pytest.raises(DocumentError, match="inside a block"):
        doc.add_node("BlockInput")
    group_into_block(doc, ["conv1"], name="One")
    with pytest.raises(DocumentError, match="Block Input"):
        doc.library.get("One").body.add_node("Input")


def test_format_one_networks_have_no_blocks_key() -> None:
    assert "blocks" not in document_to_data(_chain().doc)


def test_removing_a_port_inside_removes_the_instances_wires_to_it_and_undo_restores_them() -> None:
    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1"], name="Pair", instance_name="pair")
    before = _bytes(doc)
    step = edit_inside(doc, "Pair", lambda body: body.remove_node("x"))
    assert doc.edges_into("pair") == []
    assert "Pair" in document_from_data(json.loads(_bytes(doc))).library  # still a loadable file
    step.undo()
    assert _bytes(doc) == before


def test_unexposing_a_parameter_forgets_the_instances_values_and_stays_loadable() -> None:
    from engine.graph.hierarchy import set_exposed_params

    doc = _chain().doc
    group_into_block(doc, ["conv1", "bn1"], name="Pair", instance_name="pair")
    expose_param(doc, "Pair", BlockParam("channels", (("conv1", "out_channels"),)))
    set_block_param(doc, "pair", "channels", 6)
    before = _bytes(doc)
    step = set_exposed_params(doc, "Pair", [])
    assert doc.nodes["pair"].params == {"repeat": 1}
    assert _bytes(document_from_data(json.loads(_bytes(doc)))) == _bytes(doc)
    step.undo()
    assert _bytes(doc) == before and doc.nodes["pair"].params["channels"] == 6
    with pytest.raises(DocumentError, match="still used in the network"):
        doc.library.remove("Pair")


def test_grouping_nodes_named_like_ports_keeps_names_unique() -> None:
    doc = _chain().doc
    doc.rename("conv1", "x")
    doc.rename("bn1", "y")
    step = group_into_block(doc, ["conv1", "bn1"], name="Pair")
    body = doc.library.get("Pair").body
    ports = [n.name for n in body.nodes.values() if n.type_id in ("BlockInput", "BlockOutput")]
    assert ports == ["x2", "y2"] and doc.spec(step.result).inputs[0].name == "x2"
