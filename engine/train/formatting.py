"""How numbers of a run are written for people: durations and metrics. No torch, no Qt.

Shared by the CLI's progress lines and summary and by the studio's status bar and panels, so a
duration or an accuracy reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

PERCENT_METRICS = ("accuracy", "top_k")


def format_duration(seconds: float) -> str:
    """``1:05`` or ``2:03:04`` for a number of seconds."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_metric(key: str, value: float) -> str:
    """One metric value: accuracies as percentages, the rest with 4 significant digits."""
    return f"{value * 100:.1f}%" if key.endswith(PERCENT_METRICS) else f"{value:.4g}"


def format_metrics(metrics: Mapping[str, float], prefix: str = "") -> str:
    """``loss 0.1234  accuracy 97.5%`` for a metrics dict."""
    return "  ".join(f"{prefix}{key} {format_metric(key, value)}" for key, value in metrics.items())
