"""Every edit is one undo step with a readable text, and redo restores the document exactly."""

from __future__ import annotations

import pytest
from studio_networks import mlp_with_missing_flatten, resnet_small, small_net

from engine.graph.document import Edge
from engine.project import Project
from engine.project import project_to_data as to_data
from studio.editor.document_controller import DocumentController


@pytest.fixture
def controller(qapp):
    c = DocumentController(small_net())
    yield c
    c.close()


def snapshot(c: DocumentController) -> dict:
    data = to_data(c.project)
    return {"network": data["network"]}


def ids(c: DocumentController, *names: str) -> list[str]:
    return [c.doc.node_by_name(n).id for n in names]


def test_add_node_text_and_exact_undo(controller):
    stack = controller.undo_stack
    node_id = controller.add_node("Conv2d", (100.0, 200.0))
    assert stack.undoText() == f"Add Conv2d '{controller.doc.nodes[node_id].name}'"
    assert controller.doc.nodes[node_id].position == (100.0, 200.0)
    stack.undo()
    assert node_id not in controller.doc.nodes
    stack.redo()
    assert controller.doc.nodes[node_id].type_id == "Conv2d"


def test_delete_selection_is_one_macro_and_redo_restores_order_exactly(qapp):
    c = DocumentController(resnet_small())
    before = snapshot(c)
    doomed = ids(c, "stem_relu", "block1_bn2", "block1_add")
    c.delete(doomed)
    stack = c.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Delete 3 nodes"
    stack.undo()
    assert snapshot(c) == before  # node order, wire order (Add's inputs) and all
    stack.redo()
    stack.undo()
    assert snapshot(c) == before
    c.close()


def test_delete_nodes_and_wires_together(controller):
    wire = controller.doc.edges[0]
    fc2 = ids(controller, "fc2")
    before = snapshot(controller)
    controller.delete(fc2, [wire])
    assert controller.undo_stack.undoText() == "Delete 1 node and 1 wire"
    controller.undo_stack.undo()
    assert snapshot(controller) == before


def test_connect_and_disconnect_texts(controller):
    fc2, cat = ids(controller, "fc2", "cat")
    assert controller.connect(fc2, "out", cat, "in") is None
    assert controller.undo_stack.undoText() == "Connect fc2 → cat"
    refused = controller.connect(fc2, "out", cat, "in")
    assert refused and "already wired" in refused and controller.undo_stack.count() == 1
    controller.disconnect(Edge(fc2, "out", cat, "in"))
    assert controller.undo_stack.undoText() == "Disconnect fc2 → cat"


def test_set_param_text_refusal_and_merge(controller):
    (fc1,) = ids(controller, "fc1")
    stack = controller.undo_stack
    assert controller.set_param(fc1, "out_features", 0) == "out_features must be at least 1, got 0"
    assert controller.doc.nodes[fc1].params["out_features"] == 16 and stack.count() == 0
    for value in (1, 12, 128):  # typing "128" into a spin box, one session
        controller.set_param(fc1, "out_features", value, session=7)
    assert stack.count() == 1 and stack.undoText() == "Set fc1.out_features to 128"
    controller.set_param(fc1, "out_features", 64, session=8)
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert controller.doc.nodes[fc1].params["out_features"] == 16


def test_merged_edit_back_to_the_old_value_leaves_no_step(controller):
    (fc1,) = ids(controller, "fc1")
    controller.set_param(fc1, "out_features", 17, session=3)
    controller.set_param(fc1, "out_features", 16, session=3)
    assert controller.undo_stack.count() == 0


def test_pair_values_read_well_in_undo_text(qapp):
    c = DocumentController(resnet_small())
    (stem,) = ids(c, "stem")
    c.set_param(stem, "kernel_size", [5, 5])
    assert c.undo_stack.undoText() == "Set stem.kernel_size to (5, 5)"
    c.close()


def test_rename_refusals_and_text(controller):
    (fc1,) = ids(controller, "fc1")
    assert controller.rename(fc1, "relu1") == "the name 'relu1' is already used by another node"
    assert controller.rename(fc1, "  ") == "a node needs a non-empty name"
    assert controller.rename(fc1, "encoder") is None
    assert controller.undo_stack.undoText() == "Rename fc1 to encoder"
    assert controller.undo_stack.count() == 1


def test_paste_gives_fresh_names_and_keeps_inner_wires(controller):
    fc1, relu1 = ids(controller, "fc1", "relu1")
    data = controller.copy_data([fc1, relu1])
    new = controller.paste(data, (0.0, 300.0))
    doc = controller.doc
    names = [doc.nodes[n].name for n in new]
    assert names == ["fc3", "relu2"]
    assert Edge(new[0], "out", new[1], "in") in doc.edges
    assert len([e for e in doc.edges if new[0] in (e.source, e.target)]) == 1  # outer wires not pasted
    assert doc.nodes[new[0]].position == (260.0, 300.0)
    assert doc.nodes[new[0]].params == doc.nodes[fc1].params
    assert controller.undo_stack.undoText() == "Paste 2 nodes"
    controller.undo_stack.undo()
    assert all(n not in doc.nodes for n in new)


def test_duplicate_is_one_step(controller):
    (fc2,) = ids(controller, "fc2")
    new = controller.duplicate([fc2])
    assert controller.undo_stack.undoText() == f"Duplicate {controller.doc.nodes[new[0]].name}"


def test_apply_fix_inserts_flatten_in_one_step(qapp):
    c = DocumentController(mlp_with_missing_flatten())
    problem = next(p for p in c.flush_analysis().problems if p.fix)
    assert problem.fix.insert_type == "Flatten"
    before = snapshot(c)
    assert c.apply_fix(problem.fix) is None
    analysis = c.flush_analysis()
    assert analysis.ok
    flatten = next(n for n in c.doc.nodes.values() if n.type_id == "Flatten")
    image, fc1 = ids(c, "image", "fc1")
    assert Edge(image, "out", flatten.id, "in") in c.doc.edges
    assert Edge(flatten.id, "out", fc1, "in") in c.doc.edges
    # right of the image, with fc1 and what follows it moved right to make room (no canvas: estimated sizes)
    assert flatten.position == (240.0, 0.0)
    assert c.doc.nodes[fc1].position[0] >= flatten.position[0] + 180.0 + 60.0
    assert c.undo_stack.count() == 1
    assert c.undo_stack.undoText() == "Insert Flatten between image and fc1"
    c.undo_stack.undo()
    assert snapshot(c) == before
    c.close()


def test_auto_arrange_is_one_step_and_flows_left_to_right(qapp):
    c = DocumentController(resnet_small())
    sizes = {n: (180.0, 100.0) for n in c.doc.nodes}
    c.auto_arrange(sizes)
    assert c.undo_stack.count() == 1 and c.undo_stack.undoText().startswith("Auto-arrange")
    for e in c.doc.edges:
        assert c.doc.nodes[e.source].position[0] < c.doc.nodes[e.target].position[0]
    c.close()


def test_analysis_is_coalesced_into_one_run_per_burst(controller, qtbot):
    runs = []
    controller.analysis_changed.connect(runs.append)
    fc2, cat, relu1 = ids(controller, "fc2", "cat", "relu1")
    controller.delete([fc2, cat, relu1])
    assert controller.analysis_pending
    qtbot.waitUntil(lambda: len(runs) == 1)
    qtbot.wait(20)
    assert len(runs) == 1


def test_empty_project_has_problems_not_crashes(qapp):
    c = DocumentController(Project.empty())
    assert not c.flush_analysis().ok
    c.close()


def test_a_frozen_layer_stays_frozen_when_copied_and_a_reserved_name_gets_a_free_id(controller):
    fc1, relu1 = ids(controller, "fc1", "relu1")
    controller.doc.set_frozen(fc1, True)
    new = controller.paste(controller.copy_data([fc1, relu1]), (0.0, 300.0))
    doc = controller.doc
    assert [doc.nodes[n].frozen for n in new] == [True, False]
    controller.undo_stack.undo()
    controller.undo_stack.redo()
    assert doc.nodes[new[0]].frozen  # redo adds it frozen again
    assert controller.rename(fc1, "forward") is None  # a name may be anything; the pasted id may not
    copied = controller.copy_data([fc1])
    doc.remove_node(fc1)  # as if cut: the name is free again
    (pasted,) = controller.paste(copied, (0.0, 600.0))
    assert doc.nodes[pasted].name == "forward" and pasted == "forward_2"
