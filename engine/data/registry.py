"""The table of dataset kinds and the checking of their parameters.

`dataset_kinds()` lists every kind (for the GUI's dataset picker and forms);
`kind_info()` finds one by id; `resolve_params()` checks a parameter dict
against a kind's schema and fills in defaults, raising `DatasetError` for an
unknown kind, an unknown parameter or a value that does not fit. Adding a kind
means writing its module with a ``KINDS`` list and naming it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.data import (
    colour_shapes,
    image_folder,
    sequences,
    shapes,
    synthetic_points,
    tabular,
    torchvision_sets,
)
from engine.data.errors import DatasetError
from engine.data.kind import DatasetKindInfo
from engine.layers.params import ParamError, coerce_param

_MODULES = (synthetic_points, shapes, colour_shapes, sequences, torchvision_sets, tabular, image_folder)


def _table() -> dict[str, DatasetKindInfo]:
    table: dict[str, DatasetKindInfo] = {}
    for module in _MODULES:
        for info in module.KINDS:
            if info.kind in table:
                raise ValueError(f"dataset kind {info.kind!r} is declared twice")
            table[info.kind] = info
    return table


_KINDS = _table()


def dataset_kinds() -> list[DatasetKindInfo]:
    """Every dataset kind, in the order a picker should show them."""
    return list(_KINDS.values())


def kind_info(kind: str) -> DatasetKindInfo:
    """The declaration of one kind, or a `DatasetError` listing the known kinds."""
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise DatasetError(f"unknown dataset kind {kind!r}; choose one of {', '.join(_KINDS)}") from None


def resolve_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` checked against the kind's schema, with defaults for the ones left out."""
    info = kind_info(kind)
    known = [p.name for p in info.params]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise DatasetError(f"the {info.title} dataset has no parameter {', '.join(map(repr, unknown))}; "
                           f"its parameters are {', '.join(known) or 'none'}")
    resolved = info.defaults()
    for p in info.params:
        if p.name in params:
            try:
                resolved[p.name] = coerce_param(p, params[p.name])
            except ParamError as err:
                raise DatasetError(f"{info.title} dataset: {err}") from None
    return resolved
