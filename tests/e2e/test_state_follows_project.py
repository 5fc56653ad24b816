"""State follows the project: opening another project (three examples in turn, one trained with a real
worker) leaves nothing of the previous one in any panel, the canvas overlays or the error banner; the
training readiness follows every edit; a finished run is autosaved with the document."""

from __future__ import annotations

from e2e_projects import example

from engine.project import load_project
from engine.resources import example_path
from engine.runs import list_runs


def panels_show_no_run(studio) -> None:
    p = studio.panels
    assert p["loss"].val.n == p["loss"].train.n == p["loss"].batches.n == 0
    assert all(len(c.getData()[0] or []) == 0 for c in p["loss"].curves.values())
    assert p["loss"].compared == [] and p["metrics"].compared == []
    assert all(s.n == 0 for s in p["metrics"].series.values())
    assert p["learning_rate"].values.n == 0 and p["throughput"].values.n == 0
    assert p["gradient_flow"].series == {} and p["histograms"].weights == {}
    maps = p["feature_maps"]
    assert maps.image_data is None and maps.node_id is None and maps.maps == {}
    assert maps.header.text().startswith("Select a node")
    assert p["confusion"].matrix is None and p["confusion"].message is None
    assert p["predictions"].message is None and p["predictions"].grid.visible_count() == 0
    assert studio.context.comparison.runs == {}
    assert studio.health.overlays == {} and studio.health.grad_norms == {}
    assert not studio.error_banner.isVisible()


def dataset_shown(studio, qtbot, kind: str) -> None:
    panel = studio.panels["dataset"]
    preview = studio.preview
    qtbot.waitUntil(lambda: not preview.busy and (preview.result is not None or bool(preview.error)), timeout=120_000)
    assert panel.kind_box.currentData() == kind and panel.kind == kind
    if studio.preview.result is not None:
        assert studio.preview.result.config["kind"] == kind
        assert studio.preview.summary.name.lower().replace(" ", "") in panel.summary.text().lower().replace(" ", "")


def readiness(studio) -> str:
    return studio.panels["training"].problems_label.text()


def test_three_examples_in_turn_each_shows_only_its_own_state(window, studio, qtbot, screenshots):
    ui = studio
    # 1. LeNet-5, trained for real
    assert window.replace_document(example("lenet5", samples=600, epochs=2))
    dataset_shown(ui, qtbot, "shapes")
    assert ui.panels["dataset"].preview_stack.currentWidget() is ui.panels["dataset"].samples
    assert ui.panels["dataset"].samples.visible_count() > 0
    panels_show_no_run(ui)
    window.scene.select_nodes(["conv1"])
    ui.health.set_mode("grad_norm")
    assert ui.train()
    qtbot.waitUntil(lambda: not ui.runs.active, timeout=300_000)
    qtbot.waitUntil(lambda: ui.panels["runs"].run_ids() == ["run-1"], timeout=60_000)
    ui.panels["loss"].flush()
    assert ui.panels["loss"].val.n == 2 and ui.panels["feature_maps"].image_data is not None
    assert ui.panels["confusion"].message is not None and ui.panels["predictions"].message is not None
    # the finished run was autosaved with the document
    qtbot.waitUntil(lambda: window.files.autosaver.writes >= 1, timeout=60_000)
    recovered = load_project(window.files.slot.project_file)
    assert [r.run_id for r in list_runs(recovered)] == ["run-1"]
    ui.panels["runs"].tree.topLevelItem(0).setSelected(True)  # compare: its curves overlay the plots
    assert set(ui.context.comparison.runs) == {"run-1"} and ui.panels["loss"].compared
    assert "Ready to train" in readiness(ui)
    assert ui.docks["loss"].isVisible()  # the row under the canvas opened with the run
    window.set_theme("dark", remember=False)  # the curves, legends and axes of a real run, for a person to look at
    ui.show_panel("loss")
    ui.panels["loss"].flush()
    qtbot.wait(50)
    assert window.grab().save(str(screenshots / "workspace_trained_dark.png"))
    window.set_theme("light", remember=False)

    # 2. MLP on spirals: none of LeNet's run, its own dataset as a scatter
    assert window.replace_document(example("mlp_spirals", samples=400, epochs=2))
    panels_show_no_run(ui)
    assert ui.panels["runs"].run_ids() == [] and ui.panels["runs"].tree.topLevelItemCount() == 0
    dataset_shown(ui, qtbot, "spirals")
    dataset = ui.panels["dataset"]
    assert dataset.preview_stack.currentWidget() is dataset.scatter_plot
    assert len(dataset.scatter.data) > 0
    assert not window.files.slot.project_file.exists()  # the previous document's recovery file went with it
    qtbot.waitUntil(lambda: "Ready to train" in readiness(ui), timeout=10_000)
    # readiness is recomputed on every edit: a wrong class count, a broken wire, and back
    logits = window.controller.doc.node_by_name("logits").id
    window.controller.set_param(logits, "out_features", 64)
    assert "Training cannot start" in readiness(ui) and "64" in readiness(ui)
    window.controller.undo_stack.undo()
    assert "Ready to train" in readiness(ui)
    edge = next(e for e in window.controller.doc.edges if e.target == logits)
    window.controller.disconnect(edge)
    assert "the network has errors" in readiness(ui)
    window.controller.undo_stack.undo()
    assert "Ready to train" in readiness(ui)

    # 3. The small ResNet: its own dataset (never the spirals scatter), readiness includes availability
    project = load_project(example_path("resnet_small"))
    assert window.replace_document(project)
    panels_show_no_run(ui)
    kind = project.dataset["kind"]
    dataset_shown(ui, qtbot, kind)
    assert dataset.preview_stack.currentWidget() is not dataset.scatter_plot
    assert len(dataset.scatter.data) == 0
    if ui.preview.error:  # e.g. CIFAR-10 not downloaded: said in the Dataset panel and in the readiness
        assert dataset.error.isVisible() and ui.preview.error in dataset.error.text()
        assert dataset.preview_stack.currentWidget() is dataset.no_picture
        assert "the dataset cannot be loaded" in readiness(ui)
    else:
        assert dataset.preview_stack.currentWidget() is dataset.samples and dataset.samples.visible_count() > 0
        qtbot.waitUntil(lambda: "Ready to train" in readiness(ui), timeout=10_000)

