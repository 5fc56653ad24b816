"""Can this dataset be loaded here and now? A quick check for readiness messages, without loading it.

`dataset_availability(dataset_json, base)` checks a project's dataset section the way loading
would, but only as far as it is cheap: the settings and the kind's parameters, the files and
folders its parameters name, and, for the standard image sets, whether their files are on this
machine or will be downloaded (which needs an internet connection). Generated kinds are always
available. It never reads dataset files, so the studio may call it on every edit; it raises
nothing: the answer is a `DatasetAvailability` whose message is meant for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DatasetAvailability:
    """Whether training could load the dataset, and what to tell the user about it."""

    ready: bool
    message: str = ""  # why it is not ready, or a note (such as a coming download) when it is
    needs_download: bool = False


def dataset_availability(dataset_json: Any, base: Path | None = None) -> DatasetAvailability:
    """Check a dataset section (as stored in a project) against this machine; never raises."""
    from engine.data.config import DatasetConfig
    from engine.data.errors import DatasetError
    from engine.data.paths import existing_file, existing_folder
    from engine.data.registry import kind_info
    from engine.data.torchvision_sets import DOWNLOAD_SIZES, local_files, missing_files_error

    if not dataset_json:
        return DatasetAvailability(False, "the project has no dataset: choose one in the Dataset panel")
    try:
        config = DatasetConfig.from_json(dataset_json)
        params = config.validate()
        info = kind_info(config.kind)
        for name, what in info.paths.items():
            if name == "root" or not isinstance(params.get(name), str):
                continue  # a standard set's root may be empty (the cache folder) and is checked below
            check = existing_file if what == "file" else existing_folder
            check(params[name], base, f"{info.title} {name}")
        if config.kind in DOWNLOAD_SIZES:
            error = missing_files_error(config.kind, params, base)
            if error is not None:
                raise error
            folder, missing = local_files(config.kind, params, base)
            if missing:
                return DatasetAvailability(
                    True, f"{info.title} is not on this machine yet: about {DOWNLOAD_SIZES[config.kind]} will "
                    f"be downloaded into {folder} when training starts (this needs an internet connection)",
                    needs_download=True)
    except DatasetError as exc:
        return DatasetAvailability(False, str(exc))
    return DatasetAvailability(True)
