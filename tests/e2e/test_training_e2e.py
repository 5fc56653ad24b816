"""The whole path with a real worker process: open an example, train from the GUI, watch the panels,
switch the probe, stop, find the run in the Runs panel and in the saved file; and a killed worker.

Screenshots of every panel mid-run go to build/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import signal

import numpy as np
from e2e_projects import example

from engine.project import load_project, project_json_bytes
from engine.runs import list_runs, load_run_weights


def snap(window, ui, qtbot, folder, prefix: str = "") -> None:
    for name, dock in ui.docks.items():
        ui.show_panel(name)
        qtbot.wait(60)
        panel = ui.panels[name]
        qtbot.waitUntil(lambda p=panel: not p.dirty, timeout=5000)
        dock.grab().save(str(folder / f"training_{prefix}panel_{name}.png"))
    window.grab().save(str(folder / f"training_{prefix}window.png"))


def test_train_watch_switch_probe_stop_and_find_the_run(window, studio, qtbot, screenshots, tmp_path):
    window.open_project(example("lenet5", samples=900, epochs=300))
    qtbot.waitUntil(lambda: studio.preview.result is not None, timeout=60_000)
    window.scene.select_nodes(["conv1"])
    studio.actions.all["train"].trigger()
    assert studio.runs.active and studio.lock_banner.isVisible()
    loss, maps = studio.panels["loss"], studio.panels["feature_maps"]
    qtbot.waitUntil(lambda: loss.val.n >= 2 and maps.image_data is not None, timeout=180_000)
    assert studio.runs.handle.pid != os.getpid()  # a real worker process
    loss.flush()
    x, y = loss.curves["val"].getData()
    assert len(x) >= 2 and np.all(np.isfinite(y))
    assert studio.panels["metrics"].series[("accuracy", "val")].n >= 2
    image = maps.image_data
    assert image.ndim == 3 and image.shape[2] == 4 and image[..., :3].std() > 0
    assert maps.node_id == "conv1" and "conv1" in maps.header.text()
    window.scene.select_nodes(["relu2"])
    qtbot.waitUntil(lambda: "relu2" in maps.maps, timeout=60_000)
    assert studio.runs.probes == ["relu2"]
    studio.health.set_mode("grad_norm")
    qtbot.waitUntil(lambda: len(studio.health.overlays) == 5, timeout=60_000)
    snap(window, studio, qtbot, screenshots)
    studio.show_panel("loss")
    studio.show_panel("feature_maps")
    window.grab().save(str(screenshots / "training_window_training.png"))
    studio.actions.all["stop"].trigger()
    qtbot.waitUntil(lambda: not studio.runs.active, timeout=120_000)
    assert not studio.lock_banner.isVisible()
    project = window.controller.project
    qtbot.waitUntil(lambda: studio.panels["runs"].run_ids() == ["run-1"], timeout=30_000)
    (summary,) = list_runs(project)
    assert summary.run_id == "run-1" and summary.status == "stopped" and summary.epochs >= 2
    assert studio.panels["runs"].run_ids() == ["run-1"]
    assert max(studio.runs.tick_cpu_ms) < 50.0
    assert window.save_to(tmp_path / "trained.loom")
    reopened = load_project(tmp_path / "trained.loom")
    assert [r.run_id for r in list_runs(reopened)] == ["run-1"]
    weights = load_run_weights(reopened, "run-1", "last")
    assert set(weights) >= {"conv1.weight", "fc3.bias"}
    window.grab().save(str(screenshots / "training_window_after_run.png"))


def test_a_killed_worker_is_reported_and_the_document_survives(window, studio, qtbot, screenshots):
    window.open_project(example("lenet5", samples=600, epochs=500))
    qtbot.waitUntil(lambda: studio.preview.result is not None, timeout=60_000)
    project = window.controller.project
    window.controller.move_nodes({"conv1": project.network.nodes["conv1"].position}, {"conv1": (0.0, 400.0)})
    before = project_json_bytes(project)
    assert studio.train()
    qtbot.waitUntil(lambda: studio.runs.state == "running", timeout=180_000)
    os.kill(studio.runs.handle.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not studio.runs.active, timeout=60_000)
    assert studio.error_banner.isVisible()
    assert "stopped unexpectedly" in studio.error_banner.title.text()
    assert "killed by signal 9" in studio.error_banner.message.text()
    assert any("killed by signal 9" in line for line in studio.panels["log"].lines)
    qtbot.waitUntil(lambda: not studio.panels["feature_maps"].dirty)
    window.grab().save(str(screenshots / "training_window_worker_killed.png"))
    assert project_json_bytes(project) == before
    assert window.controller.undo_stack.count() == 1 and window.isWindowModified()
    assert window.undo_group.activeStack() is window.controller.undo_stack
    assert list_runs(project) == [] and studio.saver.pending == 0
    window.controller.undo_stack.undo()  # the studio still edits
    assert project.network.nodes["conv1"].position != (0.0, 400.0)
    assert studio.actions.all["train"].isEnabled()
