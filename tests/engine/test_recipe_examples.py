"""The bundled generative examples learn on the offline shapes: each trained as shipped, then judged.

- conv_autoencoder: its validation reconstruction MSE is well under the MSE of predicting the
  mean training image for every sample (the ratio is printed; run with -s to see it);
- vae_shapes: images decoded from random latent points are recognisable shapes: the bundled
  shapes classifier (the lenet5 example, trained here) is at least 60% confident on most of them;
- dcgan_shapes: the classifier gives its generated samples at least four distinct classes. The
  example ships with 30 epochs on 6,000 shapes (a GAN needs many steps); the test trains it for 8
  epochs on 3,000 to stay small.

Every run goes through `run_job`, as the studio and the CLI train; seeds are fixed, one thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from engine.examples import conv_autoencoder, dcgan_shapes, lenet5, vae_shapes
from engine.project import Project
from engine.train.job import TrainingJob
from engine.train.session import RunResult, run_job

SAMPLES = 64
PICTURES = Path(os.environ.get("LAYERLOOM_SCREENSHOTS") or Path(__file__).parents[2] / "build" / "screenshots")


def save_grid(images: torch.Tensor, name: str) -> None:
    """The samples as one picture for a person to look at (build/screenshots, outside the sources)."""
    from torchvision.utils import save_image

    PICTURES.mkdir(parents=True, exist_ok=True)
    save_image(F.interpolate(images, scale_factor=3, mode="nearest"), PICTURES / name, nrow=8, padding=3)


def train(project: Project, **overrides: object) -> RunResult:
    job = TrainingJob.from_project(project, "test")
    job.settings.cpu_threads = 1
    for key, value in overrides.items():
        setattr(job.settings, key, value)
    messages: list[dict] = []
    result = run_job(job, messages.append)
    assert result.status == "completed", result.failure
    assert result.trainer is not None
    result.trainer.messages = messages  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="module")
def classifier() -> torch.nn.Module:
    """The bundled shapes classifier (LeNet-5 example), trained briefly on its own data."""
    result = train(lenet5(), epochs=8)
    accuracy = result.record.epochs[-1]["val"]["accuracy"]
    assert accuracy > 0.85, accuracy
    return result.trainer.module.eval()


def judge(classifier: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(confidence, class) the classifier gives each image."""
    with torch.no_grad():
        probabilities = F.softmax(classifier(images), dim=-1)
    return probabilities.max(dim=-1)


def test_conv_autoencoder_reconstructs_far_better_than_the_mean_image():
    result = train(conv_autoencoder())
    trainer = result.trainer
    x_val = trainer.setup.val[0]
    x_train = trainer.setup.batches.x
    module = trainer.module.eval()
    with torch.no_grad():
        mse = F.mse_loss(module(x_val), x_val).item()
    baseline = F.mse_loss(x_train.mean(dim=0, keepdim=True).expand_as(x_val), x_val).item()
    ratio = mse / baseline
    print(f"conv autoencoder: validation MSE {mse:.5f}, mean-image MSE {baseline:.5f}, ratio {ratio:.3f}")
    assert ratio < 0.4
    # the epoch metrics name the term the live plots show
    last = result.record.epochs[-1]
    assert last["val"]["reconstruction"] == pytest.approx(last["val"]["loss"], rel=1e-5)
    assert abs(last["val"]["reconstruction"] - mse) < 0.02 * baseline + 1e-6  # the loss is this MSE


def test_vae_samples_are_shapes_the_classifier_recognises(classifier):
    result = train(vae_shapes())
    recipe = result.trainer.setup.recipe
    assert recipe is not None and recipe.decoder is not None and recipe.draw_noise is not None
    z = recipe.draw_noise(SAMPLES, torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = recipe.decoder.eval()(z)
    save_grid(images, "recipes_vae_samples.png")
    confidence, classes = judge(classifier, images)
    confident = float((confidence >= 0.6).float().mean())
    print(f"VAE samples: {confident:.0%} with confidence >= 60%, median confidence "
          f"{float(confidence.median()):.2f}, classes {torch.bincount(classes, minlength=6).tolist()}")
    assert confident > 0.5
    last = result.record.epochs[-1]
    assert {"reconstruction", "kl"} <= set(last["train"]) and {"reconstruction", "kl"} <= set(last["val"])
    assert last["val"]["kl"] > 0


def test_dcgan_samples_cover_at_least_four_shapes(classifier):
    project = dcgan_shapes()
    project.dataset["params"]["n_samples"] = 3000
    result = train(project, epochs=8)
    recipe = result.trainer.setup.recipe
    assert recipe is not None and recipe.generator is not None and recipe.draw_noise is not None
    z = recipe.draw_noise(SAMPLES, torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = recipe.generator.eval()(z)
    save_grid(images, "recipes_dcgan_samples.png")
    confidence, classes = judge(classifier, images)
    distinct = sorted(set(classes.tolist()))
    print(f"DCGAN samples: classes {torch.bincount(classes, minlength=6).tolist()} ({len(distinct)} distinct), "
          f"median confidence {float(confidence.median()):.2f}")
    assert len(distinct) >= 4
    last = result.record.epochs[-1]
    assert {"generator", "discriminator"} <= set(last["train"]) and {"generator", "discriminator"} <= set(last["val"])
