"""The recipe panels with real runs: the bundled denoising autoencoder, VAE and DCGAN examples train in-process
(small data, a few epochs) and their docks come up with the pictures the worker sends; the Loss panel draws the
recipe's loss terms. Screenshots of each panel with this real data go to the session's screenshot folder."""

from __future__ import annotations

import numpy as np
import pytest
from test_training_support import open_small, training_fixture  # noqa: F401

from engine.runner import LocalRun
from studio.training.recipe_docks import ON_DEMAND


@pytest.fixture
def local(training):
    training.launcher = LocalRun.start
    return training


def _train(window, local, qtbot, name: str, samples: int, epochs: int, **recipe: object) -> None:
    project = open_small(window, qtbot, local, name, samples=samples, epochs=epochs)
    project.training["recipe"].update(recipe)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=180_000)


def _float(local, name: str, width: int = 520, height: int = 420) -> None:
    """The dock on its own (a tab behind another is not drawn until it comes to the front)."""
    dock = local.docks[name]
    dock.setFloating(True)
    dock.resize(width, height)
    dock.raise_()


def _shot(local, qtbot, name: str, path) -> None:
    panel = local.panels[name]
    qtbot.waitUntil(lambda: not panel.dirty, timeout=5000)
    assert local.docks[name].grab().save(str(path))


def test_a_denoising_autoencoder_shows_its_reconstructions_and_loss(window, local, qtbot, screenshots):
    _train(window, local, qtbot, "conv_autoencoder", 1200, 4, input_noise=0.3)
    assert local.docks["reconstructions"].isVisible() and not local.docks["generated"].isVisible()
    panel = local.panels["reconstructions"]
    assert panel.showing()  # the recipe's main picture comes to the front
    _float(local, "reconstructions")
    qtbot.waitUntil(lambda: panel.image_data is not None, timeout=10_000)
    m = panel.message
    assert m.epoch == 3 and m.noisy is not None and m.inputs.shape == m.outputs.shape == m.noisy.shape
    assert "input · noisy input · reconstruction" in panel.header.text()
    h, w = m.inputs.shape[1:3]
    assert np.array_equal(panel.image_data[:h, :w, 0], m.inputs[0, :, :, 0])
    assert np.array_equal(panel.image_data[:h, 2 * w + 2:3 * w + 2, 0], m.outputs[0, :, :, 0])
    _shot(local, qtbot, "reconstructions", screenshots / "recipe_live_denoising_reconstructions.png")
    loss = local.panels["loss"]
    _float(local, "loss", 640, 300)
    qtbot.waitUntil(lambda: "reconstruction" in loss.part_curves, timeout=10_000)


def test_a_vae_shows_reconstructions_samples_latent_space_and_both_loss_terms(window, local, qtbot, screenshots):
    _train(window, local, qtbot, "vae_shapes", 1200, 5)
    for name in ("reconstructions", "generated", "latent"):
        assert local.docks[name].isVisible(), name
    generated, latent = local.panels["generated"], local.panels["latent"]
    assert generated.showing()
    _float(local, "generated", 460, 500)
    _float(local, "latent")
    _float(local, "reconstructions")
    qtbot.waitUntil(lambda: generated.image_data is not None and latent.source is not None, timeout=10_000)
    assert generated.epochs[-1] == 4 and generated.epoch_label.text().endswith("(newest)")
    assert latent.source == "None" and "latent space" in latent.header.text().lower()
    shown = latent.sources["None"]
    assert sorted(latent.scatters) == sorted(set(shown.labels.tolist())) and len(latent.scatters) == 6
    loss = local.panels["loss"]
    _float(local, "loss", 640, 300)
    qtbot.waitUntil(lambda: {"reconstruction", "kl"} <= set(loss.part_curves), timeout=10_000)
    names = [label.text for _sample, label in loss.terms_plot.getPlotItem().legend.items]
    assert "KL divergence" in names and "reconstruction" in names
    _shot(local, qtbot, "generated", screenshots / "recipe_live_vae_generated.png")
    _shot(local, qtbot, "latent", screenshots / "recipe_live_vae_latent.png")
    _shot(local, qtbot, "reconstructions", screenshots / "recipe_live_vae_reconstructions.png")
    _shot(local, qtbot, "loss", screenshots / "recipe_live_vae_loss.png")


def test_a_gan_shows_its_generated_grid_and_both_losses(window, local, qtbot, screenshots):
    _train(window, local, qtbot, "dcgan_shapes", 1200, 4)
    assert local.docks["generated"].isVisible()
    assert not local.docks["reconstructions"].isVisible() and not local.docks["latent"].isVisible()
    generated = local.panels["generated"]
    _float(local, "generated", 460, 500)
    qtbot.waitUntil(lambda: generated.image_data is not None, timeout=10_000)
    assert generated.epochs[-1] == 3 and generated.epoch_label.text() == "4 of 4 (newest)"
    loss = local.panels["loss"]
    _float(local, "loss", 640, 300)
    qtbot.waitUntil(lambda: {"generator", "discriminator"} <= set(loss.part_curves), timeout=10_000)
    _shot(local, qtbot, "generated", screenshots / "recipe_live_gan_generated.png")
    _shot(local, qtbot, "loss", screenshots / "recipe_live_gan_loss.png")
    # back to a classifier: the recipe docks this run brought up go again
    open_small(window, qtbot, local, samples=300, epochs=1)
    assert local.train()
    qtbot.waitUntil(lambda: not local.runs.active, timeout=120_000)
    assert not any(local.docks[name].isVisible() for name in ON_DEMAND if name != "explain")
