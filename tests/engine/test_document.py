"""The document's mutators: invariants, typed errors and one event per change."""

from __future__ import annotations

import pytest

from engine.graph.document import Edge, GraphDocument
from engine.graph.errors import DocumentError, DuplicateNodeError, UnknownNodeError, WireError
from engine.layers.params import ParamError


@pytest.fixture
def doc() -> GraphDocument:
    return GraphDocument()


def record_events(doc: GraphDocument) -> list[tuple]:
    log: list[tuple] = []
    for name in ("node_added", "node_removed", "edge_connected", "edge_disconnected", "param_changed",
                 "node_renamed", "nodes_moved"):
        getattr(doc.events, name).subscribe(lambda *args, _n=name: log.append((_n, *args)))
    return log


def test_add_node_fills_defaults_and_names(doc):
    node = doc.add_node("Linear")
    assert node.id == "fc1" and node.name == "fc1"
    assert node.params == {"out_features": 64, "bias": True, "init": "default"}
    assert doc.add_node("Linear").name == "fc2"


def test_each_mutator_emits_exactly_one_event(doc):
    log = record_events(doc)
    a = doc.add_node("Input", params={"shape": (4,)})
    b = doc.add_node("Linear", params={"out_features": 3})
    edge = doc.connect(a.id, "out", b.id, "in")
    doc.set_param(b.id, "out_features", 5)
    doc.rename(b.id, "head")
    doc.move_nodes({b.id: (10, 20)})
    doc.disconnect(edge)
    doc.remove_node(a.id)
    kinds = [entry[0] for entry in log]
    assert kinds == ["node_added", "node_added", "edge_connected", "param_changed", "node_renamed",
                     "nodes_moved", "edge_disconnected", "node_removed"]
    assert log[3] == ("param_changed", b.id, "out_features", 3, 5)
    assert log[4] == ("node_renamed", b.id, "fc1", "head")


def test_remove_node_returns_the_wires_it_dropped(doc):
    a = doc.add_node("Input", params={"shape": (4,)})
    b = doc.add_node("Linear")
    c = doc.add_node("Output")
    e1 = doc.connect(a.id, "out", b.id, "in")
    e2 = doc.connect(b.id, "out", c.id, "in")
    assert doc.remove_node(b.id) == [e1, e2]
    assert doc.edges == []


def test_invalid_ids_names_and_params_raise_typed_errors(doc):
    doc.add_node("Linear", name="fc")
    with pytest.raises(DuplicateNodeError, match="already used"):
        doc.add_node("Linear", name="fc")
    with pytest.raises(DocumentError, match="valid Python identifier"):
        doc.add_node("Linear", name="x", node_id="1bad")
    with pytest.raises(ParamError, match="out_features must be at least 1"):
        doc.add_node("Linear", params={"out_features": 0})
    with pytest.raises(ParamError, match="has no parameter 'units'"):
        doc.add_node("Linear", params={"units": 3})
    with pytest.raises(UnknownNodeError):
        doc.set_param("nope", "p", 1)
    with pytest.raises(ParamError, match="whole number"):
        doc.set_param("fc", "out_features", 2.5)
    assert doc.nodes["fc"].params["out_features"] == 64


def test_names_with_spaces_get_identifier_ids(doc):
    node = doc.add_node("Linear", name="Hidden layer 1")
    assert node.id.isidentifier() and node.name == "Hidden layer 1"


def test_wire_rules(doc):
    a = doc.add_node("Input", params={"shape": (4,)})
    b = doc.add_node("Linear")
    c = doc.add_node("ReLU")
    doc.connect(a.id, "out", b.id, "in")
    with pytest.raises(WireError, match="already fed by 'input1'"):
        doc.connect(c.id, "out", b.id, "in")
    with pytest.raises(WireError, match="cannot feed itself"):
        doc.connect(b.id, "out", b.id, "in")
    with pytest.raises(WireError, match="no input port"):
        doc.connect(a.id, "out", c.id, "x")
    doc.connect(b.id, "out", c.id, "in")
    assert doc.wire_problem(c.id, "out", b.id, "in") is not None
    join = doc.add_node("Add")
    doc.connect(c.id, "out", join.id, "in")
    after = doc.add_node("Linear")
    doc.connect(join.id, "out", after.id, "in")
    assert "would make a cycle" in doc.wire_problem(after.id, "out", join.id, "in")
    assert doc.wire_problem(after.id, "out", join.id, "in", allow_cycle=True) is None


def test_multi_input_port_keeps_wire_order_and_index(doc):
    a = doc.add_node("Input", params={"shape": (4,)})
    b = doc.add_node("Input", params={"shape": (4,)})
    cat = doc.add_node("Concat")
    e1 = doc.connect(a.id, "out", cat.id, "in")
    e2 = doc.connect(b.id, "out", cat.id, "in")
    index = doc.disconnect(e1)
    assert index == 0
    doc.connect(a.id, "out", cat.id, "in", index=index)
    assert doc.edges_into(cat.id) == [e1, e2]
    assert isinstance(e1, Edge)
