"""The built-in layer declarations, one module per palette category."""

from __future__ import annotations

from engine.layers.spec import LayerSpec


def builtin_specs() -> list[LayerSpec]:
    """Every built-in layer declaration, in palette order."""
    from engine.layers.catalog import (
        activation,
        attention,
        conv,
        dense,
        io,
        merge,
        norm,
        pool,
        recurrent,
        reshape,
    )

    specs: list[LayerSpec] = []
    for module in (io, dense, conv, pool, norm, reshape, recurrent, attention, merge, activation):
        specs.extend(module.SPECS)
    return specs
