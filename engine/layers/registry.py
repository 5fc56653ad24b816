"""The layer registry: type id -> `LayerSpec`.

Built-in layers are declared in `engine.layers.catalog`; a separate package adds
its own by exposing, in the entry-point group ``layerloom.layers``, either a
`LayerSpec` or a callable returning an iterable of them. Registering two specs
with the same type id is an error, so a plug-in can never silently replace a
built-in layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import metadata

from engine.layers.spec import LayerSpec

ENTRY_POINT_GROUP = "layerloom.layers"


class DuplicateLayerError(ValueError):
    """A layer type id was registered twice."""


class UnknownLayerError(KeyError):
    """No layer type has this id."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown layer type"


class LayerRegistry:
    """An ordered mapping of type id to layer declaration."""

    def __init__(self, specs: Iterable[LayerSpec] = ()) -> None:
        self._specs: dict[str, LayerSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: LayerSpec) -> None:
        if spec.type_id in self._specs:
            raise DuplicateLayerError(f"layer type {spec.type_id!r} is already registered")
        if not spec.type_id.isidentifier():
            raise ValueError(f"layer type id {spec.type_id!r} must be a Python identifier")
        self._specs[spec.type_id] = spec

    def get(self, type_id: str) -> LayerSpec:
        try:
            return self._specs[type_id]
        except KeyError:
            raise UnknownLayerError(f"unknown layer type {type_id!r}") from None

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._specs

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def categories(self) -> dict[str, list[LayerSpec]]:
        """Specs grouped by category, in declaration order."""
        groups: dict[str, list[LayerSpec]] = {}
        for spec in self._specs.values():
            groups.setdefault(spec.category, []).append(spec)
        return groups

    def load_entry_points(self) -> None:
        """Register layers that installed packages expose in ``layerloom.layers``."""
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            provided = entry.load()
            if isinstance(provided, LayerSpec):
                self.register(provided)
                continue
            specs = provided() if callable(provided) else provided
            for spec in specs:
                self.register(spec)


_default: LayerRegistry | None = None


def default_registry() -> LayerRegistry:
    """The process-wide registry: built-in layers plus installed plug-ins."""
    global _default
    if _default is None:
        from engine.layers.catalog import builtin_specs

        registry = LayerRegistry(builtin_specs())
        registry.load_entry_points()
        _default = registry
    return _default
