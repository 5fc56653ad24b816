"""Where Layerloom's bundled resources (examples, icons, styles) live on disk.

In a source checkout (and an editable install) they are the repository's top-level
``resources/`` folder; in an installed wheel they are the package data of
``layerloom_resources`` (setup.py maps that folder to that package). `RESOURCES` is
whichever applies, found without importing anything heavy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "layerloom_resources"


def _find_resources() -> Path:
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "resources" / "examples").is_dir():
        return checkout / "resources"  # this very tree's files, even when another copy is installed
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return checkout / "resources"  # neither: example_path names the folder it looked in


RESOURCES = _find_resources()
EXAMPLES = RESOURCES / "examples"


def example_path(name: str) -> Path:
    """The path of a bundled example project, e.g. ``example_path("lenet5")``."""
    path = EXAMPLES / f"{name}.loom"
    if not path.exists():
        available = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.loom"))) or "none"
        raise FileNotFoundError(f"no bundled example {name!r} in {EXAMPLES} (available: {available})")
    return path


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.loom"))
