"""Training recipes: supervised, autoencoder (denoising), variational autoencoder and GAN.

`declared` holds the recipe settings (light: no torch). `structure` reads a network's roles from
the document (no torch): the generator and discriminator of a GAN, the encoder and decoder of an
autoencoder, and the problems that keep a network from training with a recipe. `runtime` turns a
recipe into what the trainer calls (torch): the loss with its named parts and the data's targets;
`gan` is the GAN's alternating step and its evaluation. `pictures` makes the recipe's telemetry
(reconstructions, generated samples, latent points) once per epoch from fixed batches.
"""
