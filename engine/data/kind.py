"""The declaration of a dataset kind: identity, parameter schema and loader.

One `DatasetKindInfo` per kind holds everything the rest of Layerloom needs: the
kind id stored in projects, a title, a group and a description for the GUI's
dataset picker, a parameter schema made of the same `Param` records the layer
inspector already turns into widgets, which parameters name files or folders
(so a form can offer a browse button), and the loader function.

A loader receives the parameters already checked and filled with defaults, the
seed, and the base folder that relative paths are resolved against; it returns
a `SourceData` or raises `DatasetError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.data.source import SourceData
from engine.layers.params import to_json
from engine.layers.spec import Param

GENERATED = "Generated"
IMAGE_SETS = "Standard image sets"
FILES = "Your files"

Loader = Callable[[Mapping[str, Any], int, Path | None], SourceData]


@dataclass(frozen=True)
class DatasetKindInfo:
    """Everything about one dataset kind."""

    kind: str
    title: str
    group: str
    description: str
    params: tuple[Param, ...]
    load: Loader
    paths: Mapping[str, str] = field(default_factory=dict)  # param name -> "file" | "folder"

    def defaults(self) -> dict[str, Any]:
        """The parameters a new dataset of this kind starts with."""
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.kind} has no parameter {name!r}")

    def to_json(self) -> dict[str, Any]:
        """The schema as plain data (for a form, a CLI listing or documentation)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "group": self.group,
            "description": self.description,
            "params": [
                {"name": p.name, "type": p.kind, "default": to_json(p.default), "help": p.help,
                 "minimum": p.minimum, "maximum": p.maximum, "choices": list(p.choices),
                 "path": self.paths.get(p.name)}
                for p in self.params
            ],
        }
