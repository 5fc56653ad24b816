"""A recipe as the trainer runs it: the loss with its named parts, the GAN's step and its evaluation.

`make_recipe(checked, module, device, settings, steps_per_epoch)` returns None for supervised
training (the trainer's own step) or a `Recipe` whose pieces `engine.train.setup` wires in:

- autoencoder and vae: the data's targets become the inputs themselves (the same tensors, no
  copy) and `loss` compares the output with them (mse, l1 or bce); denoising adds Gaussian noise
  to the training inputs through the trainer's augmentation hook, so the target stays clean. The
  vae adds ``kl_weight`` times the KL term its Sampling layer computes. The trainer's own step
  runs unchanged.
- gan: `step` replaces the whole training step (one discriminator step per batch, a generator
  step every ``discriminator_steps`` batches, each network with its own optimiser and learning
  rate) and `evaluate` replaces evaluation (both losses on the validation samples against a fixed
  noise batch). The generator and discriminator are modules of their own that share their layers
  with the built network, so weights, statistics and saved runs stay the network's.

Named loss terms (`PartSums`) are added on the device at every step, never read back there; the
trainer's progress reports and epoch ends read them (`window`, `epoch`), where it syncs anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from engine.build import build_module
from engine.graph.analysis import Analysis
from engine.graph.document import GraphDocument
from engine.layers.modules import Sampling
from engine.train.optim import LRSchedule, make_optimizer
from engine.train.recipes.declared import AUTOENCODER, DISCRIMINATOR, GAN, GENERATOR, KL, RECONSTRUCTION, VAE
from engine.train.recipes.structure import GanRoles, autoencoder_split, gan_roles, network_part
from engine.train.settings import OptimizerSettings, TrainingSettings

if TYPE_CHECKING:
    from engine.train.device import Precision

TensorPair = tuple[torch.Tensor, torch.Tensor]
PICTURE_SEED = 20240613  # the fixed noise of generated samples and validation fakes


class PartSums:
    """Running sums of named loss terms on the device: the training window (since the last report), the
    training epoch, and the evaluation in progress. Adding a step's terms is one stack and one add."""

    def __init__(self, names: tuple[str, ...], device: torch.device) -> None:
        self.names = names
        self._train = torch.zeros(2, len(names), device=device)  # rows: window, epoch
        self._eval = torch.zeros(len(names), device=device)
        self._counts = {"window": 0, "train": 0, "eval": 0}

    def add(self, values: list[torch.Tensor], training: bool) -> None:
        stacked = torch.stack([v.detach().float() for v in values])
        if training:
            self._train += stacked  # both rows at once
            self._counts["window"] += 1
            self._counts["train"] += 1
        else:
            self._eval += stacked
            self._counts["eval"] += 1

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
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
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
        return _gan(doc, analysis, module, settings, device, precision, steps_per_epoch)
    return None


def part_module(doc: GraphDocument, analysis: Analysis, kind: str, part: str, full: fx.GraphModule) -> fx.GraphModule:
    """One part of the network as a module that shares its layers (and so its weights) with `full`."""
    module = build_module(network_part(doc, analysis, kind, part))
    for name in list(module._modules):
        shared = full._modules[name]
        module._modules[name] = shared
        module.__dict__[name] = shared  # the build's attribute cache (engine.build.cache_submodules)
    return module.to(next(full.parameters()).device) if any(True for _ in full.parameters()) else module


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

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        recon = reconstruct(out, target)
        if not vae:
            parts.add([recon], module.training)
            return recon
        kl = samplers[0].kl
        assert kl is not None, "the Sampling layer ran in this forward"
        parts.add([recon, kl], module.training)
        return recon + weight * kl

    augment = None
    if r.input_noise > 0:
        std = r.input_noise

        def augment(x: torch.Tensor) -> torch.Tensor:
            return x + std * torch.randn_like(x)

    split, _ = autoencoder_split(doc, analysis)
    decoder = part_module(doc, analysis, r.kind, "decoder", module) if vae and split is not None else None
    return Recipe(r.kind, parts, loss=loss, augment=augment, labels=val_labels,
                  latent=split.latent if split is not None else None, decoder=decoder,
                  draw_noise=_normal_noise(analysis.output_of(split.latent).shape, device)
                  if vae and split is not None else None)


def _normal_noise(shape: tuple[int, ...], device: torch.device) -> Callable[[int, torch.Generator | None],
                                                                            torch.Tensor]:
    def draw(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn((n, *shape), generator=generator).to(device)

    return draw


# ---- GAN --------------------------------------------------------------------------------------
def _gan_losses(kind: str) -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                                    Callable[[torch.Tensor], torch.Tensor]]:
    """(discriminator loss of real and fake logits, generator loss of the fakes' logits)."""
    if kind == "least_squares":
        return (lambda real, fake: 0.5 * ((real - 1).square().mean() + fake.square().mean()),
                lambda fake: 0.5 * (fake - 1).square().mean())

    def d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    if kind == "minimax":  # minimise log(1 - D(G(z))) = -softplus(logit)
        return d_loss, lambda fake: -F.softplus(fake).mean()
    return d_loss, lambda fake: F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _optimizer(params: list[nn.Parameter], kind: str, lr: float, settings: TrainingSettings,
               device: torch.device) -> torch.optim.Optimizer:
    base = settings.optimizer
    opt = make_optimizer(params, OptimizerSettings(kind, lr, base.weight_decay, base.momentum, False), device)
    if kind in ("adam", "adamw"):
        for group in opt.param_groups:
            group["betas"] = (settings.recipe.adam_beta1, group["betas"][1])
    return opt


class PairSchedule:
    """The learning-rate schedule of both GAN optimisers; reports the generator's rate."""

    def __init__(self, generator: LRSchedule, discriminator: LRSchedule) -> None:
        self.schedules = (generator, discriminator)
        self.constant = generator.constant and discriminator.constant

    @property
    def lr(self) -> float:
        return self.schedules[0].lr

    def before_step(self, step: int) -> None:
        for schedule in self.schedules:
            schedule.before_step(step)

    def after_epoch(self, val_loss: float | None, next_step: int) -> None:
        for schedule in self.schedules:
            schedule.after_epoch(val_loss, next_step)


def _noise_drawer(doc: GraphDocument, roles: GanRoles,
                  device: torch.device) -> Callable[[int, torch.Generator | None], torch.Tensor]:
    node = doc.nodes[roles.noise]
    shape, uniform = tuple(node.params["shape"]), node.params["distribution"] == "uniform"

    def draw(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is not None:  # fixed noise: drawn on the host, so every device sees the same batch
            z = torch.rand((n, *shape), generator=generator) * 2 - 1 if uniform else \
                torch.randn((n, *shape), generator=generator)
            return z.to(device)
        if uniform:
            return torch.rand((n, *shape), device=device) * 2 - 1
        return torch.randn((n, *shape), device=device)

    return draw


def _gan(doc: GraphDocument, analysis: Analysis, module: fx.GraphModule, settings: TrainingSettings,
         device: torch.device, precision: Precision, steps_per_epoch: int) -> Recipe:
    r = settings.recipe
    roles, problems = gan_roles(doc)
    if roles is None:
        raise ValueError(problems[0][0])
    generator = part_module(doc, analysis, GAN, "generator", module)
    discriminator = part_module(doc, analysis, GAN, "discriminator", module)
    opt_g = _optimizer(list(generator.parameters()), r.generator_optimizer, r.generator_lr, settings, device)
    opt_d = _optimizer(list(discriminator.parameters()), r.discriminator_optimizer, r.discriminator_lr, settings,
                       device)
    sched = settings.schedule
    schedule = PairSchedule(LRSchedule(opt_g, r.generator_lr, sched, settings.epochs, steps_per_epoch),
                            LRSchedule(opt_d, r.discriminator_lr, sched, settings.epochs, steps_per_epoch))
    d_loss_of, g_loss_of = _gan_losses(r.gan_loss)
    draw = _noise_drawer(doc, roles, device)
    parts = PartSums((GENERATOR, DISCRIMINATOR), device)
    clip, autocast, every = settings.grad_clip, precision.autocast, r.discriminator_steps
    state = {"batches": 0, "g_loss": torch.zeros((), device=device)}
    noise_first = list(doc.nodes).index(roles.noise) < list(doc.nodes).index(roles.input)

    def update(opt: torch.optim.Optimizer, net: nn.Module, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()

    def step(real: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = draw(real.shape[0], None)
        with autocast():
            fake = generator(z)
            d_loss = d_loss_of(discriminator(real).float(), discriminator(fake.detach()).float())
        update(opt_d, discriminator, d_loss)
        state["batches"] += 1
        if state["batches"] % every == 0:
            with autocast():
                g_loss = g_loss_of(discriminator(fake).float())
            update(opt_g, generator, g_loss)
            state["g_loss"] = g_loss.detach()
        parts.add([state["g_loss"], d_loss], True)
        total = d_loss.detach() + state["g_loss"]
        return total, real, total

    def evaluate(data: TensorPair, batch_size: int) -> dict[str, float]:
        x = data[0]
        if len(x) == 0:
            return {}
        fixed = torch.Generator().manual_seed(PICTURE_SEED)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), autocast():
                for i in range(0, len(x), batch_size):
                    real = x[i:i + batch_size].to(device)
                    fake = generator(draw(real.shape[0], fixed))
                    fake_logits = discriminator(fake).float()
                    d_loss = d_loss_of(discriminator(real).float(), fake_logits)
                    parts.add([g_loss_of(fake_logits), d_loss], False)
        finally:
            module.train(was_training)
        out = parts.take("eval")
        out["loss"] = out[GENERATOR] + out[DISCRIMINATOR] if out else math.nan
        return {"loss": out.pop("loss"), **out}

    def step_inputs(real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        z = draw(real.shape[0], None)
        return (z, real) if noise_first else (real, z)

    return Recipe(GAN, parts, step=step, evaluate=evaluate, best_is_last=True, optimizer=opt_d, schedule=schedule,
                  step_inputs=step_inputs, generator=generator, draw_noise=draw,
                  extra={"discriminator": discriminator, "generator_optimizer": opt_g})
