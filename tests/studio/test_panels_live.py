"""Each live panel draws what the run sends: curves made once and updated, one mosaic image, counts."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from test_training_support import (  # noqa: F401
    CLASSES,
    ScriptedRun,
    confusion,
    epoch,
    feature_maps,
    finished,
    message,
    open_small,
    predictions,
    started,
    stats,
    step,
    training_fixture,
)

from studio.training.panels.mosaic import feature_mosaic, grid_shape, normalize_channels, tile_grid
from studio.training.panels.series import Series
from studio.training.panels.style import lookup_table


def play(training, qtbot, batches) -> None:
    """Run a scripted run to its end with every panel shown."""
    for dock in training.docks.values():
        dock.setFloating(True)
        dock.show()
    training.runs.attach(ScriptedRun(batches), "scripted")
    qtbot.waitUntil(lambda: training.runs.handle is None, timeout=30_000)
    for panel in training.panels.values():
        qtbot.waitUntil(lambda p=panel: not p.dirty, timeout=5000)


def test_series_grow_and_read_as_views():
    s = Series(capacity=2)
    s.extend([0, 1, 2], [5, 6, 7])
    s.append(3, 8)
    assert s.x.tolist() == [0, 1, 2, 3] and s.y.tolist() == [5, 6, 7, 8] and len(s) == 4
    s.clear()
    assert len(s.x) == 0


def test_mosaic_tiles_all_channels_into_one_image():
    maps = np.arange(6 * 4 * 5, dtype=np.float32).reshape(6, 4, 5)
    maps[3] = 7.0  # a flat channel
    norm = normalize_channels(maps)
    assert norm.min() == 0.0 and norm.max() == 1.0 and np.all(norm[3] == 0.5)
    assert grid_shape(6, 4, 5) == (3, 2) and grid_shape(6, 4, 4, aspect=6.0) == (1, 6)
    tiles = tile_grid(norm, gap=1)
    assert tiles.shape == (3 * 5 - 1, 2 * 6 - 1) and np.isnan(tiles[4, 0])
    rgba = feature_mosaic(maps.astype(np.float16), lookup_table(), (255, 255, 255, 255))
    assert rgba.shape == (14, 11, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[4, 0]) == (255, 255, 255, 255)


def test_curves_are_made_once_and_fed_with_set_data(window, training, qtbot):
    open_small(window, qtbot, training)
    loss = training.panels["loss"]
    curves = dict(loss.curves)
    item = loss.plot.getPlotItem()
    assert item.ctrl.downsampleCheck.isChecked() and item.ctrl.clipToViewCheck.isChecked()
    assert item.ctrl.peakRadio.isChecked() and item.ctrl.autoDownsampleCheck.isChecked()
    batches = [[started(epochs=2, steps=10)]] + [[step(i)] for i in range(20)] + [[epoch(0)], [epoch(1)], [finished()]]
    play(training, qtbot, batches)
    assert loss.curves == curves and all(loss.curves[k] is curves[k] for k in curves)
    x, _ = loss.curves["batches"].getData()
    assert len(x) == 20 and x[-1] == 2.0
    assert loss.curves["val"].getData()[1].tolist() == [1.2, 0.6]
    lr = training.panels["learning_rate"].curve.getData()
    assert len(lr[0]) == 20 and np.allclose(lr[1], 1e-3)
    assert training.panels["throughput"].curve.getData()[1][-1] == 5019.0
    metrics = training.panels["metrics"]
    assert metrics.curves[("accuracy", "val")].getData()[1].tolist() == [45.0, 45.0]


def test_feature_maps_are_one_image_item_and_follow_the_chosen_node(window, training, qtbot):
    open_small(window, qtbot, training)
    rng = np.random.default_rng(1)
    panel = training.panels["feature_maps"]
    play(training, qtbot, [[started(probes=("conv1",))], [feature_maps("conv1", 5, rng, 6, 28)], [finished()]])
    images = [i for i in panel.box.addedItems if isinstance(i, pg.ImageItem)]
    assert images == [panel.image]
    assert panel.image_data is not None and panel.image_data.shape[2] == 4
    assert panel.image.image.shape[:2] == panel.image_data.shape[:2]
    assert "conv1" in panel.header.text() and "6×28×28" in panel.header.text()
    panel.show_node("relu1")
    assert panel.image_data is None and "No feature maps of 'relu1' arrived" in panel.header.text()


def test_confusion_matrix_shows_counts_and_accuracy(window, training, qtbot):
    open_small(window, qtbot, training)
    rng = np.random.default_rng(2)
    m = confusion(0, rng)
    play(training, qtbot, [[started()], [m], [finished()]])
    panel = training.panels["confusion"]
    assert panel.matrix.tolist() == np.asarray(m["matrix"]).tolist()
    assert panel.counts.counts.tolist() == panel.matrix.tolist()
    correct = np.trace(panel.matrix) / panel.matrix.sum() * 100
    assert f"{correct:.1f}% correct" in panel.header.text()
    ticks = panel.plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [t[1] for t in ticks] == CLASSES


def test_sample_predictions_mark_the_mistakes(window, training, qtbot):
    open_small(window, qtbot, training)
    rng = np.random.default_rng(3)
    p = predictions(0, rng)
    play(training, qtbot, [[started()], [p], [finished()]])
    panel = training.panels["predictions"]
    wrong = sum(t != q for t, q in zip(p["true"], p["predicted"]))
    assert panel.mistakes == wrong and f"{wrong} of 16 wrong" in panel.header.text()
    assert panel.grid.visible_count() == 16
    flagged = [t for t in panel.grid.tiles if "✗" in t.caption.text()]
    assert len(flagged) == wrong


def test_histograms_follow_the_canvas_selection_and_gradient_flow_is_per_node(window, training, qtbot):
    open_small(window, qtbot, training)
    rng = np.random.default_rng(4)
    batch = [stats(kind, node, 7, rng) for node in ("conv1", "fc1") for kind in ("weight_stats", "grad_stats")]
    play(training, qtbot, [[started()], batch, [stats("grad_stats", "conv1", 9, rng)], [finished()]])
    hist = training.panels["histograms"]
    window.scene.select_nodes(["fc1"])
    assert hist.node_id == "fc1" and hist.param_box.currentText() == "weight"
    x, y = hist.curves["weights"].getData()
    assert len(x) == 33 and len(y) == 32
    flow = training.panels["gradient_flow"]
    assert set(flow.curves) == {"conv1", "fc1"}
    assert flow.curves["conv1"].getData()[0].tolist() == [7.0, 9.0]
    assert flow.plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_panels_follow_the_theme(window, training, qtbot):
    window.actions.themes["dark"].trigger()
    loss = training.panels["loss"]
    assert loss.plot.backgroundBrush().color().name() == training.context.theme.base
    assert training.context.theme.name == "dark"
    window.actions.themes["light"].trigger()
    assert loss.plot.backgroundBrush().color().name() == "#ffffff"


def test_log_keeps_errors_and_run_lines(window, training, qtbot):
    open_small(window, qtbot, training)
    err = message("error", message="something broke", kind="error", node_id=None, traceback="Traceback\n  boom")
    play(training, qtbot, [[started(), message("log", text="early stopping", level="info")], [err],
                            [finished("failed", 0)]])
    lines = training.panels["log"].lines
    assert "early stopping" in lines and "error: something broke" in lines
    assert training.error_banner.isVisible() and "something broke" in training.error_banner.message.text()
