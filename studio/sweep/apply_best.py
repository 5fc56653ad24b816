"""A trial's parameters as undo commands on the open project: "Apply best trial" is one undo step.

The engine says what a trial's parameters mean (`engine.sweep.apply_params(document, settings,
params)` returns a changed copy of the network and the training settings and never touches the
ones it is given). `commands_for(project, network, settings)` compares that copy with the open
project, node by node in the network and in every block definition's body, and returns one
`SetParamCommand` per changed parameter and one `SetSectionCommand` for changed settings: the
same commands the inspector and the Training panel push, so the canvas, inspector and forms follow
as they do for any edit. The caller pushes them as one macro (`Workspace.push(..., text=...)`),
which one Ctrl+Z undoes. A copy whose nodes differ from the project's (another network) is
refused with `ApplyError`: applying it would not be a parameter change.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph.document import GraphDocument
from engine.project import Project
from studio.editor.commands import SetParamCommand
from studio.training.project_commands import SetSectionCommand


class ApplyError(ValueError):
    """The trial's parameters cannot be applied to the open project."""


def _documents(network: GraphDocument) -> Iterator[tuple[str, GraphDocument]]:
    """The network, then each block definition's body, named ("" for the network)."""
    yield "", network
    for definition in network.library:
        yield definition.name, definition.body


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def param_commands(current: GraphDocument, changed: GraphDocument) -> list[QUndoCommand]:
    """One SetParamCommand per parameter that differs between the open network and its changed copy."""
    bodies = dict(_documents(changed))
    commands: list[QUndoCommand] = []
    for name, doc in _documents(current):
        other = bodies.get(name)
        if other is None or set(other.nodes) != set(doc.nodes):
            where = f"block {name!r}" if name else "the network"
            raise ApplyError(f"the trial's network differs from the open project's in {where} (nodes added or "
                             "removed): it was made for another network")
        for node_id, node in doc.nodes.items():
            new_params = other.nodes[node_id].params
            for key in dict.fromkeys([*node.params, *new_params]):
                if key in new_params and not _same(node.params.get(key), new_params[key]):
                    commands.append(SetParamCommand(doc, node_id, key, new_params[key]))
    return commands


def commands_for(project: Project, network: GraphDocument, training: dict[str, Any]) -> list[QUndoCommand]:
    """The undo commands that make the open `project` use the changed `network` and `training` settings."""
    commands = param_commands(project.network, network)
    if training != project.training:
        commands.append(SetSectionCommand(project, "training", copy.deepcopy(training), "Training settings"))
    return commands
