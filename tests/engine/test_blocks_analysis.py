"""Shapes and validation across block boundaries: per-instance inputs, paths, fixes, incremental work."""

from __future__ import annotations

from engine.block_catalog import resnet18_network
from engine.graph.analysis import NetworkAnalyzer, analyze
from engine.graph.block_inference import body_analysis
from engine.graph.hierarchy import apply_fix, edit_inside, group_into_block, set_block_param, set_repeat
from engine.layers.spec import TensorSpec
from engine.network import Network


def _nested() -> Network:
    """image -> layer2 (Stage: block0 (Inner: conv1 -> relu1) -> pool) -> flatten -> fc -> out."""
    net = Network("nested")
    x = net.input((3, 16, 16), name="image")
    c = net.add("Conv2d", x, name="conv1", out_channels=8, padding=1)
    r = net.add("ReLU", c, name="relu1")
    p = net.add("MaxPool2d", r, name="pool")
    f = net.add("Flatten", p, name="flatten")
    o = net.add("Linear", f, name="fc", out_features=4)
    net.output(o, name="out")
    group_into_block(net.doc, ["conv1", "relu1"], name="Inner", instance_name="block0")
    group_into_block(net.doc, ["block0", "pool"], name="Stage", instance_name="layer2")
    return net


def test_each_instance_is_inferred_with_its_own_inputs() -> None:
    net = resnet18_network(num_classes=10, input_shape=(3, 64, 64))
    result = analyze(net.doc)
    assert result.ok, [p.message for p in result.problems]
    shapes = {i: result.output_of(f"layer{i}").shape for i in range(1, 5)}
    assert shapes == {1: (64, 16, 16), 2: (128, 8, 8), 3: (256, 4, 4), 4: (512, 2, 2)}
    inner = body_analysis(net.doc, ["layer2"], result)
    assert inner.nodes["conv1"].inputs == (TensorSpec((64, 16, 16)),)
    assert inner.output_of("conv1") == TensorSpec((128, 8, 8))


def test_a_problem_inside_names_its_path_counts_on_the_block_and_its_fix_works_there() -> None:
    net = _nested()
    doc = net.doc
    inner = doc.library.get("Inner").body
    inner.remove_node("relu1")
    fc = inner.add_node("Linear", name="dense", node_id="dense", params={"out_features": 8})
    inner.connect("conv1", "out", "dense", "in")
    inner.connect("dense", "out", "y", "in")
    result = analyze(doc)
    problems = result.problems_of("layer2")
    assert len(problems) == 1, [p.message for p in result.problems]
    problem = problems[0]
    assert problem.path == ("layer2", "block0", fc.id)
    assert problem.message.startswith("in layer2 ▸ block0 ▸ dense: Linear works on the last dimension")
    assert problem.fix is not None and problem.fix.insert_type == "Flatten"
    step = apply_fix(doc, problem.path, problem.fix)
    assert any(n.type_id == "Flatten" for n in inner.nodes.values())
    after = analyze(doc).problems_of("layer2")
    assert after and all("Linear works" not in p.message for p in after)  # the pool after it now complains
    step.undo()
    assert not any(n.type_id == "Flatten" for n in inner.nodes.values())


def test_repeated_copies_must_keep_the_shape() -> None:
    net = _nested()
    set_repeat(net.doc, "layer2", 2)
    result = analyze(net.doc)
    messages = [p.message for p in result.problems_of("layer2")]
    assert messages == ["copy 1 of 'layer2' turns N×8×8×8 into N×8×4×4: only the first copy may change the "
                        "shape (give the changing block parameters a value for later copies, or use separate "
                        "blocks)"]


def test_reinference_stays_incremental_across_blocks() -> None:
    net = resnet18_network(num_classes=10, input_shape=(3, 64, 64))
    doc = net.doc
    analyzer = NetworkAnalyzer(doc)
    analyzer.analyze()
    library = doc.library
    before = library.body_analyses
    doc.set_param("fc", "out_features", 7)  # downstream of every block
    analyzer.analyze()
    assert analyzer.last_recomputed == 2 and library.body_analyses == before  # fc and its Output only
    set_block_param(doc, "layer4", "channels", 256)
    result = analyzer.analyze()
    assert analyzer.last_recomputed <= 6  # layer4, its successors up to fc
    assert result.output_of("layer4").shape == (256, 2, 2)
    analyses = library.body_analyses
    edit_inside(doc, "Downsample", lambda body: body.set_param("1", "eps", 1e-3))
    result = analyzer.analyze()
    assert result.ok
    # BasicBlock instances re-infer (they contain Downsample); the stem does not
    assert analyzer.last_recomputed == 4 and library.body_analyses > analyses


def test_block_param_counts_add_up() -> None:
    net = resnet18_network()
    assert analyze(net.doc).total_params == 11_689_512


def test_validate_prints_the_path_of_a_problem_inside_a_block(tmp_path, capsys) -> None:
    import json

    from engine.cli import main
    from engine.project import Project, save_project

    net = _nested()
    net.doc.library.get("Inner").body.set_param("conv1", "kernel_size", 99)
    path = save_project(Project(net.doc, "nested"), tmp_path / "nested.loom")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error   in layer2 ▸ block0 ▸ conv1: " in out
    assert main(["validate", str(path), "--json"]) == 1
    problem = json.loads(capsys.readouterr().out)["problems"][0]
    assert problem["node_id"] == "layer2" and problem["path"] == ["layer2", "block0", "conv1"]
