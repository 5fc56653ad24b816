"""Tracing a source module into one torch.fx graph, with every node's value at two batch sizes.

Catalog layers (`leaves.is_leaf`) stay whole as ``call_module`` nodes; every
other module is traced through, and each node keeps the chain of modules it was
called from in ``node.meta["nn_module_stack"]`` — the module tree the imported
blocks follow. The module is traced in training mode, so dropout and
stochastic depth written as functions are recorded rather than folded away,
and measured in eval mode, so that nothing in the source changes.

`record_values` then runs the graph twice on tensors without data (no memory,
no arithmetic: shapes only), with batch sizes 2 and 3. A value whose first
dimension follows the batch in both runs and whose other dimensions agree is a
per-sample tensor; an int that differs between the runs depends on the batch.
It runs on the meta device first, with the module's weights swapped for meta
tensors for the run (`torch.func.functional_call`, which puts them back): several
times faster than fake tensors (fake BatchNorm runs a Python decomposition,
about 20 ms a call: 2 s of DenseNet-121's import). Graphs that meta tensors
cannot run (a tensor made inside the forward, an op without a meta kernel) run
on fake tensors, and failing that on real ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from engine.importing.leaves import is_leaf

BATCHES = (2, 3)


class ModuleTracer(fx.Tracer):
    """An fx tracer that keeps catalog layers (and opaque torch.nn modules) whole."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_leaf(m)


@dataclass
class Traced:
    """The source module, its fx graph and each node's value for both batch sizes."""

    root: nn.Module
    module: fx.GraphModule
    values: tuple[dict[fx.Node, Any], dict[fx.Node, Any]]
    input_shapes: tuple[tuple[int, ...], ...]
    batches: tuple[int, int] = BATCHES

    @property
    def graph(self) -> fx.Graph:
        return self.module.graph

    def value(self, node: fx.Node, run: int = 0) -> Any:
        return self.values[run].get(node)

    def is_tensor(self, node: Any) -> bool:
        return isinstance(node, fx.Node) and isinstance(self.values[0].get(node), torch.Tensor)

    def sample_shape(self, node: fx.Node) -> tuple[int, ...] | None:
        """The per-sample shape of a value that follows the batch in both runs, else None."""
        a, b = self.values[0].get(node), self.values[1].get(node)
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.dim() == 0:
            return None
        if a.shape[0] != self.batches[0] or b.shape[0] != self.batches[1] or a.shape[1:] != b.shape[1:]:
            return None
        return tuple(int(s) for s in a.shape[1:])


class _Recorder(fx.Interpreter):
    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)
        self.seen: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        self.seen[n] = result
        return result


def trace_module(root: nn.Module, input_shapes: Sequence[tuple[int, ...]],
                 input_dtypes: Sequence[torch.dtype] | None = None) -> Traced:
    """Trace `root` (called with one tensor per input shape, batch excluded) and record its values."""
    was_training = root.training
    root.train()
    try:
        graph = ModuleTracer().trace(root)
        module = fx.GraphModule(root, graph, class_name=type(root).__name__)
        module.eval()  # measuring must not touch the source: batch norm counts batches in training mode
        values = tuple(record_values(module, input_shapes, batch, input_dtypes) for batch in BATCHES)
    finally:
        root.train(was_training)
    return Traced(root, module, values, tuple(tuple(s) for s in input_shapes))  # type: ignore[arg-type]


class _MetaRun(nn.Module):
    """Runs the recorder over a graph module as the forward, so `functional_call` can swap its weights."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__()
        self.graph_module = module

    def forward(self, *inputs: torch.Tensor) -> dict[fx.Node, Any]:
        recorder = _Recorder(self.graph_module)
        recorder.run(*inputs)
        return recorder.seen


def _record_on_meta(module: fx.GraphModule, shapes: list[tuple[int, ...]],
                    dtypes: list[torch.dtype]) -> dict[fx.Node, Any]:
    runner = _MetaRun(module)
    state = {name: _meta_like(value) for name, value in runner.state_dict(keep_vars=True).items()}
    inputs = tuple(torch.empty(s, dtype=d, device="meta") for s, d in zip(shapes, dtypes))
    with torch.no_grad():
        seen = torch.func.functional_call(runner, state, inputs, tie_weights=True, strict=False)
    for value in seen.values():  # a tensor the forward made on the CPU met the meta ones: measure elsewise
        if isinstance(value, torch.Tensor) and value.device.type != "meta":
            raise RuntimeError("not every value ran on the meta device")
    return seen


def _meta_like(value: torch.Tensor) -> torch.Tensor:
    """A meta tensor like `value`, still a Parameter where it was one (the mapper tells learned tensors so)."""
    meta = torch.empty_like(value, device="meta")
    return nn.Parameter(meta, requires_grad=value.requires_grad) if isinstance(value, nn.Parameter) else meta


def record_values(module: fx.GraphModule, input_shapes: Sequence[tuple[int, ...]], batch: int,
                  input_dtypes: Sequence[torch.dtype] | None = None) -> dict[fx.Node, Any]:
    """Every node's value on meta inputs of `batch` samples (fake, then real tensors if those fail)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    dtypes = list(input_dtypes or [torch.float32] * len(input_shapes))
    try:
        return _record_on_meta(module, [(batch, *s) for s in input_shapes], dtypes)
    except Exception:  # a graph meta tensors cannot run: fake tensors below
        pass
    try:
        with FakeTensorMode(allow_non_fake_inputs=True) as mode, torch.no_grad():
            inputs = [mode.from_tensor(_example((batch, *s), d)) for s, d in zip(input_shapes, dtypes)]
            recorder = _Recorder(module)
            recorder.run(*inputs)
            return recorder.seen
    except Exception:  # some ops have no fake kernel: measure on real (small) tensors instead
        with torch.no_grad():
            recorder = _Recorder(module)
            recorder.run(*[_example((batch, *s), d) for s, d in zip(input_shapes, dtypes)])
            return recorder.seen


def _example(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    return torch.zeros(shape, dtype=dtype)
