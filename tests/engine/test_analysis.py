"""Validation and shape inference: problems as data, exact shapes, incremental re-inference."""

from __future__ import annotations

from engine.examples import chain_network
from engine.graph.analysis import ERROR, WARNING, NetworkAnalyzer, analyze
from engine.graph.document import GraphDocument
from engine.network import Network


def codes(doc: GraphDocument) -> list[tuple[str | None, str, str]]:
    return [(p.node_id, p.severity, p.code) for p in analyze(doc).problems]


def test_mlp_shapes_and_params():
    net = Network()
    x = net.input((2,))
    x = net.add("Linear", x, out_features=16)
    x = net.add("ReLU", x)
    x = net.add("Linear", x, out_features=3)
    net.output(x)
    result = net.analyze()
    assert result.ok and not result.problems
    assert result.nodes["fc1"].output.shape == (16,)
    assert result.nodes["fc2"].output.shape == (3,)
    assert result.nodes["fc1"].param_count == 2 * 16 + 16
    assert result.total_params == 48 + 16 * 3 + 3


def test_empty_network_lacks_input_and_output():
    doc = GraphDocument()
    assert set(codes(doc)) == {(None, ERROR, "no_input"), (None, ERROR, "no_output")}


def test_unconnected_input_and_dead_end_warning():
    net = Network()
    x = net.input((4,))
    y = net.add("Linear", x, out_features=2)
    net.output(y)
    lonely = net.doc.add_node("ReLU").id
    side = net.add("Linear", x, out_features=5, name="side")
    found = codes(net.doc)
    assert (lonely, ERROR, "unconnected") in found
    assert (side, WARNING, "dead_end") in found
    message = next(p.message for p in analyze(net.doc).problems if p.node_id == side)
    assert "reaches no Output" in message


def test_cycle_names_every_node_on_it():
    net = Network()
    x = net.input((4,))
    a = net.add("Add", [x], name="join")
    b = net.add("Linear", a, out_features=4, name="loop_fc")
    c = net.add("ReLU", b, name="loop_act")
    net.doc.connect(c, "out", a, "in", allow_cycle=True)
    net.output(c)
    result = analyze(net.doc)
    cycle_problems = [p for p in result.problems if p.code == "cycle"]
    assert {p.node_id for p in cycle_problems} == {a, b, c}
    text = cycle_problems[0].message
    for name in ("join", "loop_fc", "loop_act"):
        assert name in text


def test_merge_arity_and_shape_mismatch():
    net = Network()
    x = net.input((4,))
    a = net.add("Linear", x, out_features=4)
    b = net.add("Linear", x, out_features=5)
    single = net.add("Add", [a], name="lonely_add")
    both = net.add("Add", [a, b], name="bad_add")
    net.output(single)
    net.output(both)
    result = analyze(net.doc)
    assert result.problems_of(single)[0].code == "arity"
    assert "at least 2 inputs, has 1" in result.problems_of(single)[0].message
    mismatch = result.problems_of(both)[0]
    assert mismatch.code == "shape" and "N×4, N×5" in mismatch.message


def test_shape_error_suggests_flatten_in_user_names():
    net = Network()
    x = net.input((1, 28, 28))
    x = net.add("Conv2d", x, out_channels=4, kernel_size=3, name="conv")
    x = net.add("MaxPool2d", x, kernel_size=2, name="pool2")
    x = net.add("Linear", x, out_features=10, name="fc1")
    net.output(x)
    problem = analyze(net.doc).problems_of("fc1")[0]
    assert problem.severity == ERROR
    assert problem.fix is not None
    assert problem.fix.description == "insert Flatten between 'pool2' and 'fc1'"
    assert (problem.fix.insert_type, problem.fix.source, problem.fix.target) == ("Flatten", "pool2", "fc1")


def test_problems_downstream_of_an_error_are_not_repeated():
    net = Network()
    x = net.input((4,))
    x = net.add("Linear", x, out_features=4)
    x = net.add("Concat", [x], name="c")
    x = net.add("Linear", x, out_features=2, name="after")
    net.output(x)
    result = analyze(net.doc)
    assert result.problems_of("after") == []
    assert result.nodes["after"].output is None


def test_incremental_reinference_touches_only_what_changed():
    doc, ids = chain_network(101)
    analyzer = NetworkAnalyzer(doc)
    assert analyzer.analyze().ok
    assert analyzer.last_recomputed == len(doc.nodes)
    middle = [i for i in ids if doc.nodes[i].type_id == "Linear"][10]
    doc.set_param(middle, "bias", False)  # same output shape: only this node is re-inferred
    result = analyzer.analyze()
    assert analyzer.last_recomputed == 1
    assert result.nodes[middle].param_count == 64 * 64
    doc.rename(middle, "renamed")
    analyzer.analyze()
    assert analyzer.last_recomputed <= 3
    doc.set_param(middle, "out_features", 32)  # changes shapes: the error shows up downstream
    result = analyzer.analyze()
    assert not result.ok
    assert 1 < analyzer.last_recomputed < len(doc.nodes)
    assert result == result  # snapshot is a plain value
    fresh = analyze(doc)
    assert [(p.node_id, p.message) for p in fresh.problems] == [(p.node_id, p.message) for p in result.problems]
    assert {k: v.output for k, v in fresh.nodes.items()} == {k: v.output for k, v in result.nodes.items()}


def test_incremental_matches_full_after_random_edits():
    import random

    doc, ids = chain_network(61)
    analyzer = NetworkAnalyzer(doc)
    analyzer.analyze()
    rng = random.Random(3)
    linear = [i for i in ids if doc.nodes[i].type_id == "Linear"]
    for step in range(40):
        node = rng.choice(linear)
        action = rng.randrange(3)
        if action == 0:
            doc.set_param(node, "out_features", rng.choice([32, 64]))
        elif action == 1:
            edges = doc.edges_into(node)
            if not edges:
                continue
            edge = edges[0]
            index = doc.disconnect(edge)
            if rng.random() < 0.7:
                doc.connect(edge.source, edge.source_port, edge.target, edge.target_port, index=index)
        else:
            doc.rename(node, f"n{step}")
        inc = analyzer.analyze()
        full = analyze(doc)
        assert {k: v.output for k, v in inc.nodes.items()} == {k: v.output for k, v in full.nodes.items()}
        assert sorted(map(repr, inc.problems)) == sorted(map(repr, full.problems))
