"""The training step's calls without ``nn.Module.__call__`` where it would do nothing.

Calling a module runs ``Module.__call__``, which looks for hooks (the module's own and the
global ones) and then calls ``forward``: about 0.8 µs of Python per call when there are none,
which on a small network's 0.5 ms step is one percent for five layers and the loss. The training
path carries no hooks by design (probes run their own forward, with hooks registered and removed
around it), so `LeanCalls` gives the loop:

- ``forward``: the built network's forward (an `fx.GraphModule`) regenerated so that it calls
  each layer's ``forward`` directly (the graph is the same; each ``call_module`` becomes a call of
  the layer's bound ``forward``). The layers' own inner calls still go through ``__call__``.
- ``loss``: the loss module's ``forward`` (or the loss function as it is).

Both are only used while they are equivalent: `LeanCalls.current()` checks, at every epoch start
and progress report, that no hook of any kind is registered on a top-level layer, the loss or
globally, that no layer was replaced or compiled (``Module.compile``), and otherwise gives the
ordinary calls. A data-parallel wrapper (`DistributedDataParallel`) is always called as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn
from torch.nn.modules import module as module_globals

Forward = Callable[..., Any]


def _quiet(module: nn.Module) -> bool:
    """No hook that ``__call__`` would run, and not compiled (plain attribute reads: this runs every epoch)."""
    return not (module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or module._backward_pre_hooks) and module._compiled_call_impl is None


def _no_global_hooks() -> bool:
    g = module_globals
    return not (g._global_forward_hooks or g._global_forward_pre_hooks or g._global_backward_hooks
                or g._global_backward_pre_hooks or g._global_forward_hooks_always_called)


class _DirectCall(functools.partial):  # type: ignore[type-arg]
    """A layer's bound ``forward`` as fx can name it (a torch method's name would be written into the code
    as ``torch.nn.modules.linear.forward``); calling it costs what calling a partial costs (C code)."""


def direct_forward(module: fx.GraphModule) -> tuple[Forward, dict[str, nn.Module]]:
    """`module.forward` with each top-level layer's ``forward`` called directly; and those layers."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    layers: dict[str, nn.Module] = {}
    for node in module.graph.nodes:
        if node.op == "call_module":
            layer = module.get_submodule(str(node.target))
            layers[str(node.target)] = layer
            call = _DirectCall(layer.forward)
            call.__name__, call.__module__ = f"{node.target}_forward".replace(".", "_"), __name__
            env[node] = graph.create_node("call_function", call, fx.map_arg(node.args, env.__getitem__),
                                          fx.map_arg(node.kwargs, env.__getitem__), name=node.name)
        else:
            env[node] = graph.node_copy(node, env.__getitem__)
    return fx.GraphModule(module, graph, class_name="LeanForward").forward, layers


class LeanCalls:
    """The training loop's forward and loss calls, lean while that changes nothing."""

    def __init__(self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        self.model, self.loss_fn = model, loss_fn
        self._plain_forward: Forward = model.forward if isinstance(model, fx.GraphModule) else model
        self._lean: tuple[Forward, dict[str, nn.Module]] | None = None
        if isinstance(model, fx.GraphModule) and not isinstance(model, nn.parallel.DistributedDataParallel):
            try:
                self._lean = direct_forward(model)
            except Exception:  # a graph fx cannot regenerate: the ordinary forward is always right
                self._lean = None
        loss_module = loss_fn if isinstance(loss_fn, nn.Module) else None
        self._loss_module = loss_module
        self._lean_loss = loss_module.forward if loss_module is not None else loss_fn

    def current(self) -> tuple[Forward, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
        """(forward, loss) to call now: lean where nothing would notice, else the ordinary ones."""
        try:
            return self._current()
        except AttributeError:  # a torch whose modules keep their hooks elsewhere: never guess
            return self._plain_forward, self.loss_fn

    def _current(self) -> tuple[Forward, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
        quiet = _no_global_hooks()
        forward = self._plain_forward
        if quiet and self._lean is not None:
            lean, layers = self._lean
            modules = self.model._modules
            if _quiet(self.model) and all(modules.get(name) is layer and _quiet(layer)
                                          for name, layer in layers.items()):
                forward = lean
        loss = self.loss_fn
        if quiet and self._loss_module is not None and _quiet(self._loss_module):
            loss = self._lean_loss
        return forward, loss
