"""Where dataset files are looked for.

Relative paths in dataset parameters are resolved against the base folder the
caller passes to `load_dataset` (normally the folder of the project file), else
against the current directory; ``~`` is expanded. Downloaded standard image
sets live in ``$LAYERLOOM_DATASETS`` or ``~/.cache/layerloom/datasets``.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.data.errors import DatasetError

CACHE_ENV = "LAYERLOOM_DATASETS"


def default_cache_root() -> Path:
    """The folder standard image sets are downloaded to and read from by default."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "layerloom" / "datasets"


def resolve(value: str, base: Path | None) -> Path:
    """Expand ``~`` and make `value` absolute against `base` (or the current directory)."""
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path.absolute()


def existing_file(value: str, base: Path | None, what: str) -> Path:
    """Resolve a file parameter, or raise `DatasetError` saying where it was looked for."""
    if not value:
        raise DatasetError(f"choose a {what} file (the path parameter is empty)")
    path = resolve(value, base)
    if path.is_dir():
        raise DatasetError(f"{path} is a folder, but a {what} file is needed")
    if not path.is_file():
        raise DatasetError(f"the {what} file {path} does not exist")
    return path


def existing_folder(value: str, base: Path | None, what: str) -> Path:
    """Resolve a folder parameter, or raise `DatasetError` saying where it was looked for."""
    if not value:
        raise DatasetError(f"choose a {what} folder (the path parameter is empty)")
    path = resolve(value, base)
    if path.is_file():
        raise DatasetError(f"{path} is a file, but a {what} folder is needed")
    if not path.is_dir():
        raise DatasetError(f"the {what} folder {path} does not exist")
    return path
