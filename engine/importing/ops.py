"""Mapping each node of a traced graph to a catalog layer, an alias, or nothing.

`map_node` looks at one fx node with the values `trace` recorded and returns:

- `Layer`: a catalog layer (type id, parameter values, the fx nodes feeding it);
- `Alias`: the node's value is another node's (``contiguous``, ``x[0]`` of an
  attention's (output, weights) pair, a learned tensor's batch ``expand``);
- `HIDDEN`: the node computes no tensor (shape arithmetic, ``torch._assert``,
  guards) and is not part of the imported network;

or raises `Unmappable` saying why. Constants that the source computes from
shapes are read from the recorded values, and refused when they depend on the
batch size. Nothing here builds a document.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from engine.importing.leaves import Unmappable, convert_module, is_leaf_type
from engine.importing.trace import Traced


@dataclass
class Layer:
    type_id: str
    params: dict[str, Any]
    inputs: list[fx.Node]
    stem: str = ""  # preferred node name
    keep_name: bool = False  # the stem is the source's module name: the state-dict keys depend on it


@dataclass
class Alias:
    of: fx.Node


class _Hidden:
    def __repr__(self) -> str:
        return "HIDDEN"


HIDDEN = _Hidden()
Mapped = Layer | Alias | _Hidden

ADD = {operator.add, operator.iadd, torch.add, "add", "add_", "__add__", "__iadd__", "__radd__"}
MUL = {operator.mul, operator.imul, torch.mul, "mul", "mul_", "__mul__", "__imul__", "__rmul__"}
SUB = {operator.sub, operator.isub, torch.sub, "sub", "sub_", "__sub__", "__isub__", "__rsub__"}
DIV = {operator.truediv, operator.itruediv, torch.div, "div", "div_", "__truediv__", "__rtruediv__"}
POW = {operator.pow, torch.pow, "pow", "__pow__"}
ACTIVATIONS: dict[Any, str] = {
    F.relu: "ReLU", torch.relu: "ReLU", "relu": "ReLU", "relu_": "ReLU", torch.relu_: "ReLU",
    F.relu6: "ReLU6", torch.sigmoid: "Sigmoid", F.sigmoid: "Sigmoid", "sigmoid": "Sigmoid",
    torch.tanh: "Tanh", F.tanh: "Tanh", "tanh": "Tanh", F.silu: "SiLU", F.hardswish: "Hardswish",
    F.hardsigmoid: "Hardsigmoid", F.mish: "Mish",
}
ACTIVATIONS.update({"silu": "SiLU", "silu_": "SiLU", "hardswish": "Hardswish", "hardswish_": "Hardswish",
                    "hardsigmoid": "Hardsigmoid", "mish": "Mish"})
PASS_THROUGH = {"contiguous", "clone", torch.clone, "detach", "alias"}
SPLITS = ("chunk", "split", "split_with_sizes")
MULTI_INPUT = ("Add", "Multiply", "Concat", "Subtract", "Divide")
# torch.export ops that return (output, saved statistics...): item 0 is the layer's output
TUPLE_LAYERS = ("_native_batch_norm_legit_no_training", "_native_batch_norm_legit_functional")
# torch.export ops that read a layer's weights (get_attr nodes feeding them are not learned tensors)
WEIGHTED = ("conv2d", "conv1d", "linear", "batch_norm", "layer_norm", "group_norm", "embedding",
            "multi_head_self_attention", *TUPLE_LAYERS)


def _name(target: Any) -> str:
    """A call target's plain name: ``add`` for operator.add, Tensor.add and aten.add.Tensor alike."""
    if isinstance(target, torch._ops.OpOverload):
        return target._opname
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def _is(target: Any, group: set[Any]) -> bool:
    try:
        if target in group:
            return True
    except TypeError:
        pass
    return isinstance(target, torch._ops.OpOverload) and target._opname in group


class NodeMapper:
    """Maps the nodes of one traced graph; `learned` collects get_attr parameters and their batch source."""

    def __init__(self, traced: Traced) -> None:
        self.traced = traced
        self.learned_like: dict[fx.Node, fx.Node] = {}

    # ---- values ----------------------------------------------------------------------------
    def const(self, value: Any) -> Any:
        """A constant argument: literals as given; a computed value only when it does not follow the batch."""
        if isinstance(value, (list, tuple)):
            return type(value)(self.const(v) for v in value)
        if not isinstance(value, fx.Node):
            return value
        if self.traced.is_tensor(value):
            raise Unmappable(f"uses the tensor {value.name} where a constant is expected")
        a, b = self.traced.value(value, 0), self.traced.value(value, 1)
        if a != b:
            raise Unmappable(f"uses {value.name}, which depends on the batch size")
        return a

    def shape(self, node: fx.Node) -> tuple[int, ...]:
        if node in self.learned_like:
            return self._learned_params(node)["shape"]
        shape = self.traced.sample_shape(node)
        if shape is None:
            raise Unmappable(f"{node.name} does not keep the batch as its first dimension")
        return shape

    def _arg(self, node: fx.Node, index: int, name: str, default: Any = None) -> Any:
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(name, default)

    def _dim(self, dim: Any, rank: int) -> int:
        """A dimension counting the batch as 0, refused when it is the batch."""
        dim = int(self.const(dim))
        if dim % (rank + 1) == 0:
            raise Unmappable("works on the batch dimension")
        return dim

    # ---- the dispatcher --------------------------------------------------------------------
    def map(self, node: fx.Node) -> Mapped:
        if node.op in ("placeholder", "output"):
            return HIDDEN
        if node.op == "get_attr":
            return self._get_attr(node)
        if node.op == "call_module":
            return self._module(node)
        value = self.traced.value(node)
        if node.target is operator.getitem:
            return self._getitem(node)
        if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value) \
                and _name(node.target) not in SPLITS and _name(node.target) not in TUPLE_LAYERS:
            raise Unmappable(f"no catalog layer computes {_name(node.target)}")
        if node.target is getattr and isinstance(node.args[0], fx.Node) \
                and isinstance(self.traced.value(node.args[0]), tuple):
            return HIDDEN  # a field of a result already reported (x.sort().values)
        if _name(node.target) in TUPLE_LAYERS:
            return self._tensor_op(node)
        if not isinstance(value, torch.Tensor):
            # shapes, asserts, guards: not part of the network; a tuple of tensors (chunk, split) has
            # its items mapped where they are used
            return HIDDEN
        mapped = self._tensor_op(node)
        if isinstance(mapped, Layer) and not mapped.keep_name:
            mapped.stem = self._leaf_name(node) or mapped.stem  # torch.export: the layer module's name
        return mapped

    def _module(self, node: fx.Node) -> Mapped:
        if str(node.target).startswith("_guards"):
            return HIDDEN  # torch.export's input checks
        module = self.traced.module.get_submodule(str(node.target))
        type_id, params = convert_module(module)
        tensors = [a for a in node.args if isinstance(a, fx.Node)]
        if type_id == "MultiheadAttention":
            query = node.args[0] if node.args else node.kwargs.get("query")
            others = [node.kwargs.get(k) for k in ("key", "value")] + list(node.args[1:3])
            if any(o is not None and o is not query for o in others):
                raise Unmappable("attention with different query, key and value (only self-attention maps)")
            if node.kwargs.get("attn_mask") is not None or node.kwargs.get("key_padding_mask") is not None:
                raise Unmappable("attention with a mask")
            tensors = [query]
        several = type_id in MULTI_INPUT and len(tensors) >= 2
        if (len(tensors) != 1 and not several) or (node.kwargs and type_id != "MultiheadAttention"):
            raise Unmappable(f"{type(module).__name__} called with {len(tensors)} tensors and "
                             f"{sorted(node.kwargs)}")
        if type_id == "Linear" and len(self.shape(tensors[0])) > 2:
            type_id = "PositionwiseLinear"  # channels-last maps (ConvNeXt)
        return Layer(type_id, params, tensors, str(node.target).rsplit(".", 1)[-1])

    def _getitem(self, node: fx.Node) -> Mapped:
        source, index = node.args
        if not node.users:
            return HIDDEN  # an unused result (``x, _ = attention(x, x, x)``)
        if not isinstance(source, fx.Node):
            return HIDDEN
        value = self.traced.value(source)
        if (source.op == "call_module" or _name(source.target) in TUPLE_LAYERS) and isinstance(value, tuple):
            if index == 0 and self.traced.is_tensor(node):
                return Alias(source)  # (output, attention weights)[0]
            if self.traced.value(node) is None:
                return HIDDEN
            raise Unmappable(f"uses item {index} of {source.name}'s results")
        if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value) \
                and source.op in ("call_function", "call_method"):
            return self._split_item(source, int(self.const(index)), node)
        if isinstance(value, torch.Tensor):
            return self._index(node, source, index)
        return HIDDEN

    def _split_item(self, source: fx.Node, i: int, node: fx.Node) -> Mapped:
        name = _name(source.target)
        if name not in SPLITS:
            raise Unmappable(f"uses an item of {name}")
        x = source.args[0]
        rank = len(self.shape(x))
        dim = self._dim(self._arg(source, 2, "dim", 0), rank)
        size = self.shape(x)[dim % (rank + 1) - 1]
        if name == "chunk":
            step = math.ceil(size / int(self.const(self._arg(source, 1, "chunks"))))
            bounds = [(s, min(s + step, size)) for s in range(0, size, step)]
        else:
            sections = self.const(self._arg(source, 1, "split_size_or_sections"))
            if isinstance(sections, int):
                bounds = [(s, min(s + sections, size)) for s in range(0, size, sections)]
            else:
                starts = [sum(sections[:k]) for k in range(len(sections))]
                bounds = [(s, s + n) for s, n in zip(starts, sections)]
        start, end = bounds[i]
        return Layer("Slice", dict(dim=dim, start=start, end=end, step=1), [x], "slice")

    def _index(self, node: fx.Node, x: fx.Node, index: Any) -> Mapped:
        index = self.const(index)
        items = index if isinstance(index, tuple) else (index,)
        if not items or items[0] != slice(None) or Ellipsis in items or None in items:
            raise Unmappable(f"indexes {x.name} with {index!r} (only x[:, ...] with one index or slice maps)")
        picks = [(d, item) for d, item in enumerate(items) if item != slice(None)]
        if len(picks) != 1:
            raise Unmappable(f"indexes {x.name} with {index!r} (only one index or slice maps)")
        dim, item = picks[0]
        if isinstance(item, int):
            return Layer("Select", dict(dim=dim, index=item), [x], "select")
        if isinstance(item, slice):
            return Layer("Slice", dict(dim=dim, start=item.start or 0, end=item.stop, step=item.step or 1),
                         [x], "slice")
        raise Unmappable(f"indexes {x.name} with {index!r}")

    def _get_attr(self, node: fx.Node) -> Mapped:
        value = self.traced.value(node)
        if not node.users:
            return HIDDEN  # read by nothing (a program's num_batches_tracked)
        if node not in self.learned_like and all(_name(u.target) in WEIGHTED for u in node.users):
            return HIDDEN  # a layer's weight in a torch.export graph: the layer's node carries it
        if not isinstance(value, torch.nn.Parameter):
            raise Unmappable("a constant tensor that is not a learned parameter")
        like = self.learned_like.get(node)
        if like is None:
            raise Unmappable("a learned tensor used other than added to, multiplied with or expanded to "
                             "the batch")
        params = self._learned_params(node)
        return Layer("LearnedTensor", {**params, "init": "normal"}, [like], str(node.target).rsplit(".", 1)[-1])

    def _learned_params(self, node: fx.Node) -> dict[str, Any]:
        """A parameter as a LearnedTensor: (1, *shape) repeated over the batch, or shape broadcast."""
        like = self.learned_like[node]
        rank = len(self.traced.sample_shape(like) or ())
        shape = tuple(int(s) for s in self.traced.value(node).shape)
        expanded = any(_name(u.target) == "expand" for u in node.users)  # to (batch, *shape[1:])
        if shape and shape[0] == 1 and (expanded or len(shape) == rank + 1):
            return dict(shape=shape[1:], leading_one=True)
        if len(shape) == rank:
            return dict(shape=shape, leading_one=False)
        raise Unmappable(f"a learned tensor of shape {shape} used with {rank + 1}-D values")

    def note_learned(self, graph: fx.Graph) -> None:
        """Find, for each parameter read in the forward, the value whose batch it is repeated over."""
        for node in graph.nodes:
            if node.op != "get_attr":
                continue
            for user in node.users:
                like = self._batch_source(node, user)
                if like is not None:
                    self.learned_like.setdefault(node, like)

    def _batch_source(self, param: fx.Node, user: fx.Node) -> fx.Node | None:
        if _name(user.target) == "expand" and user.args[0] is param:
            size = user.args[1] if len(user.args) > 1 else None
            if isinstance(size, (list, tuple)):  # aten.expand(x, [n, -1, -1])
                size = size[0] if size else None
            return _shape_owner(size)
        if _is(user.target, ADD | MUL | SUB | DIV):
            others = [a for a in user.args if isinstance(a, fx.Node) and a is not param]
            if len(others) == 1 and self.traced.is_tensor(others[0]):
                return others[0]
        return None

    # ---- functions and methods on tensors ------------------------------------------------
    def _tensor_op(self, node: fx.Node) -> Mapped:
        target = node.target
        name = _name(target)
        if _is(target, PASS_THROUGH):
            return Alias(node.args[0])
        if name == "expand":
            x = node.args[0]
            if x.op == "get_attr":
                return Alias(x)
            if self.traced.sample_shape(node) == self.traced.sample_shape(x):
                return Alias(x)
            raise Unmappable("expands a tensor to a larger shape")
        if _is(target, ADD | MUL | SUB | DIV | POW):
            return self._arithmetic(node)
        if _is(target, set(ACTIVATIONS)):
            type_id = ACTIVATIONS[target] if target in ACTIVATIONS else ACTIVATIONS[name]
            return Layer(type_id, {}, [node.args[0]], self._leaf_name(node) or name.rstrip("_"))
        handler = _handler(name)
        if handler is None:
            raise Unmappable(f"no catalog layer computes {name}")
        return handler(self, node)

    def _leaf_name(self, node: fx.Node) -> str:
        """In a torch.export graph, the name of the layer module an op ran in (``relu``), else ""."""
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        if node.op == "call_function" and stack:
            path, cls = stack[-1]
            cls = cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"
            if path and is_leaf_type(cls):
                return str(path).rsplit(".", 1)[-1]
        return ""

    def _arithmetic(self, node: fx.Node) -> Mapped:
        target = node.target
        a, b = node.args[0], node.args[1]
        reverse = isinstance(target, str) and target.startswith("__r")
        if reverse:
            a, b = b, a
        if node.kwargs.get("alpha", 1) != 1:
            raise Unmappable("adds or subtracts a scaled tensor (alpha)")
        tensors = [v for v in (a, b) if self.traced.is_tensor(v)]
        kind = ("add" if _is(target, ADD) else "multiply" if _is(target, MUL) else "subtract" if _is(target, SUB)
                else "divide" if _is(target, DIV) else "power")
        if len(tensors) == 2:
            if kind == "power":
                raise Unmappable("a tensor raised to a tensor power")
            type_id = {"add": "Add", "multiply": "Multiply", "subtract": "Subtract", "divide": "Divide"}[kind]
            if kind == "add" and self.shape(a) != self.shape(b):
                raise Unmappable(f"adds values of different shapes {self.shape(a)} and {self.shape(b)}")
            return Layer(type_id, {}, [a, b], kind[:3] if kind != "multiply" else "mul")
        if len(tensors) != 1:
            raise Unmappable("arithmetic without a tensor")
        x = tensors[0]
        constant = float(self.const(b if x is a else a))
        if x is b and kind in ("subtract", "divide"):
            kind = f"reverse_{kind}"
        elif x is b and kind == "power":
            raise Unmappable("a number raised to a tensor power")
        return Layer("ScalarOp", dict(op=kind, value=constant), [x], kind[:3])


def _shape_owner(size: Any) -> fx.Node | None:
    """The tensor whose batch size an int node reads (``x.shape[0]``, ``x.size(0)``)."""
    if not isinstance(size, fx.Node):
        return None
    if size.target is operator.getitem and size.args[1] == 0:
        shape = size.args[0]
        if isinstance(shape, fx.Node) and shape.target is getattr and shape.args[1] == "shape":
            return shape.args[0]
        if isinstance(shape, fx.Node) and _name(shape.target) == "size" and len(shape.args) == 1:
            return shape.args[0]
    if _name(size.target) in ("size", "sym_size") and len(size.args) == 2 and size.args[1] == 0:
        return size.args[0]
    return None


def _handler(name: str) -> Any:
    """The handler of an op by name: torch functions and methods (`torch_functions`), then torch.export's
    own ops (`aten`)."""
    from engine.importing.aten import HANDLERS
    from engine.importing.torch_functions import FUNCTIONS

    for key in (name, name[:-1] if name.endswith("_") and not name.startswith("_") else name):
        handler = FUNCTIONS.get(key) or HANDLERS.get(key)
        if handler is not None:
            return handler
    return None
