"""What can be imported, named the way a user names it, and the project an import becomes.

A source is one of:

- ``torchvision:NAME`` — a torchvision model built without downloading weights;
- ``package.module:NAME`` or ``path/to/file.py:NAME`` — an `nn.Module` instance,
  class or factory function there, called with the given keyword arguments
  (this runs that Python code: it is the user's own model definition);
- ``FILE.pt2`` — a saved `torch.export` program, read with weights-only loading;
- ``FILE.onnx`` — an ONNX model.

`import_source` returns the checked `ImportResult` (or raises `ImportFailed`
with the report); `import_project` wraps it into a `Project` whose initial
weights are the source's (or a given weights file's).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from engine.importing.importer import ImportResult, import_module
from engine.importing.report import ImportFailed, ImportReport
from engine.importing.weights import INITIAL_WEIGHTS, WeightsError, load_into, read_weights, weights_bytes
from engine.project import Project


class SourceError(ValueError):
    """The source cannot be found or loaded."""


def parse_kwargs(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings as keyword arguments; values are Python literals, else text."""
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SourceError(f"a keyword argument is written key=value, got {item!r}")
        try:
            kwargs[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = raw
    return kwargs


def load_module(source: str, kwargs: Mapping[str, Any] | None = None) -> tuple[nn.Module, tuple[int, ...] | None]:
    """The `nn.Module` a source names, and its natural input shape where one is known."""
    kwargs = dict(kwargs or {})
    prefix, sep, name = source.rpartition(":")
    if not sep or not name or not prefix:
        raise SourceError(f"{source!r}: name a model as torchvision:NAME, package.module:NAME, "
                          "path/to/file.py:NAME, or give a .pt2 or .onnx file")
    if prefix == "torchvision":
        import torchvision

        try:
            module = torchvision.models.get_model(name, weights=None, **kwargs)
        except ValueError as exc:
            raise SourceError(f"torchvision has no model {name!r} ({exc})") from None
        size = int(getattr(module, "image_size", 299 if name.startswith("inception") else 224))
        return module, (3, size, size)
    target = _python_object(prefix, name)
    if isinstance(target, nn.Module):
        if kwargs:
            raise SourceError(f"{source} is a module instance: it takes no keyword arguments")
        return target, None
    if not callable(target):
        raise SourceError(f"{source} is neither an nn.Module nor a class or function that makes one")
    try:
        module = target(**kwargs)
    except TypeError as exc:
        raise SourceError(f"calling {source} failed: {exc}") from None
    if not isinstance(module, nn.Module):
        raise SourceError(f"{source} returned {type(module).__name__}, not an nn.Module")
    return module, None


def _python_object(prefix: str, name: str) -> Any:
    if prefix.endswith(".py"):
        path = Path(prefix)
        if not path.is_file():
            raise SourceError(f"{prefix}: no such Python file")
        module_name = f"layerloom_import_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise SourceError(f"{prefix} cannot be loaded as Python")
        code = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = code  # dataclasses and pickling look classes up here
        spec.loader.exec_module(code)
    else:
        try:
            code = importlib.import_module(prefix)
        except ImportError as exc:
            raise SourceError(f"cannot import {prefix}: {exc}") from None
    target = code
    for part in name.split("."):
        if not hasattr(target, part):
            raise SourceError(f"{prefix} has no {name!r}")
        target = getattr(target, part)
    return target


def import_source(source: str, kwargs: Mapping[str, Any] | None = None,
                  input_shapes: Sequence[tuple[int, ...]] | None = None,
                  weights: str | Path | None = None, check: bool = True) -> ImportResult:
    """Import a named source; `weights` (a file) replaces the source's own weights first."""
    text = str(source)
    if text.endswith(".onnx"):
        from engine.importing.onnx_source import import_onnx

        return import_onnx(Path(text), input_shapes, weights, check)
    if text.endswith(".pt2"):
        from engine.importing.exported import import_pt2

        return import_pt2(Path(text), input_shapes, weights, check)
    module, natural = load_module(text, kwargs)
    shapes = list(input_shapes or ([natural] if natural else []))
    if not shapes:
        raise SourceError(f"{text}: say what one input sample looks like with --input-shape "
                          "(for example 3,224,224 for a colour image, without the batch)")
    if weights is not None:
        try:
            load_into(module, read_weights(weights), Path(weights).name)
        except WeightsError as exc:
            report = ImportReport(text)
            report.problems.append(str(exc))
            raise ImportFailed(report) from None
    return import_module(module, shapes, source=text, check=check)


def project_from_import(result: ImportResult, name: str, with_weights: bool = True) -> Project:
    """A project holding the imported network, with the source's weights as its initial weights."""
    project = Project(result.doc, name=name)
    if with_weights and result.state_dict:
        project.attachments[INITIAL_WEIGHTS] = weights_bytes(result.state_dict)
    return project


__all__ = [
    "ImportFailed",
    "SourceError",
    "WeightsError",
    "import_source",
    "load_module",
    "parse_kwargs",
    "project_from_import",
]
