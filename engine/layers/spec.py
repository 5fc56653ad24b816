"""The declaration of a layer type: everything the rest of Layerloom knows about it.

One `LayerSpec` per layer type holds its identity (type id, title, category, help),
its parameter schema, its ports, a pure-Python shape rule, a pure-Python
parameter-count rule and a torch builder. The palette, the inspector, validation,
shape inference, build and code export all read this one declaration.

Shape rules and parameter-count rules never import torch: they run on every edit
in the GUI and must take microseconds. Builders import torch lazily, inside the
function, so that importing the catalog stays cheap.

Shapes never include the batch dimension: a 28x28 grey image is `(1, 28, 28)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FLOAT = "float32"
LONG = "int64"


@dataclass(frozen=True)
class TensorSpec:
    """The shape (without batch) and dtype of a tensor on a wire."""

    shape: tuple[int, ...]
    dtype: str = FLOAT

    def label(self) -> str:
        """A short human label, batch shown as N: ``N×1×28×28``."""
        return "×".join(["N", *(str(s) for s in self.shape)])

    @property
    def numel(self) -> int:
        total = 1
        for s in self.shape:
            total *= s
        return total


@dataclass(frozen=True)
class Fix:
    """A suggested repair: insert an adapter layer on the wire from `source` to `target`."""

    description: str
    insert_type: str
    source: str
    target: str
    target_port: str = "in"
    params: Mapping[str, Any] = field(default_factory=dict)


class ShapeError(Exception):
    """Raised by a shape rule when the inputs do not fit; carries an optional fix."""

    def __init__(self, message: str, fix_type: str | None = None,
                 fix_params: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.fix_type = fix_type
        self.fix_params = dict(fix_params or {})


@dataclass(frozen=True)
class Param:
    """One entry in a layer's parameter schema.

    Kinds:
      - ``int``, ``float``, ``bool``, ``str``: plain scalars (``minimum``/``maximum`` bound numbers).
      - ``choice``: one of ``choices``.
      - ``ints``: a tuple of ints; ``length`` fixes its length, else 1..8 entries.
      - ``int_pair``: an int or a pair of ints (kernel, stride, dilation); kept as given.
      - ``padding``: like ``int_pair`` but also ``"same"`` or ``"valid"``.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    length: int | None = None
    optional: bool = False  # None is an allowed value (e.g. LayerNorm's normalized_shape = inferred)


@dataclass(frozen=True)
class Port:
    """An input or output port. `multi` inputs accept several wires, in wire order."""

    name: str
    multi: bool = False
    min_inputs: int = 1


InferRule = Callable[[Mapping[str, Any], Sequence[TensorSpec]], TensorSpec]
CountRule = Callable[[Mapping[str, Any], Sequence[TensorSpec]], int]
BuildRule = Callable[[Mapping[str, Any], Sequence[TensorSpec]], Any]


def _no_params(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> int:
    return 0


@dataclass(frozen=True)
class LayerSpec:
    """The one declaration of a layer type."""

    type_id: str
    title: str
    category: str
    help: str
    params: tuple[Param, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    infer: InferRule
    build: BuildRule | None
    count_params: CountRule = _no_params
    key_params: tuple[str, ...] = ()
    name_prefix: str = ""
    init_choices: tuple[str, ...] = ()

    @property
    def is_input(self) -> bool:
        return not self.inputs

    @property
    def is_output(self) -> bool:
        return not self.outputs

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.type_id} has no parameter {name!r}")

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def input_port(self, name: str) -> Port:
        for p in self.inputs:
            if p.name == name:
                return p
        raise KeyError(name)

    def output_port(self, name: str) -> Port:
        for p in self.outputs:
            if p.name == name:
                return p
        raise KeyError(name)
