"""How the studio writes numbers for people: parameter counts and problem tallies."""

from __future__ import annotations


def format_count(n: int) -> str:
    """`61706` -> `61,706`; millions get one decimal: `2.4M`."""
    if n >= 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n:,}"


def plural(n: int, word: str) -> str:
    """`1 error`, `2 errors`."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def validity_text(errors: int, warnings: int) -> str:
    """`✓ valid`, `2 errors, 1 warning`, or `✓ valid, 1 warning`."""
    if not errors and not warnings:
        return "✓ valid"
    if not errors:
        return f"✓ valid, {plural(warnings, 'warning')}"
    parts = [plural(errors, "error")]
    if warnings:
        parts.append(plural(warnings, "warning"))
    return ", ".join(parts)
