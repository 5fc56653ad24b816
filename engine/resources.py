"""Where Layerloom's bundled resources (examples, icons, styles) live on disk."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = RESOURCES / "examples"


def example_path(name: str) -> Path:
    """The path of a bundled example project, e.g. ``example_path("lenet5")``."""
    path = EXAMPLES / f"{name}.loom"
    if not path.exists():
        available = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.loom"))) or "none"
        raise FileNotFoundError(f"no bundled example {name!r} (available: {available})")
    return path


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.loom"))
