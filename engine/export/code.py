"""Readable, standalone PyTorch code for a built network.

The generated file needs only torch: it holds the source of any Layerloom
module classes the network uses, one class per block definition it uses
(`engine.export.block_code`: block parameters as constructor arguments), then
one `nn.Module` class whose `__init__` creates each layer under its node id and
whose `forward` is the fx graph's code.
Each layer's constructor call is rebuilt from the module's own constructor
signature (``nn.Conv2d(in_channels=1, out_channels=6, kernel_size=(5, 5), ...)``,
only arguments that differ from their defaults) and checked by constructing it
and comparing its repr and parameter shapes; the whole file is then imported
afresh, given the weights, and compared with the network. A layer that cannot be
written as code raises `ExportError` naming it.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from engine.build import example_inputs
from engine.export.common import ExportError, max_difference
from engine.graph.document import GraphDocument
from engine.layers import modules as layer_modules

_SKIPPED_ARGS = {"self", "device", "dtype"}


def constructor_expression(module: nn.Module, used_custom: dict[str, type]) -> str:
    """Python source that constructs a module equal to `module` (weights aside)."""
    cls = type(module)
    if cls.__module__ == layer_modules.__name__:
        used_custom[cls.__name__] = cls
        prefix = ""
    elif cls.__module__.startswith("torch.nn") and getattr(nn, cls.__name__, None) is cls:
        prefix = "nn."
    else:
        raise ExportError(f"cannot write {cls.__module__}.{cls.__name__} as code")
    recorded: dict[str, Any] | None = getattr(module, "init_kwargs", None)
    if recorded is not None and prefix:  # a torch module whose builder recorded its arguments
        parts = [f"{k}={_literal(v, used_custom)}" for k, v in recorded.items()]
        expression = f"{prefix}{cls.__name__}({', '.join(parts)})"
        _check_expression(expression, module, used_custom)
        return expression
    parts = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in _SKIPPED_ARGS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = _argument_value(module, name, param, recorded)
        if value is _DEFAULT:
            continue
        if isinstance(value, tuple) and value and len(set(value)) == 1 and isinstance(value[0], int):
            value = value[0]  # torch.nn takes kernel_size=3 for (3, 3); the check below proves it
            if param.default is not inspect.Parameter.empty and _same(value, param.default):
                continue
        parts.append(f"{name}={_literal(value, used_custom)}")
    expression = f"{prefix}{cls.__name__}({', '.join(parts)})"
    _check_expression(expression, module, used_custom)
    return expression


def constructor_call(module: nn.Module, used_custom: dict[str, type]
                     ) -> tuple[str, list[tuple[str, Any]], dict[str, Any]]:
    """(callee, every constructor argument with its value, the defaults) of a module, for block classes."""
    cls = type(module)
    if cls.__module__ == layer_modules.__name__:
        used_custom[cls.__name__] = cls
        prefix = ""
    elif cls.__module__.startswith("torch.nn") and getattr(nn, cls.__name__, None) is cls:
        prefix = "nn."
    else:
        raise ExportError(f"cannot write {cls.__module__}.{cls.__name__} as code")
    recorded: dict[str, Any] | None = getattr(module, "init_kwargs", None)
    if recorded is not None and prefix:
        return f"{prefix}{cls.__name__}", list(recorded.items()), {}
    args: list[tuple[str, Any]] = []
    defaults: dict[str, Any] = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in _SKIPPED_ARGS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = _argument_value(module, name, param, recorded)
        if param.default is not inspect.Parameter.empty:
            defaults[name] = param.default
        if value is _DEFAULT:
            value = param.default
        if isinstance(value, tuple) and value and len(set(value)) == 1 and isinstance(value[0], int):
            value = value[0]
        args.append((name, value))
    return f"{prefix}{cls.__name__}", args, defaults


class _Default:
    pass


_DEFAULT = _Default()


def _argument_value(module: nn.Module, name: str, param: inspect.Parameter,
                    recorded: dict[str, Any] | None) -> Any:
    if recorded is not None:
        value = recorded.get(name, _DEFAULT)
    elif name == "bias" and not isinstance(getattr(module, "bias", None), bool):
        value = getattr(module, "bias", None) is not None
    elif hasattr(module, name):
        value = getattr(module, name)
    else:
        value = _DEFAULT
    if value is _DEFAULT:
        if param.default is inspect.Parameter.empty:
            raise ExportError(f"cannot write {type(module).__name__} as code: argument {name!r} is unknown")
        return _DEFAULT
    if param.default is not inspect.Parameter.empty and _same(value, param.default):
        return _DEFAULT
    return value


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _literal(value: Any, used_custom: dict[str, type]) -> str:
    if isinstance(value, nn.Module):
        return constructor_expression(value, used_custom)
    if isinstance(value, (bool, int, float, str, type(None))):
        return repr(value)
    if isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return repr(value)
    raise ExportError(f"cannot write the value {value!r} as code")


def _check_expression(expression: str, module: nn.Module, used_custom: dict[str, type]) -> None:
    namespace = {"nn": nn, "torch": torch, **used_custom}
    rebuilt = eval(expression, namespace)  # our own generated text, never file content
    if repr(rebuilt) != repr(module) or _shapes(rebuilt) != _shapes(module):
        raise ExportError(f"cannot write {type(module).__name__} as code: {expression} differs from it")


def _shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _custom_sources(classes: dict[str, type]) -> list[str]:
    """Source of the Layerloom module classes used, with the module-level functions they call."""
    helpers: list[str] = []
    sources: list[str] = []
    for cls in classes.values():
        for attr in vars(cls).values():
            code = getattr(inspect.unwrap(attr), "__code__", None) if callable(attr) else None
            for name in code.co_names if code else ():
                helper = getattr(layer_modules, name, None)
                if inspect.isfunction(helper) and helper.__module__ == layer_modules.__name__:
                    source = inspect.getsource(helper)
                    if source not in helpers:
                        helpers.append(source)
        sources.append(_strip_recording(inspect.getsource(cls)))
    return helpers + sources


def _strip_recording(source: str) -> str:
    """Drop Layerloom's constructor-recording base from a class header (not needed standalone)."""
    return source.replace(", RecordsInit)", ")").replace("(RecordsInit, ", "(")


def generate_code(module: fx.GraphModule, doc: GraphDocument, class_name: str = "Network") -> str:
    from engine.export.block_code import BlockClasses

    used: dict[str, type] = {}
    blocks = BlockClasses(doc, module, used) if len(doc.library) else None
    while class_name in doc.library or class_name in vars(layer_modules):
        class_name = f"{class_name}Network"
    init_lines = [
        f"        self.{name} = "
        + (blocks.expression(name) if blocks and name in blocks.top else constructor_expression(child, used))
        for name, child in module.named_children()
    ]
    # fx frees each value as soon as it is used ("x = None"): needless in code meant for reading
    forward = re.sub(r";\s+(\w+\s*=\s*)+None(?=\n|$)", "", textwrap.dedent(module.code).strip("\n"))
    forward = textwrap.indent(forward, "    ")
    title = getattr(doc, "name", None) or class_name
    header = (
        f'"""{title}: a network exported by Layerloom as plain PyTorch.\n\n'
        f"Load weights with `model.load_state_dict(safetensors.torch.load_file(...))`; the keys are\n"
        f'the node names (e.g. "{next(iter(module.state_dict()), "fc1.weight")}").\n"""\n\n'
        "import torch\nfrom torch import nn\n"
    )
    body = [header]
    body.extend("\n\n" + source.rstrip() + "\n" for source in _custom_sources(used))
    body.extend("\n\n" + source.rstrip() + "\n" for source in (blocks.sources() if blocks else []))
    body.append(
        f"\n\nclass {class_name}(nn.Module):\n"
        '    """The network; each submodule is named after its node."""\n\n'
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n" + "\n".join(init_lines) + "\n\n" + forward + "\n"
    )
    text = "".join(body)
    return text.replace("\n\n\n\n", "\n\n\n")


def check_generated_code(path: Path, module: fx.GraphModule, doc: GraphDocument) -> float:
    """Import the generated file afresh, load the weights, and compare outputs."""
    name = f"_layerloom_export_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    generated = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(generated)
    except Exception as exc:
        raise ExportError(f"the generated code does not run: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
    classes = [v for v in vars(generated).values()
               if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == name]
    try:
        model = classes[-1]()
        model.load_state_dict(module.state_dict())
    except Exception as exc:
        raise ExportError(f"the generated code does not build the network: {type(exc).__name__}: {exc}") from exc
    model.eval()
    check = example_inputs(doc, batch=3, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return max_difference(module(*check), model(*check), "the generated code")
