"""Reading weights files for import, without ever running code from them.

A ``.safetensors`` file is read with safetensors; a ``.pt``/``.pth``/``.bin``
state dict with ``torch.load(weights_only=True)``, which refuses anything but
tensors and plain containers. A file that needs unpickling code (a whole
pickled model, custom classes) is refused with a `WeightsError` saying how to
save a state dict instead. A checkpoint holding its state dict under
``state_dict`` or ``model`` is accepted too.

The imported network's initial weights live in its project file as the
attachment `INITIAL_WEIGHTS` (safetensors), keyed like its state dict; training
starts from them where they fit (`engine.train.fine_tune`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from engine.project_zip import INITIAL_WEIGHTS_MEMBER

INITIAL_WEIGHTS = INITIAL_WEIGHTS_MEMBER
STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


class WeightsError(ValueError):
    """A weights file that cannot be read safely, or that does not fit the model."""


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file or a weights-only ``.pt``/``.pth`` state dict."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path.name} is not a readable safetensors file: {exc}") from None
    if path.suffix not in STATE_DICT_SUFFIXES:
        raise WeightsError(f"{path.name}: weights must be .safetensors or a state dict saved as "
                           f"{', '.join(STATE_DICT_SUFFIXES)}")
    location = str(path)
    try:
        loaded = torch.load(location, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, zip errors, ...: all mean "not a plain state dict"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"{path.name} cannot be read as plain tensors ({first}). Layerloom never unpickles code from a "
            "file: save a state dict instead, torch.save(model.state_dict(), path), or use safetensors"
        ) from None
    return _state_dict_in(loaded, path.name)


def _state_dict_in(loaded: Any, name: str) -> dict[str, torch.Tensor]:
    if isinstance(loaded, Mapping) and not _all_tensors(loaded):
        for key in ("state_dict", "model", "model_state_dict"):
            inner = loaded.get(key)
            if isinstance(inner, Mapping) and _all_tensors(inner):
                return dict(inner)
    if isinstance(loaded, Mapping) and _all_tensors(loaded):
        return dict(loaded)
    raise WeightsError(f"{name} holds {type(loaded).__name__}, not a state dict of named tensors")


def _all_tensors(mapping: Mapping[Any, Any]) -> bool:
    return bool(mapping) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in mapping.items())


def load_into(module: torch.nn.Module, weights: Mapping[str, torch.Tensor], name: str) -> None:
    """Load `weights` into the source module, every key and shape matching, or raise WeightsError."""
    ours = module.state_dict()
    missing, extra = sorted(set(ours) - set(weights)), sorted(set(weights) - set(ours))
    wrong = [k for k in ours if k in weights and tuple(ours[k].shape) != tuple(weights[k].shape)]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if extra:
            parts.append(f"{len(extra)} not in the model (e.g. {', '.join(extra[:3])})")
        if wrong:
            parts.append(f"{len(wrong)} of another shape (e.g. {wrong[0]}: file {tuple(weights[wrong[0]].shape)}, "
                         f"model {tuple(ours[wrong[0]].shape)})")
        raise WeightsError(f"{name} does not fit the model: " + "; ".join(parts))
    module.load_state_dict(dict(weights))


def weights_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """A state dict as safetensors bytes (shared storage copied apart, as safetensors requires)."""
    from safetensors.torch import save

    return save({k: v.detach().contiguous().clone() for k, v in state.items()})


def initial_weights(attachments: Mapping[str, bytes]) -> dict[str, torch.Tensor] | None:
    """A project's imported initial weights, if it has them."""
    data = attachments.get(INITIAL_WEIGHTS)
    if data is None:
        return None
    from safetensors.torch import load

    return dict(load(data))
