"""The GAN recipe: a generator and a discriminator trained against each other in alternating steps.

`gan_recipe` builds both networks as modules that share their layers with the built network
(`engine.train.recipes.runtime.part_module`), gives each its own optimiser and learning rate
(Adam's beta1 from the settings, 0.5 as in DCGAN) and one learning-rate schedule each, and returns
a `Recipe` whose `step` replaces the trainer's step: every batch trains the discriminator on the
real samples and on a batch generated from fresh noise (the fakes detached), and every
``discriminator_steps``-th batch then trains the generator through the updated discriminator.
Losses: non_saturating (the default: the generator maximises log D(G(z))), minimax, least_squares.
`evaluate` measures both losses on the validation samples against noise drawn from a fixed seed,
so epochs compare. Nothing in a step reads a value back from the device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import fx, nn

from engine.graph.analysis import Analysis
from engine.graph.document import GraphDocument
from engine.train.optim import LRSchedule, make_optimizer
from engine.train.recipes.declared import DISCRIMINATOR, GAN, GENERATOR
from engine.train.recipes.runtime import PartSums, Recipe, TensorPair, part_module
from engine.train.recipes.structure import GanRoles, gan_roles
from engine.train.settings import OptimizerSettings, TrainingSettings

if TYPE_CHECKING:
    from engine.train.device import Precision

VALIDATION_SEED = 20240613  # the fixed noise the validation fakes are made from


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


def _trainable(network: nn.Module, role: str) -> list[nn.Parameter]:
    """The network's parameters that training updates (frozen nodes keep theirs); refuses none at all."""
    params = [p for p in network.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"every weight of the {role} is frozen: unfreeze a node of it to train the GAN")
    return params


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

    def set_rate(self, lr: float, step: int) -> None:
        """A rate set by hand (Training panel, live): the generator's; the discriminator's keeps its ratio."""
        generator, discriminator = self.schedules
        ratio = discriminator.lr / generator.lr if generator.lr > 0 else 1.0
        generator.set_rate(lr, step)
        discriminator.set_rate(lr * ratio, step)


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


def gan_recipe(doc: GraphDocument, analysis: Analysis, module: fx.GraphModule, settings: TrainingSettings,
               device: torch.device, precision: Precision, steps_per_epoch: int) -> Recipe:
    """The GAN recipe wired to `module` (see the module docstring); raises ValueError without a GAN's parts."""
    r = settings.recipe
    roles, problems = gan_roles(doc)
    if roles is None:
        raise ValueError(problems[0][0])
    generator = part_module(doc, analysis, GAN, "generator", module)
    discriminator = part_module(doc, analysis, GAN, "discriminator", module)
    opt_g = _optimizer(_trainable(generator, "generator"), r.generator_optimizer, r.generator_lr, settings, device)
    opt_d = _optimizer(_trainable(discriminator, "discriminator"), r.discriminator_optimizer, r.discriminator_lr,
                       settings, device)
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
        fixed = torch.Generator().manual_seed(VALIDATION_SEED)
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), autocast():
                for i in range(0, len(x), batch_size):
                    real = x[i:i + batch_size].to(device)
                    fake = generator(draw(real.shape[0], fixed))
                    fake_logits = discriminator(fake).float()
                    d_loss = d_loss_of(discriminator(real).float(), fake_logits)
                    parts.add([g_loss_of(fake_logits), d_loss], False, real.shape[0])
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
