"""A recipe as the trainer runs it: the loss with its named parts, the GAN's step and its evaluation.

`make_recipe(checked, module, device, settings, steps_per_epoch)` returns None for supervised
training (the trainer's own step) or a `Recipe` whose pieces `engine.train.setup` wires in:

- autoencoder and vae: the data's targets become the inputs themselves (the same tensors, no
  copy) and `loss` compares the output with them (mse, l1 or bce). `wrap_augment` wraps the
  trainer's augmentation hook: the augmented batch (flips, crops...) becomes the training target,
  and denoising adds Gaussian noise to the network's input only, so the target stays clean. The
  vae adds ``kl_weight`` times the KL term its Sampling layer computes. The trainer's own step
  runs unchanged.
- gan (`engine.train.recipes.gan`): `step` replaces the whole training step and `evaluate`
  replaces evaluation. The generator and discriminator are modules of their own that share their
  layers with the built network (`part_module`), so weights, statistics and saved runs stay the
  network's.

Named loss terms (`PartSums`) are added on the device at every step, never read back there; the
trainer's progress reports and epoch ends read them (`window`, `epoch`), where it syncs anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import fx

from engine.build import build_module
from engine.graph.analysis import Analysis
from engine.graph.document import GraphDocument
from engine.layers.modules import Sampling
from engine.train.recipes.declared import AUTOENCODER, GAN, KL, RECONSTRUCTION, VAE
from engine.train.recipes.structure import autoencoder_split, network_part
from engine.train.settings import TrainingSettings

if TYPE_CHECKING:
    from engine.train.device import Precision

TensorPair = tuple[torch.Tensor, torch.Tensor]
Augment = Callable[[torch.Tensor], torch.Tensor]


class PartSums:
    """Running sums of named loss terms on the device: the training window (since the last report), the
    training epoch, and the evaluation in progress. Adding a step's terms is one stack and one add.

    Training terms are batch means averaged over the batches (as the training loss is); evaluation
    terms are weighted by each batch's samples (as the evaluation loss is: a mean over samples)."""

    def __init__(self, names: tuple[str, ...], device: torch.device) -> None:
        self.names = names
        self._train = torch.zeros(2, len(names), device=device)  # rows: window, epoch
        self._eval = torch.zeros(len(names), device=device)
        self._counts = {"window": 0, "train": 0, "eval": 0}

    def add(self, values: list[torch.Tensor], training: bool, samples: int = 1) -> None:
        """A step's terms (batch means). Evaluation weighs each batch by its `samples`, as the evaluation loss
        does, so a short last batch counts for what it holds and the terms add up to the loss."""
        stacked = torch.stack([v.detach().float() for v in values])
        if training:
            self._train += stacked  # both rows at once
            self._counts["window"] += 1
            self._counts["train"] += 1
        else:
            self._eval += stacked * samples
            self._counts["eval"] += samples

    def take(self, phase: str) -> dict[str, float]:
        """Mean of each term since the phase's last take (one sync), then start again."""
        count = self._counts[phase]
        if not count:
            return {}
        row = self._eval if phase == "eval" else self._train[0 if phase == "window" else 1]
        means = (row / count).tolist()
        row.zero_()
        self._counts[phase] = 0
        return dict(zip(self.names, means))


@dataclass
class Recipe:
    """What a recipe changes in a run; every field the trainer does not need stays None."""

    kind: str
    parts: PartSums
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    wrap_augment: Callable[[Augment | None], Augment | None] | None = None  # the trainer's augmentation, wrapped
    step: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None
    evaluate: Callable[[TensorPair, int], dict[str, float]] | None = None
    best_is_last: bool = False  # a GAN's losses say nothing about the best epoch: keep the last
    optimizer: torch.optim.Optimizer | None = None
    schedule: Any = None
    step_inputs: Callable[[torch.Tensor], tuple[torch.Tensor, ...]] | None = None
    # for pictures (engine.train.recipes.pictures)
    labels: torch.Tensor | None = None  # the validation samples' classes, when the data has classes
    latent: str | None = None  # node id of the latent code (autoencoders)
    decoder: fx.GraphModule | None = None  # vae: the decoder alone, sharing the network's layers
    generator: fx.GraphModule | None = None  # gan
    draw_noise: Callable[[int, torch.Generator | None], torch.Tensor] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def window_parts(self) -> dict[str, float]:
        return self.parts.take("window")

    def epoch_parts(self, training: bool) -> dict[str, float]:
        return self.parts.take("train" if training else "eval")


def make_recipe(doc: GraphDocument, analysis: Analysis, module: fx.GraphModule, settings: TrainingSettings,
                device: torch.device, precision: Precision, steps_per_epoch: int,
                val_labels: torch.Tensor | None) -> Recipe | None:
    """The recipe the settings choose, wired to `module`; None for supervised training."""
    kind = settings.recipe.kind
    if kind in (AUTOENCODER, VAE):
        return _autoencoder(doc, analysis, module, settings, device, val_labels)
    if kind == GAN:
        from engine.train.recipes.gan import gan_recipe

        return gan_recipe(doc, analysis, module, settings, device, precision, steps_per_epoch)
    return None


def part_module(doc: GraphDocument, analysis: Analysis, kind: str, part: str, full: fx.GraphModule) -> fx.GraphModule:
    """One part of the network as a module that shares its layers (and so its weights) with `full`."""
    module = build_module(network_part(doc, analysis, kind, part))
    for name in list(module._modules):
        shared = full._modules[name]
        module._modules[name] = shared
        module.__dict__[name] = shared  # the build's attribute cache (engine.build.cache_submodules)
    return module  # holds nothing of its own, so it lives wherever `full`'s layers do


# ---- autoencoders -----------------------------------------------------------------------------
def reconstruction_loss(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """mse, l1, or bce on outputs in [0, 1] (written out: torch's BCE refuses autocast regions)."""
    if kind == "mse":
        return lambda out, target: F.mse_loss(out.float(), target.float())
    if kind == "l1":
        return lambda out, target: F.l1_loss(out.float(), target.float())

    def bce(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = out.float().clamp(1e-6, 1 - 1e-6)
        t = target.float()
        return -(t * p.log() + (1 - t) * (1 - p).log()).mean()

    return bce


def _autoencoder(doc: GraphDocument, analysis: Analysis, module: fx.GraphModule, settings: TrainingSettings,
                 device: torch.device, val_labels: torch.Tensor | None) -> Recipe:
    r = settings.recipe
    vae = r.kind == VAE
    samplers = [m for m in module.modules() if isinstance(m, Sampling)]
    for sampler in samplers:
        sampler.keep_kl = vae
    parts = PartSums((RECONSTRUCTION, KL) if vae else (RECONSTRUCTION,), device)
    reconstruct, weight = reconstruction_loss(r.reconstruction_loss), r.kl_weight

    clean: list[torch.Tensor | None] = [None]  # the training batch as augmented, before any denoising noise

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if module.training and clean[0] is not None:
            target = clean[0]
        recon = reconstruct(out, target)
        if not vae:
            parts.add([recon], module.training, target.shape[0])
            return recon
        kl = samplers[0].kl
        assert kl is not None, "the Sampling layer ran in this forward"
        parts.add([recon, kl], module.training, target.shape[0])
        return recon + weight * kl

    std = r.input_noise

    def wrap_augment(base: Augment | None) -> Augment | None:
        if base is None and std == 0:
            return None

        def augment(x: torch.Tensor) -> torch.Tensor:
            if base is not None:
                x = base(x)
                clean[0] = x  # the target of this step
            return x + std * torch.randn_like(x) if std > 0 else x

        return augment

    split, _ = autoencoder_split(doc, analysis)
    decoder = part_module(doc, analysis, r.kind, "decoder", module) if vae and split is not None else None
    return Recipe(r.kind, parts, loss=loss, wrap_augment=wrap_augment, labels=val_labels,
                  latent=split.latent if split is not None else None, decoder=decoder,
                  draw_noise=_normal_noise(analysis.output_of(split.latent).shape, device)
                  if vae and split is not None else None)


def _normal_noise(shape: tuple[int, ...], device: torch.device) -> Callable[[int, torch.Generator | None],
                                                                            torch.Tensor]:
    def draw(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn((n, *shape), generator=generator).to(device)

    return draw
