"""What explanations add to a training run: the live Grad-CAM and the PCA probe, ready to plug in.

`explain_callbacks(checked, module, device, run_id, emit, probes)` returns an `ExplainHooks`:
the callbacks to add to the trainer (none when live telemetry is off), the handler of the
``explain`` command, and `set_probes`, which the run's probe changes go through as well (the PCA
probe follows the feature-map probe). Live Grad-CAM is offered for supervised classifiers with
image inputs; the PCA probe for every recipe whose network reads the dataset's inputs (not a
GAN's generator, which reads noise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx

from engine import telemetry as t
from engine.explain import default_node
from engine.explain.latent import PcaProbe, pca_inputs
from engine.explain.live import LiveGradCam
from engine.train.callbacks import Callback
from engine.train.setup import CheckedJob

PCA_RECIPES = ("supervised", "autoencoder", "vae")  # the network's input is the dataset's (a GAN's is noise)


def recipe_kind(settings: Any) -> str:
    """The run's training recipe (supervised where the settings name none)."""
    return str(getattr(getattr(settings, "recipe", None), "kind", "supervised"))


@dataclass
class ExplainHooks:
    """The explanation callbacks of one run and how commands reach them."""

    callbacks: list[Callback] = field(default_factory=list)
    live: LiveGradCam | None = None
    pca: PcaProbe | None = None

    def explain(self, command: dict[str, Any]) -> None:
        if self.live is not None:
            self.live.set_request(command)

    def following(self, set_probes: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
        """`set_probes` that also moves the PCA probe to the newly probed node."""
        def both(node_ids: list[str]) -> None:
            set_probes(node_ids)
            if self.pca is not None:
                self.pca.set_nodes(node_ids)
        return both


def explain_callbacks(checked: CheckedJob, module: fx.GraphModule, device: torch.device, run_id: str,
                      emit: Callable[[t.Message], None], probes: list[str]) -> ExplainHooks:
    """The live Grad-CAM (image classifiers) and the PCA probe of a run; nothing with telemetry off."""
    settings, data = checked.job.settings, checked.data
    hooks = ExplainHooks()
    if not settings.telemetry.enabled:
        return hooks
    summary = data.summary
    classify = summary.task == "classification"
    recipe = recipe_kind(settings)
    if recipe == "supervised" and classify and summary.is_image:
        hooks.live = LiveGradCam(run_id, emit, data, default_node(checked.job.document, checked.analysis))
        hooks.callbacks.append(hooks.live)
    x, y = data.val if len(data.val[0]) else data.train
    if recipe in PCA_RECIPES and len(x) >= 2:
        kept = getattr(checked, "val_labels", None)  # the classes, where a recipe made the input the target
        if kept is not None and len(data.val[0]):
            y = kept
        inputs, labels = pca_inputs(x, y, classify)
        hooks.pca = PcaProbe(run_id, emit, module, inputs.to(device), checked.input_id, labels,
                             list(summary.class_names) if classify else [], probes)
        hooks.callbacks.append(hooks.pca)
    return hooks
