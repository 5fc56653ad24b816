"""Checking and normalising parameter values against a layer's schema.

`coerce_param` turns a value that came from the user, a JSON file or Python code
into the canonical form stored in the document (tuples, not lists; ints, not
floats that happen to be whole) or raises `ParamError` with a message a person
can act on. It never imports torch.
"""

from __future__ import annotations

from typing import Any

from engine.layers.spec import LayerSpec, Param

PADDING_WORDS = ("same", "valid")


class ParamError(ValueError):
    """A parameter value does not fit its schema."""


def _as_int(param: Param, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"{param.name} must be a whole number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ParamError(f"{param.name} must be a whole number, got {value!r}")
    return int(value)


def _check_range(param: Param, value: float, label: str | None = None) -> None:
    label = label or param.name
    if param.minimum is not None and value < param.minimum:
        raise ParamError(f"{label} must be at least {_fmt(param.minimum)}, got {_fmt(value)}")
    if param.maximum is not None and value > param.maximum:
        raise ParamError(f"{label} must be at most {_fmt(param.maximum)}, got {_fmt(value)}")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _int_list(param: Param, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise ParamError(f"{param.name} must be a list of whole numbers, got {value!r}")
    items = tuple(_as_int(param, v) for v in value)
    for v in items:
        _check_range(param, v)
    return items


def coerce_param(param: Param, value: Any) -> Any:
    """Return `value` in canonical form for `param`, or raise `ParamError`."""
    if value is None:
        if param.optional:
            return None
        raise ParamError(f"{param.name} needs a value")
    kind = param.kind
    if kind == "int":
        v = _as_int(param, value)
        _check_range(param, v)
        return v
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"{param.name} must be a number, got {value!r}")
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise ParamError(f"{param.name} must be a finite number")
        _check_range(param, v)
        return v
    if kind == "bool":
        if not isinstance(value, bool):
            raise ParamError(f"{param.name} must be true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ParamError(f"{param.name} must be text, got {value!r}")
        return value
    if kind == "choice":
        if value not in param.choices:
            raise ParamError(f"{param.name} must be one of {', '.join(param.choices)}; got {value!r}")
        return value
    if kind == "ints":
        items = _int_list(param, value)
        if param.length is not None and len(items) != param.length:
            raise ParamError(f"{param.name} needs exactly {param.length} numbers, got {len(items)}")
        if not 1 <= len(items) <= 8:
            raise ParamError(f"{param.name} needs between 1 and 8 numbers, got {len(items)}")
        return items
    if kind in ("int_pair", "padding"):
        if kind == "padding" and isinstance(value, str):
            if value not in PADDING_WORDS:
                raise ParamError(f"{param.name} must be a number, a pair, 'same' or 'valid'; got {value!r}")
            return value
        if isinstance(value, (list, tuple)):
            items = _int_list(param, value)
            if len(items) != 2:
                raise ParamError(f"{param.name} must be one number or a pair, got {len(items)} numbers")
            return items
        v = _as_int(param, value)
        _check_range(param, v)
        return v
    raise ParamError(f"unknown parameter kind {kind!r} for {param.name}")


def coerce_params(spec: LayerSpec, values: dict[str, Any], *, fill_defaults: bool = True) -> dict[str, Any]:
    """Check a whole parameter dict against `spec`; unknown names are an error."""
    known = {p.name for p in spec.params}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParamError(f"{spec.type_id} has no parameter {', '.join(map(repr, unknown))}")
    result: dict[str, Any] = {}
    for p in spec.params:
        if p.name in values:
            result[p.name] = coerce_param(p, values[p.name])
        elif fill_defaults:
            result[p.name] = p.default
    return result


def pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    """Expand an int-or-pair parameter to a pair."""
    if isinstance(value, tuple):
        return (value[0], value[1])
    return (value, value)


def to_json(value: Any) -> Any:
    """The JSON form of a canonical parameter value (tuples become lists)."""
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    return value
