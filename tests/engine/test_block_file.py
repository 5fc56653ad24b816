"""Block files: a block and the blocks it uses, saved on their own and loaded into another project.

A block file is hostile input like any project file: text that is not JSON, another format, a newer
version, a block that uses one the file lacks, a block containing itself or a node of an unknown layer
all give a clear error and add nothing.
"""

from __future__ import annotations

import json

import pytest

from engine.block_catalog import install_bundled
from engine.graph.block_file import FORMAT, add_definitions, read_block_file, save_block_file
from engine.graph.errors import DocumentError, ProjectFileError
from engine.graph.hierarchy import group_into_block
from engine.graph.serialize import definition_to_data, document_to_data
from engine.network import Network


def _net() -> Network:
    net = Network("shared")
    install_bundled(net.doc, "BasicBlock")
    x = net.input((3, 16, 16), name="image")
    x = net.add("Conv2d", x, out_channels=8, kernel_size=3, padding=1, name="conv")
    x = net.add("BasicBlock", x, channels=8, stride=1, downsample=0, name="stage")
    net.output(x, name="out")
    return net


def test_a_saved_block_carries_the_blocks_it_uses_and_loads_into_another_project(tmp_path):
    source = _net().doc
    path = save_block_file(source.library, "BasicBlock", tmp_path / "basic")
    assert path.name == "basic.loomblock"
    records = read_block_file(path)
    assert [r["name"] for r in records] == ["Downsample", "BasicBlock"]  # what it uses comes first
    target = Network("other").doc
    before = json.dumps(document_to_data(target))
    step = add_definitions(target, records)
    assert step.result == "BasicBlock"
    for name in ("Downsample", "BasicBlock"):
        assert definition_to_data(target.library.get(name)) == definition_to_data(source.library.get(name))
    step.undo()
    assert json.dumps(document_to_data(target)) == before
    step.redo()
    assert "BasicBlock" in target.library


def test_loading_keeps_an_identical_block_and_refuses_a_different_one_of_the_same_name(tmp_path):
    source = _net().doc
    path = save_block_file(source.library, "BasicBlock", tmp_path / "basic.loomblock")
    records = read_block_file(path)
    same = _net().doc
    add_definitions(same, records)  # already there, unchanged: nothing to add, no error
    other = Network("clash").doc
    x = other.add_node("Input", params={"shape": (4,)})
    y = other.add_node("Linear", params={"out_features": 4})
    other.connect(x.id, "out", y.id, "in")
    group_into_block(other, [y.id], name="BasicBlock")
    with pytest.raises(DocumentError, match="already has a different block named 'BasicBlock'"):
        add_definitions(other, records)
    assert "Downsample" not in other.library


@pytest.mark.parametrize("content, message", [
    (b"\x00\xff not text", "not JSON"),
    (b"[1, 2]", "not a Layerloom block file"),
    (json.dumps({"format": "something-else", "version": 1}).encode(), "not a Layerloom block file"),
    (json.dumps({"format": FORMAT, "version": 99, "blocks": []}).encode(), "newer Layerloom"),
    (json.dumps({"format": FORMAT, "version": 1, "blocks": []}).encode(), "holds no block"),
])
def test_a_file_that_is_no_block_file_is_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.loomblock"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=message):
        read_block_file(path)


def _records(tmp_path):
    return json.loads(save_block_file(_net().doc.library, "BasicBlock", tmp_path / "b").read_text())


def test_a_block_using_one_the_file_lacks_or_itself_or_an_unknown_layer_is_refused(tmp_path):
    data = _records(tmp_path)
    lacking = dict(data, blocks=data["blocks"][1:])
    path = tmp_path / "lacking.loomblock"
    path.write_text(json.dumps(lacking))
    with pytest.raises(ProjectFileError, match="does not define"):
        read_block_file(path)

    looped = json.loads(json.dumps(data))
    downsample = looped["blocks"][0]
    downsample["nodes"].append({"id": "again", "name": "again", "block": "BasicBlock", "params": {},
                                "position": [0, 0]})
    path.write_text(json.dumps(looped))
    with pytest.raises(ProjectFileError, match="cannot contain itself"):
        read_block_file(path)

    unknown = json.loads(json.dumps(data))
    unknown["blocks"][0]["nodes"][1]["type"] = "NoSuchLayer"
    path.write_text(json.dumps(unknown))
    with pytest.raises(ProjectFileError, match="unknown layer type 'NoSuchLayer'"):
        read_block_file(path)


def test_an_oversized_block_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import engine.graph.block_file as block_file

    path = save_block_file(_net().doc.library, "BasicBlock", tmp_path / "b")
    monkeypatch.setattr(block_file, "MAX_BYTES", 100)
    with pytest.raises(ProjectFileError, match="at most"):
        read_block_file(path)


def test_a_block_with_a_frozen_node_is_written_as_version_two_and_keeps_the_flag(tmp_path):
    """Like a project, a block file takes the lowest version that holds it: an older Layerloom (which reads
    version 1 only) refuses a file with frozen weights as newer instead of opening it with them trainable."""
    source = _net().doc
    plain = json.loads(save_block_file(source.library, "BasicBlock", tmp_path / "plain").read_text())
    assert plain["version"] == 1
    inner = source.library.get("Downsample").body  # a block that BasicBlock uses: its file must say so too
    conv = next(n for n in inner.nodes.values() if n.type_id == "Conv2d")
    inner.set_frozen(conv.id, True)
    path = save_block_file(source.library, "BasicBlock", tmp_path / "frozen")
    assert json.loads(path.read_text())["version"] == 2
    target = Network("other").doc
    add_definitions(target, read_block_file(path))
    assert target.library.get("Downsample").body.nodes[conv.id].frozen
    assert definition_to_data(target.library.get("Downsample")) == definition_to_data(source.library.get("Downsample"))
