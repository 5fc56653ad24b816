"""Turning a training failure into a message that names the node at fault.

When a step fails, the trainer hands the exception and the failing batch to `describe_failure`.
It re-runs the batch through the network's fx graph node by node (`torch.fx.Interpreter`), so it
can say which node raised (a shape error in a plug-in layer, say) or which node first produced a
value that is not finite, and whether that node's own weights had already diverged. Running out of
CUDA memory suggests a smaller batch. The result is a `Failure`: message, kind, node id, traceback.
Nothing here runs during normal training; it costs one extra forward pass after a failure.
"""

from __future__ import annotations

import traceback as tb
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import fx

from engine.train.callbacks import Failure

_SHAPE_WORDS = ("shape", "size", "dimension", "mat1 and mat2", "expected input", "must match")


class NonFiniteLoss(RuntimeError):
    """A loss (of the training, validation or test split) became NaN or infinite."""

    def __init__(self, message: str, split: str = "training") -> None:
        super().__init__(message)
        self.split = split


class _NodeFailed(Exception):
    def __init__(self, node: fx.Node, error: BaseException) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


class _Checker(fx.Interpreter):
    """Runs the graph, recording the first node whose output is not finite and the node that raises."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module, garbage_collect_values=True)
        self.first_bad: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as exc:
            raise _NodeFailed(n, exc) from exc
        if self.first_bad is None and n.op in ("placeholder", "call_module", "call_function", "call_method") \
                and isinstance(result, torch.Tensor) and result.is_floating_point() \
                and not bool(torch.isfinite(result).all()):
            self.first_bad = n
        return result


def graph_module(module: torch.nn.Module) -> fx.GraphModule | None:
    """The fx graph behind `module` (unwrapping DistributedDataParallel), if there is one."""
    inner = getattr(module, "module", module)
    return inner if isinstance(inner, fx.GraphModule) else None


def _label(node_id: str, names: Mapping[str, str]) -> str:
    name = names.get(node_id, node_id)
    return f"'{name}'" if name == node_id else f"'{name}' ({node_id})"


def _params_finite(module: fx.GraphModule, node_id: str) -> bool:
    try:
        sub = module.get_submodule(node_id)
    except AttributeError:
        return True
    return all(bool(torch.isfinite(p).all()) for p in sub.parameters())


def describe_non_finite(module: torch.nn.Module, inputs: Sequence[torch.Tensor], names: Mapping[str, str],
                        lr: float, autocast: Callable[[], Any], split: str = "training") -> Failure:
    """Why the `split` loss stopped being finite, naming the first node whose output was not finite."""
    gm = graph_module(module)
    where: str | None = None
    loss = "the loss" if split == "training" else f"the {split} loss"
    if gm is not None:
        checker = _Checker(gm)
        try:
            with torch.no_grad(), autocast():
                checker.run(*inputs)
        except _NodeFailed:
            pass
        if checker.first_bad is not None:
            bad = checker.first_bad
            where = str(bad.target if bad.op in ("call_module", "placeholder") else bad)
            if checker.first_bad.op == "placeholder":
                data = "an input batch" if split == "training" else f"the {split} data"
                return Failure(f"{loss} became NaN or infinite: {data} for {_label(where, names)} holds values "
                               "that are not finite (NaN or infinity); check the dataset", "non_finite", where)
    if where is None:
        targets = "" if split == "training" else f" and that the {split} targets are finite"
        return Failure(f"{loss} became NaN or infinite although every node's output was finite; check that "
                       f"the loss fits the targets (e.g. nll needs LogSoftmax outputs){targets}", "non_finite")
    if gm is not None and not _params_finite(gm, where):
        return Failure(f"{loss} became NaN or infinite: the weights of {_label(where, names)} are no "
                       f"longer finite, so training diverged. Lower the learning rate (it is {lr:g}) or set "
                       "gradient clipping", "non_finite", where)
    if split != "training":
        return Failure(f"{loss} became NaN or infinite: {_label(where, names)} was the first node whose output "
                       f"was not finite on the {split} data (in eval mode). Lower the learning rate, add "
                       "normalisation before it, or set gradient clipping", "non_finite", where)
    return Failure(f"{loss} became NaN or infinite: {_label(where, names)} was the first node whose output "
                   "was not finite. Lower the learning rate, add normalisation before it, or set gradient "
                   "clipping", "non_finite", where)


def find_failing_node(module: torch.nn.Module, inputs: Sequence[torch.Tensor],
                      autocast: Callable[[], Any]) -> tuple[str | None, BaseException | None]:
    """Re-run a batch node by node; the node that raises and its error (None, None if none does)."""
    gm = graph_module(module)
    if gm is None:
        return None, None
    try:
        with torch.no_grad(), autocast():
            _Checker(gm).run(*inputs)
    except _NodeFailed as failed:
        node = failed.node
        return (str(node.target) if node.op == "call_module" else node.name), failed.error
    except Exception as exc:  # outside any node (e.g. the output)
        return None, exc
    return None, None


def describe_failure(exc: BaseException, module: torch.nn.Module, inputs: Sequence[torch.Tensor] | None,
                     names: Mapping[str, str], batch_size: int, lr: float,
                     autocast: Callable[[], Any]) -> Failure:
    """A `Failure` for any exception raised by a training or evaluation step."""
    trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        smaller = max(1, batch_size // 2)
        _free_cuda_cache()
        return Failure(f"the GPU ran out of memory with batch size {batch_size}; try a smaller batch "
                       f"(e.g. {smaller}) or a smaller network", "out_of_memory", None, trace)
    if isinstance(exc, NonFiniteLoss):
        failure = describe_non_finite(module, inputs or (), names, lr, autocast, exc.split)
        failure.traceback = trace
        return failure
    node_id, error = find_failing_node(module, inputs, autocast) if inputs is not None else (None, None)
    text = str(error or exc).strip().splitlines()[0] if str(error or exc).strip() else type(exc).__name__
    kind = "shape" if any(w in text.lower() for w in _SHAPE_WORDS) else "error"
    if node_id is not None:
        return Failure(f"{_label(node_id, names)} failed: {text}", kind, node_id, trace)
    return Failure(f"training failed: {type(exc).__name__}: {text}", kind, None, trace)


def _free_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
