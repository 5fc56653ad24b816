"""The recipe panels: reconstructions beside their inputs, the generated grid with its epoch slider, the latent
space coloured by class, and a recipe's loss terms as curves of their own; each dock comes up only for runs it
means something for. Pictures are real shapes (the dataset's own generator); the latent view comes from a real
run's PCA probe. Screenshots go to the session's screenshot folder."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_training_support import finished, message, open_small, started, step, training_fixture  # noqa: F401

from engine import telemetry as t
from engine.data.shapes import SHAPES, draw_shapes
from engine.runner import LocalRun
from studio.training.panels.overlay import as_rgb
from studio.training.recipe_docks import ON_DEMAND, recipe_of


def _shapes(n: int, seed: int) -> np.ndarray:
    images = draw_shapes(np.arange(n) % len(SHAPES), 28, np.random.default_rng(seed))
    return (images[..., None] * 255).round().astype(np.uint8)


def _blurred(images: np.ndarray, passes: int) -> np.ndarray:
    """A stand-in for an autoencoder's output: the inputs blurred (a real recipe run replaces it at merge)."""
    x = images.astype(np.float32)
    for _ in range(passes):
        x = (x + np.roll(x, 1, 1) + np.roll(x, -1, 1) + np.roll(x, 1, 2) + np.roll(x, -1, 2)) / 5
    return x.round().astype(np.uint8)


def _recipe_started(recipe: str) -> dict:
    m = started(probes=())
    m["settings"] = {"recipe": {"kind": recipe}}
    return m


def _play(training, qtbot, batches) -> None:
    from test_training_support import ScriptedRun

    training.runs.attach(ScriptedRun(batches), "scripted")
    qtbot.waitUntil(lambda: training.runs.handle is None, timeout=30_000)


def _float(ui, name: str, width: int = 520, height: int = 400) -> None:
    dock = ui.docks[name]
    dock.setFloating(True)
    dock.resize(width, height)
    dock.show()
    dock.raise_()


def test_recipe_docks_come_only_for_the_runs_they_mean_something_for(window, training, qtbot):
    assert recipe_of({}) == "supervised" and recipe_of({"recipe": "GAN"}) == "gan"
    open_small(window, qtbot, training)
    assert not any(training.docks[name].isVisible() for name in ON_DEMAND)
    _play(training, qtbot, [[started()], [finished()]])
    assert not any(training.docks[name].isVisible() for name in ON_DEMAND)
    _play(training, qtbot, [[_recipe_started("vae")], [finished()]])
    assert all(training.docks[n].isVisible() for n in ("reconstructions", "generated", "latent"))
    _play(training, qtbot, [[_recipe_started("gan")], [finished()]])
    assert training.docks["generated"].isVisible()
    assert not training.docks["reconstructions"].isVisible() and not training.docks["latent"].isVisible()
    _play(training, qtbot, [[started()], [finished()]])
    assert not any(training.docks[name].isVisible() for name in ON_DEMAND)


def test_reconstructions_sit_beside_their_inputs(window, training, qtbot, screenshots):
    open_small(window, qtbot, training)
    inputs = _shapes(16, 1)
    rng = np.random.default_rng(2)
    noisy = np.clip(inputs + rng.normal(0, 60, inputs.shape), 0, 255).astype(np.uint8)
    outputs = _blurred(inputs, 2)
    m = message("reconstructions", epoch=4, inputs=inputs, outputs=outputs, noisy=noisy)
    _play(training, qtbot, [[_recipe_started("denoising")], [m], [finished()]])
    panel = training.panels["reconstructions"]
    _float(training, "reconstructions")
    qtbot.waitUntil(lambda: panel.image_data is not None and not panel.dirty, timeout=5000)
    assert "after epoch 5" in panel.header.text() and "input · noisy input · reconstruction" in panel.header.text()
    drawn = panel.image_data
    # the first cell: input, a one-pixel gap, the noisy input, a gap, the reconstruction
    assert np.array_equal(drawn[:28, :28], as_rgb(inputs[0]))
    assert np.array_equal(drawn[:28, 29:57], as_rgb(noisy[0]))
    assert np.array_equal(drawn[:28, 58:86], as_rgb(outputs[0]))
    assert training.docks["reconstructions"].grab().save(str(screenshots / "recipe_reconstructions.png"))
    plain = message("reconstructions", epoch=5, inputs=inputs[:8], outputs=outputs[:8])
    _play(training, qtbot, [[_recipe_started("autoencoder")], [plain], [finished()]])
    qtbot.waitUntil(lambda: panel.image_data is not None and not panel.dirty, timeout=5000)
    assert "each: <b>input · reconstruction</b>" in panel.header.text()
    assert np.array_equal(panel.image_data[:28, 29:57], as_rgb(outputs[0]))


def test_the_generated_grid_follows_the_epochs_and_the_slider_goes_back(window, training, qtbot, screenshots):
    open_small(window, qtbot, training)
    grids = [_blurred(_shapes(36, 5), 4 - e) for e in range(3)]  # the same "noise", sharper each epoch
    batches = [[_recipe_started("gan")]]
    batches += [[message("generated_samples", epoch=e, images=grids[e])] for e in range(3)]
    _play(training, qtbot, [*batches, [finished()]])
    panel = training.panels["generated"]
    _float(training, "generated", 480, 520)
    qtbot.waitUntil(lambda: panel.image_data is not None and not panel.dirty, timeout=5000)
    assert panel.epochs == [0, 1, 2] and panel.shown_epoch() == 2
    assert panel.epoch_label.text() == "3 of 3 (newest)" and "36 samples" in panel.header.text()
    assert np.array_equal(panel.image_data[:28, :28], as_rgb(grids[2][0]))
    assert training.docks["generated"].grab().save(str(screenshots / "recipe_generated.png"))
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.shown_epoch() == 0 and panel.epoch_label.text() == "1 of 3"
    assert np.array_equal(panel.image_data[:28, :28], as_rgb(grids[0][0]))
    assert not panel.following
    # a new epoch while looking back keeps the view where it is (as the controller hands it on)
    training.runs.generated_arrived.emit(t.GeneratedSamples("scripted", epoch=3, images=grids[2]))
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert panel.epochs == [0, 1, 2, 3] and panel.shown_epoch() == 0 and panel.epoch_label.text() == "1 of 4"


def test_loss_terms_are_curves_of_their_own(window, training, qtbot):
    open_small(window, qtbot, training)
    steps = []
    for i in range(20):
        s = step(i)
        s["parts"] = {"reconstruction": 1.0 / (1 + i), "kl": 0.01 * i}
        steps.append(s)
    training.show_panel("loss")
    _play(training, qtbot, [[_recipe_started("vae")], steps, [finished()]])
    panel = training.panels["loss"]
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert set(panel.part_curves) == {"reconstruction", "kl"}
    _x, y = panel.part_curves["kl"].getData()
    assert np.isnan(y[0]) and np.allclose(10 ** y[1:], [0.01 * i for i in range(1, 20)])  # log axis: 0 is a gap
    names = [label.text for _sample, label in panel.terms_plot.getPlotItem().legend.items]
    assert "KL divergence" in names and "reconstruction" in names
    assert panel.terms_plot.isVisible() and panel.terms_plot.getPlotItem().ctrl.logYCheck.isChecked()
    _play(training, qtbot, [[started()], [step(0)], [finished()]])  # a supervised run has no terms
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert not panel.part_curves and not panel.terms_plot.isVisible()
    assert panel.terms_plot.getPlotItem().legend.items == []


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def test_the_latent_view_shows_the_chosen_nodes_pca_by_class(window, local, qtbot, screenshots):
    open_small(window, qtbot, local, samples=1200, epochs=4, probes=["relu3"])  # after the first Linear
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    panel = local.panels["latent"]
    _float(local, "latent", 520, 440)
    qtbot.waitUntil(lambda: "relu3" in panel.sources and not panel.dirty, timeout=10_000)
    m = panel.sources["relu3"]
    assert m.method == "pca" and m.epoch == 3 and m.points.shape == (len(m.labels), 2)
    assert "PCA of 'relu3'" in panel.header.text() and "after epoch 4" in panel.header.text()
    assert sorted(panel.scatters) == list(range(6))
    for cls, scatter in panel.scatters.items():
        xs, ys = scatter.getData()
        chosen = m.labels == cls
        assert np.allclose(xs, m.points[chosen, 0]) and np.allclose(ys, m.points[chosen, 1])
    legend = panel.legend.text()
    assert [legend.index(name) for name in SHAPES] == sorted(legend.index(name) for name in SHAPES)
    assert panel.plot.getPlotItem().getAxis("bottom").labelText == "principal component 1"
    assert local.docks["latent"].grab().save(str(screenshots / "recipe_latent_pca.png"))
