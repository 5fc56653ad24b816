"""Colours for training health on the canvas: gradient norms and dead-unit fractions. Plain Python.

Gradient norms are compared on a log scale across the network's nodes: the weakest gradient is
blue, the strongest red (a range under one decade is widened, so a healthy network is mostly
green). Dead-unit fractions (ReLU outputs that are zero for every probe sample) run from green
(none) through amber (half) to red (all).
"""

from __future__ import annotations

import math

GRAD_STOPS = ("#3b82f6", "#22c55e", "#f59e0b", "#ef4444")
DEAD_STOPS = ("#22c55e", "#f59e0b", "#ef4444")
NAN_COLOR = "#dc2626"
MIN_DECADES = 1.0
FLOOR = 1e-12


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def interpolate(stops: tuple[str, ...], t: float) -> str:
    """The colour at `t` in [0, 1] along evenly spaced `stops`, as ``#rrggbb``."""
    t = min(max(t if math.isfinite(t) else 1.0, 0.0), 1.0)
    position = t * (len(stops) - 1)
    i = min(int(position), len(stops) - 2)
    f = position - i
    a, b = _rgb(stops[i]), _rgb(stops[i + 1])
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(a, b))
    return f"#{r:02x}{g:02x}{bl:02x}"


def grad_positions(norms: dict[str, float]) -> dict[str, float]:
    """Each node's place in [0, 1] between the weakest and strongest gradient (log scale)."""
    logs = {n: math.log10(max(v, FLOOR)) if math.isfinite(v) else math.inf for n, v in norms.items()}
    finite = [v for v in logs.values() if math.isfinite(v)]
    if not finite:
        return {n: 1.0 for n in logs}
    lo, hi = min(finite), max(finite)
    if hi - lo < MIN_DECADES:
        middle = (hi + lo) / 2
        lo, hi = middle - MIN_DECADES / 2, middle + MIN_DECADES / 2
    return {n: 1.0 if not math.isfinite(v) else (v - lo) / (hi - lo) for n, v in logs.items()}


def grad_colors(norms: dict[str, float]) -> dict[str, str]:
    """A colour per node for its gradient norm."""
    return {n: interpolate(GRAD_STOPS, t) for n, t in grad_positions(norms).items()}


def dead_color(fraction: float) -> str:
    """The colour of a dead-unit fraction in [0, 1]."""
    return interpolate(DEAD_STOPS, fraction)


def norm_text(value: float) -> str:
    return "∇ inf" if not math.isfinite(value) else f"∇ {value:.2g}"
