"""Importing an ONNX file: its graph rewritten as a torch.export-style graph, then imported like one.

Each ONNX node becomes the ATen call that computes the same thing (Conv ->
``aten.conv2d``, Gemm -> ``aten.linear``, BatchNormalization ->
``aten._native_batch_norm_legit_no_training``, ...), with its weights as
parameters of a plain module, named after the module that owns them
(``layer1.0.conv1.weight``; a bias fused in by the exporter joins its weight's
owner). The exporter's ``pkg.torch.onnx.name_scopes`` and ``class_hierarchy``
metadata become ``nn_module_stack``, so the blocks follow the original module
tree. Integer shape arithmetic (Shape, Gather, Concat of int64 values) is not
part of the network: a Reshape takes its per-sample shape from ONNX shape
inference. Anything else is reported by node and op type.

The result is checked against onnxruntime on the file itself when onnxruntime
is installed, else against the rewritten graph. Reading an ONNX file runs no
code: it is protobuf data.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from engine.importing.report import ImportFailed, ImportReport, UnmappedOp
from engine.importing.weights import WeightsError

aten = torch.ops.aten


class _Unsupported(Exception):
    pass


class OnnxTranslator:
    """Builds an fx graph of ATen calls (and the module holding the weights) from an ONNX graph."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self.graph = model.graph
        self.root = nn.Module()
        self.fx = fx.Graph()
        self.values: dict[str, Any] = {}
        self.constants: dict[str, np.ndarray] = {
            i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        self.registered: dict[str, str] = {}  # ONNX initializer -> parameter path
        self.shapes = _value_shapes(model)
        self.unmapped: list[UnmappedOp] = []
        self.folded: set[str] = set()  # values computed from shapes only
        self.failed: set[str] = set()  # values of nodes that could not be mapped
        self.absorbed: dict[str, str] = {}  # node name -> the value it adds nothing to (a fused bias Add)
        self.shape_sources: dict[str, str] = {}  # a value computed from shapes -> the tensor it measured
        self.consumers: dict[str, list[Any]] = {}
        for n in self.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    # ---- values -----------------------------------------------------------------------
    def const(self, name: str) -> np.ndarray | None:
        return self.constants.get(name)

    def param(self, name: str, path: str, transform: Callable[[np.ndarray], np.ndarray] | None = None) -> fx.Node:
        """A get_attr of the initializer `name`, registered as a parameter at `path`."""
        path = ".".join(re.sub(r"\W", "_", part) or "p" for part in path.split("."))
        if path not in self.registered.values():
            array = self.constants[name]
            array = transform(array) if transform else array
            _set_parameter(self.root, path, torch.from_numpy(np.array(array, copy=True)))
            self.registered[name] = path
        return self.fx.get_attr(path)

    def value(self, name: str) -> Any:
        if name in self.folded:
            raise _Unsupported(f"uses {name}, a size computed from shapes, as a tensor")
        if name in self.values:
            return self.values[name]
        if name in self.constants:
            array = self.constants[name]
            if array.dtype.kind == "f" and array.ndim > 0:
                return self.param(name, name)  # a learned tensor (class token, position table)
            return array.tolist()
        raise _Unsupported(f"uses {name}, which is not computed before it")

    # ---- the graph --------------------------------------------------------------------
    def translate(self, input_names: list[str]) -> fx.GraphModule:
        from engine.importing.onnx_ops import ONNX_OPS

        for name in input_names:
            node = self.fx.placeholder(re.sub(r"\W", "_", name))
            shape = self.shapes.get(name) or (None,)
            if any(d is None for d in shape[1:]):
                raise _Unsupported(f"the input {name} has no fixed per-sample shape {shape}")
            node.meta["val"] = torch.empty((shape[0] or 2, *shape[1:]))
            self.values[name] = node
        nodes = list(self.graph.node)
        index = 0
        while index < len(nodes):
            node = nodes[index]
            index += 1
            attention = _attention_scope(node)
            if attention is not None:
                run = [node]
                while index < len(nodes) and _attention_scope(nodes[index]) == attention:
                    run.append(nodes[index])
                    index += 1
                self._attention(attention, run)
                continue
            if node.op_type == "Constant":
                try:
                    self._constant(node)
                except _Unsupported as exc:
                    self.failed.update(node.output)
                    self.unmapped.append(UnmappedOp(_scope_path(node), "onnx.Constant", str(exc)))
                continue
            if node.name in self.absorbed:
                self.values[node.output[0]] = self.values[self.absorbed[node.name]]
                continue
            if self._is_shape_arithmetic(node):
                self.folded.update(node.output)
                sources = [node.input[0]] if node.op_type == "Shape" else \
                    [self.shape_sources[i] for i in node.input if i in self.shape_sources]
                if sources:
                    self.shape_sources.update({o: sources[0] for o in node.output})
                continue
            if any(i in self.failed for i in node.input):
                self.failed.update(node.output)  # its cause is reported already
                continue
            handler = ONNX_OPS.get(node.op_type)
            try:
                if handler is None:
                    raise _Unsupported(f"no catalog layer computes the ONNX op {node.op_type}")
                stack = _module_stack(node)
                before = len(self.fx.nodes)
                outputs = handler(self, node)
                for created in list(self.fx.nodes)[before:]:
                    created.meta["nn_module_stack"] = stack
                for name, value in zip(node.output, outputs if isinstance(outputs, tuple) else (outputs,)):
                    self.values[name] = value
            except _Unsupported as exc:
                self.failed.update(node.output)
                self.unmapped.append(UnmappedOp(_scope_path(node), f"onnx.{node.op_type}", str(exc)))
        outputs = [self.values.get(o.name) for o in self.graph.output]
        self.fx.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
        return fx.GraphModule(self.root, self.fx)

    def _constant(self, node: Any) -> None:
        """A Constant's value (a tensor, or the scalar and list forms an unoptimised export writes)."""
        from onnx import numpy_helper

        attrs = {a.name: a for a in node.attribute}
        if "value" in attrs:
            self.constants[node.output[0]] = numpy_helper.to_array(attrs["value"].t)
        elif "value_int" in attrs or "value_ints" in attrs:
            self.constants[node.output[0]] = np.array(_attrs(node).get("value_int", _attrs(node).get("value_ints")),
                                                      dtype=np.int64)
        elif "value_float" in attrs or "value_floats" in attrs:
            self.constants[node.output[0]] = np.array(
                _attrs(node).get("value_float", _attrs(node).get("value_floats")), dtype=np.float32)
        else:
            raise _Unsupported(f"a Constant holding {', '.join(attrs) or 'nothing'}")

    def _is_shape_arithmetic(self, node: Any) -> bool:
        """Shape, and anything computed only from shapes and integer constants: not part of the network."""
        if node.op_type == "Shape":
            return True
        inputs = [i for i in node.input if i]
        return bool(inputs) and all(i in self.folded or (i in self.constants and self.constants[i].dtype.kind in "iu")
                                    for i in inputs)

    def _attention(self, scope: str, run: list[Any]) -> None:
        """The ops of one nn.MultiheadAttention (self-attention), written back as one call."""
        try:
            made = {o for n in run for o in n.output}
            inputs = {i for n in run for i in n.input if i and i not in made}
            tensors = [i for i in inputs if i in self.values]
            outputs = [o for o in made if any(u not in run for u in self.consumers.get(o, []))
                       or o in {g.name for g in self.graph.output}]
            if len(tensors) != 1 or len(outputs) != 1:
                raise _Unsupported("attention other than self-attention on one sequence")
            width = self.shapes.get(tensors[0], ())[-1]
            weights = {i: self.constants[i] for i in inputs if i in self.constants and
                       self.constants[i].dtype.kind == "f" and self.constants[i].ndim >= 1}
            in_w = next(k for k, a in weights.items() if a.ndim == 2 and 3 * width in a.shape)
            out_w = next(k for k, a in weights.items() if a.ndim == 2 and a.shape == (width, width))
            in_b = next((k for k, a in weights.items() if a.shape == (3 * width,)), None)
            out_b = next((k for k, a in weights.items() if a.shape == (width,)), None)
            heads = next(s[1] for o in made for s in [self.shapes.get(o, ())]
                         if len(s) == 4 and s[1] and s[3] and s[1] * s[3] == width)
        except (StopIteration, TypeError, IndexError):
            raise _Unsupported("an attention module whose weights or heads cannot be found") from None
        except _Unsupported as exc:
            self.failed.update(o for n in run for o in n.output)
            self.unmapped.append(UnmappedOp(scope.replace(".", " ▸ "), "onnx.MultiheadAttention", str(exc)))
            return
        if (in_b is None) != (out_b is None):  # the exporter drops an all-zero bias: put it back
            zero_name = f"{scope}.{'in_proj_bias' if in_b is None else 'out_proj.bias'}:zeros"
            self.constants[zero_name] = np.zeros(3 * width if in_b is None else width, dtype=np.float32)
            in_b, out_b = (zero_name, out_b) if in_b is None else (in_b, zero_name)
        transposed = self.constants[in_w].shape[0] != 3 * width
        args = [self.values[tensors[0]],
                self.param(in_w, f"{scope}.in_proj_weight", (lambda a: a.T) if transposed else None),
                self.param(in_b, f"{scope}.in_proj_bias") if in_b else None,
                self.param(out_w, f"{scope}.out_proj.weight"),
                self.param(out_b, f"{scope}.out_proj.bias") if out_b else None, int(heads)]
        before = len(self.fx.nodes)
        from engine.importing.aten import multi_head_self_attention

        value = self.call(multi_head_self_attention, *args)
        stack = _module_stack(run[0])
        for created in list(self.fx.nodes)[before:]:
            created.meta["nn_module_stack"] = {k: v for k, v in stack.items() if not k.startswith(scope)} | {
                scope: (scope, "torch.nn.modules.activation.MultiheadAttention")}
        self.values[outputs[0]] = value

    def bias_add(self, node: Any) -> Any:
        """The Add right after a MatMul that adds a 1-D weight vector: the bias of one Linear layer."""
        users = self.consumers.get(node.output[0], [])
        if len(users) != 1 or users[0].op_type != "Add":
            return None
        others = [i for i in users[0].input if i != node.output[0]]
        array = self.constants.get(others[0]) if len(others) == 1 else None
        if array is None or array.ndim != 1 or array.dtype.kind != "f":
            return None
        return users[0]

    def batch_size_of(self, name: str) -> fx.Node:
        """An int node reading the batch size of the tensor a shape value was computed from."""
        source = self.shape_sources.get(name)
        if source is None or source not in self.values:
            raise _Unsupported("a size computed from something other than an input's shape")
        return self.call(aten.sym_size.int, self.values[source], 0)

    def call(self, target: Any, *args: Any) -> fx.Node:
        return self.fx.call_function(target, args)

    def reshape_target(self, node: Any) -> list[int]:
        shape = self.shapes.get(node.output[0])
        if not shape or any(s is None for s in shape[1:]):
            raise _Unsupported("a reshape whose result has no known per-sample shape")
        return [-1, *shape[1:]]


BUFFER_NAMES = ("running_mean", "running_var")  # statistics, not learned: buffers, as in the source


def _set_parameter(root: nn.Module, path: str, value: torch.Tensor) -> None:
    *owners, leaf = path.split(".")
    module = root
    for part in owners:
        if not hasattr(module, part):
            module.add_module(part, nn.Module())
        module = getattr(module, part)
    if leaf in BUFFER_NAMES:
        module.register_buffer(leaf, value)
    else:
        module.register_parameter(leaf, nn.Parameter(value, requires_grad=False))


LAYER_OF_OP = {"Conv": "Conv", "Gemm": "Linear", "MatMul": "Linear", "LayerNormalization": "LayerNorm",
               "BatchNormalization": "BatchNorm"}


def _owner_path(name: str, node: Any) -> str:
    """The module owning a layer's weights: the node's own layer scope when its class fits the op
    (``...ln_2``, even where the exporter shared an equal initializer named ``...ln_1.weight``), else the
    initializer's name without its suffix (``layer1.0.conv1``), else the innermost scope."""
    scopes, classes = _scopes(node), _classes(node)
    kind = LAYER_OF_OP.get(node.op_type, "?")
    if len(scopes) >= 2 and len(classes) >= 2 and scopes[-2] and classes[-2].rsplit(".", 1)[-1].startswith(kind):
        return scopes[-2]
    for suffix in (".weight", ".bias", ".running_mean", ".running_var"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return scopes[-2] if len(scopes) >= 2 and scopes[-2] else re.sub(r"\W", "_", node.name)


def _classes(node: Any) -> list[str]:
    props = {p.key: p.value for p in node.metadata_props}
    try:
        return [str(c) for c in ast.literal_eval(props.get("pkg.torch.onnx.class_hierarchy", "[]"))]
    except (ValueError, SyntaxError):
        return []


def _scopes(node: Any) -> list[str]:
    props = {p.key: p.value for p in node.metadata_props}
    try:
        return list(ast.literal_eval(props.get("pkg.torch.onnx.name_scopes", "[]")))
    except (ValueError, SyntaxError):
        return []


INLINED_MODULE = "Block"  # the class of a module the exporter traced through without a scope of its own


def _module_stack(node: Any) -> dict[str, tuple[str, str]]:
    """The node's modules, outermost first. The exporter records no scope for a module it traced through
    (a `torch.fx.GraphModule`, as Layerloom's own blocks are: ``layer1.0.conv1`` sits directly in
    ``layer1``); each such ancestor of a recorded path is put back, so the tree follows the weights' names."""
    scopes, classes = _scopes(node), _classes(node)
    stack: dict[str, tuple[str, str]] = {}
    for scope, cls in zip(scopes[1:-1], classes[1:-1]):  # the root and the op itself are not modules
        parts = scope.split(".")
        for end in range(1, len(parts)):
            stack.setdefault(".".join(parts[:end]), (".".join(parts[:end]), INLINED_MODULE))
        stack[scope] = (scope, str(cls))
    return stack


def _attention_scope(node: Any) -> str | None:
    """The path of the nn.MultiheadAttention module `node` belongs to, if any."""
    for scope, cls in zip(_scopes(node), _classes(node)):
        if cls == "torch.nn.modules.activation.MultiheadAttention":
            return scope
    return None


def _scope_path(node: Any) -> str:
    scopes = [s for s in _scopes(node)[1:-1]]
    parts = scopes[-1].split(".") if scopes else []
    return " ▸ ".join([*parts, node.name]) if parts else node.name


def _value_shapes(model: Any) -> dict[str, tuple[int | None, ...]]:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # shape inference is a help, not a requirement
        inferred = model
    shapes: dict[str, tuple[int | None, ...]] = {}
    for info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return shapes


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


# ---- ONNX op -> ATen call ----------------------------------------------------------------
def import_onnx(path: Path, input_shapes: Sequence[tuple[int, ...]] | None, weights: str | Path | None,
                check: bool = True) -> Any:
    import onnx

    from engine.importing.exported import import_program

    if weights is not None:
        raise WeightsError("an ONNX file carries its own weights; --weights does not apply")
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise WeightsError(f"{path.name} is not a readable ONNX model ({str(exc)[:160]})") from None
    translator = OnnxTranslator(model)
    initializers = set(translator.constants)
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    module = translator.translate(inputs)
    if translator.unmapped:
        report = ImportReport(str(path), method="onnx")
        report.unmapped.extend(translator.unmapped)
        raise ImportFailed(report)
    reference = _onnxruntime_reference(path, inputs)
    result = import_program(module, str(path), input_shapes, check, method="onnx", reference=reference,
                            strict_keys=False)
    if check and reference is None:
        result.report.notes.append("onnxruntime is not installed: outputs were compared with the rewritten "
                                   "graph, not with the file run by onnxruntime")
    return result


class _OnnxRuntimeModule(nn.Module):
    """The ONNX file itself, run by onnxruntime: what the imported network is compared with."""

    def __init__(self, path: Path, inputs: list[str]) -> None:
        super().__init__()
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = inputs

    def forward(self, *xs: torch.Tensor) -> Any:
        feeds = {name: x.detach().cpu().numpy() for name, x in zip(self.inputs, xs)}
        outs = [torch.from_numpy(o) for o in self.session.run(None, feeds)]
        return outs[0] if len(outs) == 1 else tuple(outs)


def _onnxruntime_reference(path: Path, inputs: list[str]) -> nn.Module | None:
    try:
        return _OnnxRuntimeModule(path, inputs)
    except ImportError:
        return None
