"""Which of the recipe and explanation docks are up: those that mean something for the run.

The reconstructions, generated-samples and latent-space docks and the Explain dock start closed
(`hide_on_demand`, before the saved layout is restored, so a layout that had them open keeps them).
`RecipeDocks` then follows the runs: when one starts, the docks its training recipe fills come up
(reconstructions for the autoencoders, generated samples for the GAN and the VAE, the latent space
for the autoencoders), the recipe's main picture in front, and those it brought up for an earlier
run of another recipe close again; a picture that arrives for a dock that is closed brings it up
too, so a recipe named differently is still shown. Clicking a sample to explain brings the Explain
dock to the front. A dock the person opened from View ▸ Panels is never closed here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget

from engine import telemetry as t
from studio.run_controller import RunController
from studio.training.panels.sample_selection import SampleSelection

ON_DEMAND = ("reconstructions", "generated", "latent", "explain")
RECIPE_PANELS = {"reconstructions": ("autoencoder", "denoising", "denoising_autoencoder", "vae"),
                 "generated": ("gan", "vae"), "latent": ("vae", "autoencoder")}
FRONT = {"autoencoder": "reconstructions", "vae": "generated", "gan": "generated"}


def recipe_of(settings: dict[str, Any]) -> str:
    """The training recipe a run's settings name ("supervised" when they name none)."""
    recipe = settings.get("recipe") if isinstance(settings, dict) else None
    if isinstance(recipe, dict):
        recipe = recipe.get("kind")
    return str(recipe).lower() if recipe else "supervised"


def hide_on_demand(docks: dict[str, QDockWidget]) -> None:
    for name in ON_DEMAND:
        if name in docks:
            docks[name].hide()


class RecipeDocks(QObject):
    """Shows and hides the on-demand docks as runs and selections come."""

    def __init__(self, runs: RunController, samples: SampleSelection, docks: dict[str, QDockWidget],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.docks = docks
        self.brought_up: set[str] = set()  # docks shown here (and so closed here when they no longer apply)
        runs.run_started.connect(self._run_started)
        runs.reconstructions_arrived.connect(lambda _m: self.bring_up("reconstructions"))
        runs.generated_arrived.connect(lambda _m: self.bring_up("generated"))
        runs.latent_arrived.connect(self._latent)
        samples.changed.connect(lambda sample: self.bring_up("explain", front=True) if sample else None)

    def _run_started(self, message: t.RunStarted) -> None:
        recipe = recipe_of(message.settings)
        for name, recipes in RECIPE_PANELS.items():
            if recipe in recipes:
                self.bring_up(name)
            elif name in self.brought_up:
                self.brought_up.discard(name)
                self.docks[name].hide()
        front = FRONT.get(recipe)
        if front is not None:  # the recipe's own pictures, rather than the feature maps, face the person
            self.bring_up(front, front=True)

    def _latent(self, by_source: dict[str, t.LatentPoints]) -> None:
        if any(m.method != "pca" for m in by_source.values()):  # a VAE's own latent (a node's PCA is on demand)
            self.bring_up("latent")

    def bring_up(self, name: str, front: bool = False) -> None:
        dock = self.docks.get(name)
        if dock is None:
            return
        if dock.isHidden():
            self.brought_up.add(name)
            dock.show()
        if front:
            dock.raise_()
