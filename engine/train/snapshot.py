"""A copy of a module's weights in one flat buffer on the training device.

`WeightSnapshot(module)` copies every tensor of the module's state (parameters and buffers) with
`capture()`: the first capture allocates one flat buffer per dtype on the module's device and
views into it, every later capture is one in-place copy per tensor into those views. No state
dict is built, nothing crosses to the host and nothing is allocated again, so a capture costs a
device-side memcpy and nothing else. The trainer keeps two: the best epoch's weights (only when
the run asks for them, ``restore_best``, and only on the epochs that improve), and the recent
weights, taken at progress reports, that a failure is diagnosed with when the live weights have
already been spoilt by a non-finite step.

`restore()` copies the snapshot back into the live tensors; `state_dict()` gives independent
host copies keyed like the module's state dict (for saving the run).
"""

from __future__ import annotations

import torch
from torch import nn


class WeightSnapshot:
    """A reusable snapshot of a module's state tensors in one flat buffer per dtype."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self._names: list[str] = []
        self._live: list[torch.Tensor] = []
        self._views: list[torch.Tensor] = []
        self._buffers: list[torch.Tensor] = []  # the flat storage the views live in (one per dtype)
        self.captured = False

    def _allocate(self) -> None:
        state = self.module.state_dict(keep_vars=True)
        self._names = list(state)
        self._live = [t.detach() for t in state.values()]
        by_kind: dict[tuple[torch.dtype, torch.device], list[int]] = {}
        for i, tensor in enumerate(self._live):
            by_kind.setdefault((tensor.dtype, tensor.device), []).append(i)
        self._views = [torch.empty(0)] * len(self._live)
        for (dtype, device), indices in by_kind.items():
            flat = torch.empty(sum(self._live[i].numel() for i in indices), dtype=dtype, device=device)
            self._buffers.append(flat)
            offset = 0
            for i in indices:
                n = self._live[i].numel()
                self._views[i] = flat[offset:offset + n].view(self._live[i].shape)
                offset += n

    def capture(self) -> None:
        """Copy the current weights into the snapshot (device work only)."""
        if not self._views:
            self._allocate()
        with torch.no_grad():
            torch._foreach_copy_(self._views, self._live)  # one call for every tensor (as optimisers do)
        self.captured = True

    def restore(self) -> None:
        """Write the snapshot back into the module."""
        if not self.captured:
            return
        with torch.no_grad():
            torch._foreach_copy_(self._live, self._views)

    def state_dict(self) -> dict[str, torch.Tensor] | None:
        """Independent host copies of the snapshot (None before the first capture)."""
        if not self.captured:
            return None
        return {name: view.to("cpu", copy=True) for name, view in zip(self._names, self._views)}
