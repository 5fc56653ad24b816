"""Layers of generative networks: the Noise a generator starts from and the VAE's Sampling layer.

`Noise` is an input node (it has no input ports): it is where a generator's random vector enters,
and the GAN recipe (`engine.train.recipes`) draws it afresh for every step from the declared
distribution. Built and exported alone, a generator takes the noise as its argument, like any
network takes its Input.

`Sampling` is the variational autoencoder's reparameterisation trick: from the mean and the log
variance of the latent code it draws z = mu + exp(logvar / 2) · eps while training, and gives the
mean when evaluating (what an exported encoder returns). The KL term is computed by its module
(`engine.layers.modules.Sampling`) only when the VAE recipe asks it to, so exports stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.layers.spec import FLOAT, LayerSpec, Param, Port, ShapeError, TensorSpec

NOISE_DISTRIBUTIONS = ("normal", "uniform")


def _noise_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    return TensorSpec(tuple(params["shape"]), FLOAT)


def _sampling_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    mu, logvar = inputs
    if mu.dtype != FLOAT or logvar.dtype != FLOAT:
        raise ShapeError("Sampling needs float mean and log variance, not token ids")
    if mu.shape != logvar.shape:
        raise ShapeError(f"the mean ({mu.label()}) and the log variance ({logvar.label()}) must have the same "
                         "shape: give both the same number of features")
    if not mu.shape:
        raise ShapeError("Sampling needs at least one latent dimension per sample")
    return mu


def _sampling_build(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    from engine.layers.modules import Sampling

    return Sampling()


NOISE = LayerSpec(
    type_id="Noise",
    title="Noise",
    category="Input / Output",
    help="Where a generator's random input enters: a fresh sample of this shape for every step (GAN "
    "recipe), from a standard normal or a uniform distribution on [-1, 1]. The generator exported alone "
    "takes it as its argument.",
    params=(
        Param("shape", "ints", (64,), help="Shape of one noise sample, without the batch dimension.",
              minimum=1, maximum=1_000_000),
        Param("distribution", "choice", "normal", help="normal: N(0, 1); uniform: U(-1, 1).",
              choices=NOISE_DISTRIBUTIONS),
    ),
    inputs=(),
    outputs=(Port("out"),),
    infer=_noise_shape,
    build=None,
    key_params=("shape",),
    name_prefix="noise",
)

SAMPLING = LayerSpec(
    type_id="Sampling",
    title="Sampling (VAE)",
    category="Generative",
    help="The variational autoencoder's reparameterisation trick: z = mu + exp(logvar / 2) · eps with eps "
    "drawn from N(0, 1) while training, and mu when evaluating. Wire the latent mean into mu and the log "
    "variance into logvar (two Linear layers of the same width); the VAE recipe adds the KL term.",
    params=(),
    inputs=(Port("mu"), Port("logvar")),
    outputs=(Port("out"),),
    infer=_sampling_shape,
    build=_sampling_build,
    name_prefix="sampling",
)

SPECS = [SAMPLING]
INPUT_SPECS = [NOISE]
