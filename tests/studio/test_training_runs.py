"""Runs from the GUI with the worker loop in-process (LocalRun): panels fill, runs are saved, listed,
compared and deleted; pause and resume; the probe follows the selection; NaN marks its node."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_training_support import open_small, training_fixture  # noqa: F401

from engine.runner import LocalRun
from engine.runs import list_runs


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def test_a_run_fills_the_panels_and_is_saved_listed_compared_and_deleted(window, local, qtbot):
    project = open_small(window, qtbot, local, epochs=4)
    window.scene.select_nodes(["conv1"])
    stack = window.controller.undo_stack
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    for name in ("loss", "metrics", "confusion", "predictions", "feature_maps"):
        local.show_panel(name)
    panels = local.panels
    qtbot.waitUntil(lambda: panels["confusion"].matrix is not None and not panels["loss"].dirty, timeout=5000)
    assert panels["loss"].val.n == 4 and len(panels["loss"].curves["val"].getData()[0]) == 4
    assert panels["metrics"].series[("accuracy", "val")].n == 4
    assert panels["feature_maps"].node_id == "conv1"
    qtbot.waitUntil(lambda: panels["feature_maps"].image_data is not None, timeout=5000)
    assert local.panels["confusion"].matrix.sum() == 90  # the test split of 600 samples
    qtbot.waitUntil(lambda: local.panels["runs"].run_ids() == ["run-1"], timeout=30_000)
    assert [r.run_id for r in list_runs(project)] == ["run-1"]
    assert list_runs(project)[0].status == "completed"
    assert window.isWindowModified() and stack.count() == 0  # saved as a result, not as an undo step
    runs = local.panels["runs"]
    assert runs.run_ids() == ["run-1"]
    runs.tree.topLevelItem(0).setSelected(True)
    assert set(local.context.comparison.runs) == {"run-1"}
    assert len(local.panels["loss"].compared) == 2  # train and validation, dashed
    runs.confirm = lambda parent, text: "run-1" in text
    assert runs.delete_selected()
    assert list_runs(project) == [] and runs.run_ids() == []
    assert stack.undoText() == "Delete run run-1"
    stack.undo()
    assert [r.run_id for r in list_runs(project)] == ["run-1"]
    qtbot.waitUntil(lambda: runs.run_ids() == ["run-1"])


def test_pause_holds_the_run_and_resume_continues_it(window, local, qtbot):
    open_small(window, qtbot, local, epochs=200)
    assert local.train()
    qtbot.waitUntil(lambda: local.panels["loss"].batches.n >= 3, timeout=120_000)
    local.actions.all["pause"].trigger()
    qtbot.waitUntil(lambda: local.runs.state == "paused", timeout=30_000)
    assert local.actions.all["resume"].isEnabled() and local.actions.all["stop"].isEnabled()
    assert local.actions.progress_label.text().startswith("Paused")
    held = local.panels["loss"].batches.n
    qtbot.wait(600)
    assert local.panels["loss"].batches.n == held
    local.actions.all["resume"].trigger()
    qtbot.waitUntil(lambda: local.runs.state == "running", timeout=30_000)
    qtbot.waitUntil(lambda: local.panels["loss"].batches.n > held, timeout=30_000)
    local.actions.all["stop"].trigger()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=60_000)
    qtbot.waitUntil(lambda: local.panels["runs"].run_ids() == ["run-1"], timeout=30_000)
    assert list_runs(window.controller.project)[0].status == "stopped"


def test_selecting_another_node_switches_the_probe_without_restarting(window, local, qtbot):
    open_small(window, qtbot, local, epochs=200)
    window.scene.select_nodes(["conv1"])
    assert local.train()
    panel = local.panels["feature_maps"]
    local.show_panel("feature_maps")
    qtbot.waitUntil(lambda: "conv1" in panel.maps, timeout=120_000)
    run_id = local.runs.run_id
    window.scene.select_nodes(["relu2"])
    assert local.runs.probes == ["relu2"] and panel.node_id == "relu2"
    qtbot.waitUntil(lambda: "relu2" in panel.maps, timeout=30_000)
    qtbot.waitUntil(lambda: panel.image_data is not None and "relu2" in panel.header.text(), timeout=5000)
    assert panel.maps["relu2"].shape == [16, 10, 10]
    assert local.runs.run_id == run_id and local.runs.active
    window.scene.select_nodes(["output"])  # an Output node has nothing to probe: the probe stays
    assert local.runs.probes == ["relu2"]
    local.runs.stop()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=60_000)


def test_a_nan_marks_its_node_and_leaves_the_document_alone(window, local, qtbot):
    project = open_small(window, qtbot, local, "mlp_spirals", samples=400, epochs=50,
                         optimizer={"kind": "sgd", "lr": 1e6, "momentum": 0.9})
    before = project.network.nodes["logits"].params.copy(), len(project.network.edges)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    assert local.error_banner.isVisible()
    assert local.error_banner.title.text() == "<b>Training diverged</b>"
    message = local.error_banner.message.text()
    # Which node the engine names depends on how far the weights had diverged when the loop checked
    # (the loss is read once per report, not per step): an overflowing output ('logits' ... was the first
    # node whose output was not finite) or a layer whose weights went non-finite ('hidden1'). Either way
    # the studio must mark and select exactly the node the message names.
    named = re.search(r"'(hidden1|hidden2|logits)' (?:was the first node|are no longer finite)", message) or \
        re.search(r"the weights of '(hidden1|hidden2|logits)' are no longer finite", message)
    assert named, message
    node = named.group(1)
    assert local.health.nan_node == node
    overlay = local.health.overlays[node]
    assert overlay.nan and overlay.text == "NaN" and overlay.parentItem() is window.scene.nodes[node]
    assert window.scene.selected_node_ids() == [node]
    assert (project.network.nodes["logits"].params, len(project.network.edges)) == before
    assert window.undo_group.activeStack() is window.controller.undo_stack
    assert any("error:" in line for line in local.panels["log"].lines)


def test_canvas_health_colours_nodes_by_gradient_norm_or_dead_units(window, local, qtbot):
    open_small(window, qtbot, local, epochs=2)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    health = local.health
    assert set(health.grad_norms) == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    assert all(np.isfinite(v) and v > 0 for v in health.grad_norms.values())
    local.actions.health["grad_norm"].trigger()
    assert set(health.overlays) == set(health.grad_norms)
    assert health.overlays["conv1"].text.startswith("∇")
    local.actions.health["dead_units"].trigger()
    assert set(health.overlays) == {"relu1", "relu2", "relu3", "relu4"}
    assert health.overlays["relu1"].text.startswith("dead ")
    local.actions.health["off"].trigger()
    assert health.overlays == {}


def test_data_the_worker_cannot_load_is_reported_and_nothing_is_saved(window, local, qtbot, tmp_path):
    project = open_small(window, qtbot, local)
    project.dataset = {"kind": "csv", "params": {"path": str(tmp_path / "missing.csv"), "target_column": "y"},
                       "val_fraction": 0.15, "test_fraction": 0.15, "seed": 0}
    assert local.train()  # the file is only looked for when the data loads, in the worker
    qtbot.waitUntil(lambda: not local.runs.active, timeout=60_000)
    assert local.error_banner.isVisible() and local.error_banner.title.text() == "<b>Training cannot start</b>"
    assert "missing.csv" in local.error_banner.message.text()
    assert list_runs(project) == [] and local.saver.pending == 0
