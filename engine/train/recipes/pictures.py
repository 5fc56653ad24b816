"""A recipe's pictures, made once per epoch from fixed batches: reconstructions, samples, the latent space.

`recipe_pictures(trainer, run_id, epoch, class_names)` returns the telemetry messages of the run's
recipe (the reporter sends them where a supervised run sends sample predictions, at most twice a
second and always for the last epoch):

- autoencoder and vae: `Reconstructions` of the first `RECONSTRUCTIONS` validation images (with
  the noisy copies a denoising autoencoder is given, from a fixed noise draw), and `LatentPoints`:
  the latent code of up to `LATENT_POINTS` validation samples (the latent node's output in eval
  mode, which for a vae is the mean), its first two dimensions, or its two principal components
  when it has more, coloured by class;
- vae and gan: `GeneratedSamples` decoded from one fixed noise batch (the same every epoch, so
  epochs compare).

(Any probed node's activations in 2-D, for every recipe whose network reads the dataset, are
`engine.explain.latent`'s.)

Every forward runs in eval mode without gradients, on batches kept from the first call; the
network is put back in training mode after. Inputs that are not images make no image messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from engine import telemetry as t
from engine.data.preview import to_uint8_images
from engine.train.recipes.declared import GAN, VAE

if TYPE_CHECKING:
    from engine.train.trainer import Trainer

RECONSTRUCTIONS = 8
GENERATED = 16
LATENT_POINTS = 256
THUMB_SIDE = 64
NOISE_SEED = 7


def recipe_pictures(trainer: Trainer, run_id: str, epoch: int, class_names: list[str]) -> list[t.Message]:
    """The recipe's messages for this epoch (empty for supervised training)."""
    recipe = trainer.setup.recipe
    if recipe is None:
        return []
    module = trainer.module
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), trainer.setup.precision.autocast():
            if recipe.kind == GAN:
                return _generated(trainer, run_id, epoch)
            messages = _reconstructions(trainer, run_id, epoch) + _latent(trainer, run_id, epoch, class_names)
            if recipe.kind == VAE:
                messages += _generated(trainer, run_id, epoch)
            return messages
    finally:
        module.train(was_training)


def is_image(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.shape[1] in (1, 3) and x.is_floating_point()


def thumbnails(x: torch.Tensor) -> np.ndarray:
    """Images (N, C, H, W) as uint8 (N, H, W, C), no larger than 64×64."""
    x = x.float()
    h, w = x.shape[2:]
    if max(h, w) > THUMB_SIDE:
        scale = THUMB_SIDE / max(h, w)
        x = F.interpolate(x, size=(max(1, int(h * scale)), max(1, int(w * scale))), mode="area")
    return to_uint8_images(x)


def _fixed(trainer: Trainer, key: str, make: object) -> torch.Tensor:
    """A tensor made once per run (`make()`) and kept on the recipe, so every epoch sees the same one."""
    recipe = trainer.setup.recipe
    assert recipe is not None
    if key not in recipe.extra:
        recipe.extra[key] = make()  # type: ignore[operator]
    return recipe.extra[key]


def _val_samples(trainer: Trainer, n: int) -> torch.Tensor:
    x = trainer.setup.val[0]
    return x[:n].to(trainer.setup.device)


def _reconstructions(trainer: Trainer, run_id: str, epoch: int) -> list[t.Message]:
    clean = _val_samples(trainer, RECONSTRUCTIONS)
    if not len(clean) or not is_image(clean):
        return []
    std = trainer.settings.recipe.input_noise
    noisy = None
    if std > 0:
        noise = _fixed(trainer, "reconstruction_noise", lambda: torch.randn(
            clean.shape, generator=torch.Generator().manual_seed(NOISE_SEED)).to(clean.device))
        noisy = clean + std * noise
    out = trainer.module(noisy if noisy is not None else clean).float()
    return [t.Reconstructions(run_id, epoch, thumbnails(clean), thumbnails(out.reshape(clean.shape)),
                              thumbnails(noisy) if noisy is not None else None)]


def _latent(trainer: Trainer, run_id: str, epoch: int, class_names: list[str]) -> list[t.Message]:
    recipe = trainer.setup.recipe
    assert recipe is not None
    if recipe.latent is None:
        return []
    message = _points(trainer, run_id, epoch, recipe.latent, class_names, recipe.labels)
    if message is not None and recipe.kind == VAE:
        message.node_id = None  # the VAE's latent mean (the Sampling layer gives it when evaluating)
    return [message] if message is not None else []


def _points(trainer: Trainer, run_id: str, epoch: int, node_id: str, class_names: list[str],
            labels: torch.Tensor | None) -> t.LatentPoints | None:
    x = _val_samples(trainer, LATENT_POINTS)
    if not len(x):
        return None
    kept: list[torch.Tensor] = []
    handle = trainer.module.get_submodule(node_id).register_forward_hook(
        lambda module, args, output: kept.append(output))
    try:
        trainer.module(x)
    finally:
        handle.remove()
    if not kept or not isinstance(kept[0], torch.Tensor) or not kept[0].is_floating_point():
        return None
    points, method = project_2d(kept[0].float().reshape(len(x), -1))
    classes = labels[:len(x)].cpu().numpy().astype(np.int64) if labels is not None else \
        np.full(len(x), -1, dtype=np.int64)
    return t.LatentPoints(run_id, epoch, points, classes, list(class_names) if labels is not None else [],
                          node_id, method)


def project_2d(codes: torch.Tensor) -> tuple[np.ndarray, str]:
    """(N, 2) float32 points: the codes themselves when they have at most two dimensions, else PCA."""
    codes = codes.cpu()
    if codes.shape[1] <= 2:
        points = F.pad(codes, (0, 2 - codes.shape[1]))
        return points.numpy().astype(np.float32), "latent"
    centred = codes - codes.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ v[:2].T).numpy().astype(np.float32), "pca"


def _generated(trainer: Trainer, run_id: str, epoch: int) -> list[t.Message]:
    recipe = trainer.setup.recipe
    assert recipe is not None and recipe.draw_noise is not None
    network = recipe.generator if recipe.kind == GAN else recipe.decoder
    if network is None:
        return []
    draw = recipe.draw_noise
    z = _fixed(trainer, "sample_noise", lambda: draw(GENERATED, torch.Generator().manual_seed(NOISE_SEED)))
    network.eval()
    images = network(z).float()
    if not is_image(images):
        return []
    return [t.GeneratedSamples(run_id, epoch, thumbnails(images))]
