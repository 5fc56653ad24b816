"""Fine-tuning: a run starts from the project's initial weights and leaves frozen nodes alone.

`load_initial_weights(module, weights)` copies a project's initial weights (safetensors bytes, an
imported network's: `engine.importing.weights`) into a freshly built network, tensor by tensor,
matched by state-dict key (the node path: ``layer1.0.conv1.weight``) and checked by shape. After
the user edits the network (a new classifier head, a changed layer) what still fits is loaded and
the rest keeps its fresh initialisation; the returned `InitialLoad` says which nodes were loaded in
full, which in part, which not, and which weights of the file the network no longer has, in
lines for the run's log.

`freeze(doc, module)` applies the document's frozen flags (`Node.frozen`, on a layer or on a block,
whose every layer it then covers; inside a block definition, in every instance of it): the frozen
parameters stop requiring gradients (`trainable_parameters` leaves them out of the optimiser, so
neither gradients nor weight decay nor momentum move them), and every normalisation layer with
running statistics inside a frozen part stays in eval mode whatever the loop asks of the network,
so its running mean and variance do not move either. Both take a built network; neither needs Qt.

`initial_state(network, attachments)` is the state dict a project starts from before any run (its
initial weights where they fit, fresh ones elsewhere): what an export without a run writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MethodType

import torch
from torch import fx, nn

from engine.graph.document import GraphDocument
from engine.project_zip import INITIAL_WEIGHTS_MEMBER

MAX_LISTED = 8  # node names listed per line of the report before "and N more"


@dataclass
class InitialLoad:
    """What `load_initial_weights` did, by node (the first part of the key) and by tensor."""

    loaded: list[str] = field(default_factory=list)  # keys copied from the file
    mismatched: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)  # key: file, net
    missing: list[str] = field(default_factory=list)  # the network's keys the file lacks
    unused: list[str] = field(default_factory=list)  # the file's keys the network lacks

    @property
    def complete(self) -> bool:
        return not (self.mismatched or self.missing or self.unused)

    def lines(self) -> list[str]:
        """The report a person reads in the run's log."""
        total = len(self.loaded) + len(self.mismatched) + len(self.missing)
        if self.complete:
            return [f"started from the project's initial weights: all {len(self.loaded)} tensors loaded"]
        full, part, none = self._by_node()
        lines = [f"started from the project's initial weights where they still fit: {len(self.loaded)} of "
                 f"{total} tensors loaded"]
        if full:
            lines.append(f"loaded in full: {_names(full)}")
        for node, keys in part.items():
            lines.append(f"loaded in part: {node} (not {_names(keys)}; those are freshly initialised)")
        if none:
            lines.append(f"not loaded, freshly initialised: {_names(none)}")
        for key, (theirs, ours) in list(self.mismatched.items())[:MAX_LISTED]:
            lines.append(f"  {key}: the initial weights are {_shape(theirs)}, the network's {_shape(ours)}")
        if self.unused:
            nodes = list(dict.fromkeys(_node_of(k) for k in self.unused))
            lines.append(f"initial weights of nodes the network no longer has (not used): {_names(nodes)}")
        return lines

    def _by_node(self) -> tuple[list[str], dict[str, list[str]], list[str]]:
        """Top-level nodes loaded in full, in part (with the keys that were not), and not at all."""
        loaded: dict[str, int] = {}
        for key in self.loaded:
            loaded[_node_of(key)] = loaded.get(_node_of(key), 0) + 1
        not_loaded: dict[str, list[str]] = {}
        for key in [*self.mismatched, *self.missing]:
            not_loaded.setdefault(_node_of(key), []).append(key)
        full = [n for n in loaded if n not in not_loaded]
        part = {n: keys for n, keys in not_loaded.items() if n in loaded}
        none = [n for n in not_loaded if n not in loaded]
        return full, part, none


def _node_of(key: str) -> str:
    return key.split(".", 1)[0]


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else "a scalar"


def read_initial_weights(data: bytes) -> dict[str, torch.Tensor]:
    """The tensors of safetensors bytes (never code: safetensors holds raw arrays only)."""
    from safetensors.torch import load

    return dict(load(data))


def load_initial_weights(module: nn.Module, weights: bytes | dict[str, torch.Tensor]) -> InitialLoad:
    """Copy every initial weight whose key and shape fit into `module`; report what did not."""
    theirs = read_initial_weights(weights) if isinstance(weights, bytes) else weights
    ours = module.state_dict(keep_vars=True)
    report = InitialLoad(unused=[k for k in theirs if k not in ours])
    with torch.no_grad():
        for key, target in ours.items():
            source = theirs.get(key)
            if source is None:
                report.missing.append(key)
            elif tuple(source.shape) != tuple(target.shape):
                report.mismatched[key] = (tuple(source.shape), tuple(target.shape))
            else:
                target.copy_(source)  # into the tensor the module holds: dtype and device kept
                report.loaded.append(key)
    return report


def initial_state(network: GraphDocument, attachments: Mapping[str, bytes]
                  ) -> tuple[dict[str, torch.Tensor], InitialLoad] | None:
    """The network's weights built afresh with the project's initial weights loaded where they fit,
    and what was loaded; None when the project has no initial weights."""
    from engine.build import build_module

    data = attachments.get(INITIAL_WEIGHTS_MEMBER)
    if data is None:
        return None
    module = build_module(network)
    report = load_initial_weights(module, data)
    return {k: v.detach() for k, v in module.state_dict().items()}, report


@dataclass
class Frozen:
    """The parts of a network that `freeze` froze, by module path."""

    paths: list[str] = field(default_factory=list)
    parameters: int = 0  # elements
    norms_kept_in_eval: int = 0

    def lines(self) -> list[str]:
        if not self.paths:
            return []
        return [f"frozen (not trained): {_names(self.paths)}: {self.parameters:,} parameters"
                + (f", {self.norms_kept_in_eval} normalisation layer(s) kept in eval mode"
                   if self.norms_kept_in_eval else "")]


def frozen_modules(doc: GraphDocument, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """(module path, module) of every frozen node, looking into unfrozen block instances and their
    repeats; a node frozen inside a block definition counts in every instance of it."""
    found: list[tuple[str, nn.Module]] = []

    def walk(body: GraphDocument, parent: nn.Module, prefix: str) -> None:
        for node in body.nodes.values():
            child = parent._modules.get(node.id)
            if child is None:  # ports and Input/Output nodes have no module
                continue
            path = prefix + node.id
            if node.frozen:
                found.append((path, child))
            elif node.type_id in body.library.definitions:
                inner = body.library.definitions[node.type_id].body
                if isinstance(child, fx.GraphModule):  # one copy
                    walk(inner, child, path + ".")
                else:  # repeated: a container of copies numbered 0..N-1
                    for index, copy in child.named_children():
                        walk(inner, copy, f"{path}.{index}.")

    walk(doc, module, "")
    return found


def freeze(doc: GraphDocument, module: nn.Module) -> Frozen:
    """Freeze the document's frozen nodes in the built `module` (see the module docstring)."""
    result = Frozen()
    for path, part in frozen_modules(doc, module):
        result.paths.append(path)
        for param in part.parameters():
            if param.requires_grad:
                result.parameters += param.numel()
            param.requires_grad_(False)
        for inner in part.modules():
            if isinstance(inner, nn.modules.batchnorm._NormBase) and inner.track_running_stats:
                keep_in_eval(inner)
                result.norms_kept_in_eval += 1
    return result


def keep_in_eval(module: nn.Module) -> None:
    """Make `module` stay in eval mode: `train()` on it, or on anything that contains it, leaves it in
    eval. The training loop calls ``model.train()`` every epoch (and after each evaluation) and must not
    need to know which parts are frozen, so the module itself refuses to train."""
    module.train = MethodType(_stay_in_eval, module)  # type: ignore[method-assign]
    module.eval()


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(self, False)


def trainable_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """The parameters training updates: all but the frozen ones."""
    return (p for p in module.parameters() if p.requires_grad)
