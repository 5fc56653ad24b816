"""The built-in layer declarations, one module per palette category."""

from __future__ import annotations

from engine.layers.spec import LayerSpec


def builtin_specs() -> list[LayerSpec]:
    """Every built-in layer declaration, in palette order."""
    from engine.layers.catalog import (
        activation,
        arithmetic,
        attention,
        conv,
        dense,
        generative,
        io,
        merge,
        norm,
        pool,
        recurrent,
        resample,
        reshape,
    )

    specs: list[LayerSpec] = [*io.SPECS, *generative.INPUT_SPECS]
    for module in (dense, conv, pool, resample, norm, reshape, recurrent, attention, merge, arithmetic,
                   activation, generative):
        specs.extend(module.SPECS)
    return specs
