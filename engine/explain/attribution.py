"""Attribution maps of one image for a classifier, computed with Captum.

`attribute(module, x, method, node_id=None, target=None)` takes a built network (eval mode is set
and restored here), one input batch of a single image (1, C, H, W) and returns an `Attribution`:
the heatmap (H, W) float32 scaled to [0, 1], the class it explains (the predicted class unless
`target` is given) and the network's probability for it.

- saliency: |d logit / d pixel| (`captum.attr.Saliency`), the largest over the colour channels;
- grad_cam: `captum.attr.LayerGradCam` on `node_id`'s output (any node with a C×H×W output),
  positive part only, upsampled bilinearly to the input's size;
- integrated_gradients: `captum.attr.IntegratedGradients` from a black image, |attribution|
  summed over channels.

`grad_cam_once` is the cheap form used while training: explaining the predicted class by a
forward function that picks that class's logit itself, so one forward (with Captum's hook on the
node) and one backward (stopping at the node) give both the prediction and the map. The gradients
are taken with ``torch.autograd.grad``: the parameters' ``.grad`` is never touched, so an
explanation in the middle of training changes nothing about the training step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Saliency
from torch import nn

from engine.explain import GRAD_CAM, INTEGRATED_GRADIENTS, METHODS, SALIENCY, ExplainError

IG_STEPS = 32  # integration steps: the maps settle by 20-50 steps for small images
CLIP_PERCENTILE = 99.5  # saliency and IG are spiky: one pixel must not wash out the rest of the map


@dataclass
class Attribution:
    """One method's map for one sample."""

    method: str
    heatmap: np.ndarray  # float32 (H, W) in [0, 1]
    target: int  # the class explained
    probability: float  # the network's softmax probability of `target`
    node_id: str | None = None  # Grad-CAM's node


@contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """Eval mode (BatchNorm statistics, no dropout) for the explanation, the previous mode after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def check_image_batch(x: torch.Tensor) -> None:
    if x.dim() != 4 or len(x) != 1 or not x.is_floating_point():
        raise ExplainError(f"explanations need one float image (1, C, H, W); got a tensor of shape "
                           f"{tuple(x.shape)} ({x.dtype})")


def layer_of(module: nn.Module, node_id: str | None) -> nn.Module:
    if not node_id:
        raise ExplainError("Grad-CAM needs a node with a spatial output; the network has none")
    try:
        return module.get_submodule(node_id)
    except AttributeError:
        raise ExplainError(f"the network has no layer {node_id!r} to explain") from None


def _logits(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = module(x)
    if isinstance(out, (tuple, list)):
        out = out[0]
    if out.dim() != 2:
        raise ExplainError(f"explanations need a classifier's (N, classes) output; this network gives "
                           f"{tuple(out.shape)}")
    return out.float()


def normalise(values: torch.Tensor, clip_percentile: float | None = None) -> np.ndarray:
    """A (H, W) map scaled to [0, 1] (all zeros stay zeros), optionally clipped at a percentile first."""
    v = torch.nan_to_num(values.detach().float().cpu(), nan=0.0, posinf=0.0, neginf=0.0)
    if clip_percentile is not None and v.numel() > 1:
        v = v.clamp(max=float(torch.quantile(v.reshape(-1), clip_percentile / 100.0)))
    top = float(v.max()) if v.numel() else 0.0
    return (v / top if top > 0 else torch.zeros_like(v)).clamp(0.0, 1.0).numpy().astype(np.float32)


def _target_and_probability(module: nn.Module, x: torch.Tensor, target: int | None) -> tuple[int, float]:
    with torch.no_grad():
        probs = torch.softmax(_logits(module, x), dim=1)[0]
    chosen = int(probs.argmax()) if target is None else int(target)
    if not 0 <= chosen < len(probs):
        raise ExplainError(f"class {chosen} is not one of the network's {len(probs)} outputs")
    return chosen, float(probs[chosen])


def _upsampled_cam(cam: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    if cam.dim() != 4:
        raise ExplainError("Grad-CAM needs a node whose output is a feature map (channels × height × width)")
    cam = LayerAttribution.interpolate(cam.detach().float(), size, interpolate_mode="bilinear")
    return normalise(cam[0].sum(0).clamp_min(0.0))


def grad_cam_once(module: nn.Module, x: torch.Tensor, node_id: str) -> Attribution:
    """Grad-CAM of the predicted class in one forward and one backward (see the module docstring)."""
    check_image_batch(x)
    layer = layer_of(module, node_id)
    chosen: dict[str, torch.Tensor] = {}

    def predicted_logit(inputs: torch.Tensor) -> torch.Tensor:
        logits = _logits(module, inputs)
        index = logits.argmax(dim=1, keepdim=True)
        chosen["index"], chosen["logits"] = index.detach(), logits.detach()
        return logits.gather(1, index).squeeze(1)

    with evaluating(module):
        cam = LayerGradCam(predicted_logit, layer).attribute(x, relu_attributions=True)
    index = int(chosen["index"][0, 0])
    probability = float(torch.softmax(chosen["logits"][0], dim=0)[index])
    return Attribution(GRAD_CAM, _upsampled_cam(cam, tuple(x.shape[2:])), index, probability, node_id)


def attribute(module: nn.Module, x: torch.Tensor, method: str, node_id: str | None = None,
              target: int | None = None) -> Attribution:
    """`method`'s map of the one image in `x` for class `target` (default: the predicted class)."""
    if method not in METHODS:
        raise ExplainError(f"unknown explanation method {method!r}; choose one of {', '.join(METHODS)}")
    check_image_batch(x)
    x = x.detach().clone().requires_grad_(True)  # Captum takes gradients with respect to it
    forward: Callable[[torch.Tensor], torch.Tensor] = lambda inputs: _logits(module, inputs)  # noqa: E731
    with evaluating(module):
        chosen, probability = _target_and_probability(module, x, target)
        if method == SALIENCY:
            grads = Saliency(forward).attribute(x, target=chosen, abs=True)
            heatmap = normalise(grads[0].amax(dim=0), CLIP_PERCENTILE)
        elif method == INTEGRATED_GRADIENTS:
            ig = IntegratedGradients(forward).attribute(x, baselines=torch.zeros_like(x), target=chosen,
                                                        n_steps=IG_STEPS, internal_batch_size=IG_STEPS)
            heatmap = normalise(ig[0].abs().sum(dim=0), CLIP_PERCENTILE)
        else:
            cam = LayerGradCam(forward, layer_of(module, node_id)).attribute(x, target=chosen,
                                                                              relu_attributions=True)
            heatmap = _upsampled_cam(cam, tuple(x.shape[2:]))
    return Attribution(method, heatmap, chosen, probability, node_id if method == GRAD_CAM else None)
