"""The training recipes and their settings, declared once (stored under ``training.recipe``).

A recipe decides what a training step optimises: ``supervised`` (the dataset's targets, today's
training), ``autoencoder`` (the target is the input; with ``input_noise`` above 0 the network sees
a noisy copy: a denoising autoencoder), ``vae`` (an autoencoder with a Sampling layer, whose KL
term is added with ``kl_weight``) and ``gan`` (a generator from a Noise node and a discriminator,
two networks in one project, each with its own optimiser, in alternating steps).

`RECIPE_SETTINGS` joins `engine.train.settings_table.TRAINING_SETTINGS`, so parsing, ``--set``
overrides, the studio's Training panel and the README's table all read it. No torch, no Qt.
"""

from __future__ import annotations

from engine.settings_schema import Setting, setting

SUPERVISED, AUTOENCODER, VAE, GAN = "supervised", "autoencoder", "vae", "gan"
RECIPES = (SUPERVISED, AUTOENCODER, VAE, GAN)
RECONSTRUCTION_LOSSES = ("mse", "l1", "bce")
GAN_LOSSES = ("non_saturating", "minimax", "least_squares")
GAN_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
RECIPE = "Recipe"

# Names of the loss terms a recipe reports (telemetry Step.parts and the epoch's train/val dicts).
RECONSTRUCTION, KL, GENERATOR, DISCRIMINATOR = "reconstruction", "kl", "generator", "discriminator"

RECIPE_SETTINGS: tuple[Setting, ...] = (
    setting("recipe.kind", "choice", SUPERVISED, "Recipe", RECIPE,
            "What training optimises: supervised (the dataset's targets); autoencoder (reconstruct the input); "
            "vae (a variational autoencoder: needs a Sampling layer); gan (a generator from a Noise node against "
            "a discriminator, two networks in one project).", choices=RECIPES),
    setting("recipe.input_noise", "float", 0.0, "Denoising noise (std)", RECIPE,
            "autoencoder and vae: standard deviation of Gaussian noise added to the training inputs (the "
            "target stays clean): above 0 trains a denoising autoencoder.", minimum=0.0, maximum=10.0),
    setting("recipe.reconstruction_loss", "choice", "mse", "Reconstruction loss", RECIPE,
            "autoencoder and vae: mse, l1, or bce (binary cross-entropy: outputs in [0, 1], end with Sigmoid).",
            choices=RECONSTRUCTION_LOSSES),
    setting("recipe.kl_weight", "float", 0.001, "KL weight", RECIPE,
            "vae: weight of the KL term (per sample, summed over the latent dimensions) against the "
            "reconstruction loss (a mean per value).", minimum=0.0, maximum=1000.0),
    setting("recipe.gan_loss", "choice", "non_saturating", "GAN loss", RECIPE,
            "gan: non_saturating (the generator maximises log D(G(z))), minimax (the original, which saturates) "
            "or least_squares (LSGAN).", choices=GAN_LOSSES),
    setting("recipe.generator_optimizer", "choice", "adam", "Generator optimizer", RECIPE,
            "gan: how the generator's weights are updated.", choices=GAN_OPTIMIZERS),
    setting("recipe.generator_lr", "float", 2e-4, "Generator learning rate", RECIPE,
            "gan: the generator's learning rate (the schedule scales it).", above=0.0, maximum=10.0),
    setting("recipe.discriminator_optimizer", "choice", "adam", "Discriminator optimizer", RECIPE,
            "gan: how the discriminator's weights are updated.", choices=GAN_OPTIMIZERS),
    setting("recipe.discriminator_lr", "float", 2e-4, "Discriminator learning rate", RECIPE,
            "gan: the discriminator's learning rate (the schedule scales it).", above=0.0, maximum=10.0),
    setting("recipe.adam_beta1", "float", 0.5, "Adam beta1", RECIPE,
            "gan: decay of Adam's first moment for both networks (0.5 as in DCGAN; 0.9 is Adam's own).",
            minimum=0.0, below=1.0),
    setting("recipe.discriminator_steps", "int", 1, "Discriminator steps per generator step", RECIPE,
            "gan: the discriminator learns on every batch; the generator on every n-th.", minimum=1, maximum=100),
)
