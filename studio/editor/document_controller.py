"""The editing controller: the only way the studio changes a document.

A `DocumentController` owns one open project: its `GraphDocument`, the
`DocumentBridge` that turns the document's events into Qt signals, a
`QUndoStack`, and a `NetworkAnalyzer`. Canvas items, the palette, the inspector
and the problems panel never write the document; they call a method here, which
checks the change first (so a refused change leaves the document untouched and
returns the reason) and then pushes undo commands: one command, or one macro for
a gesture that makes several changes.

After any document event the controller re-analyses the network on a 0 ms
single-shot timer, so a macro of many changes triggers one analysis, and emits
`analysis_changed`. Refusals and hints go out through `status_message`.

Read-only mode lives here, and only here: `set_editable(False, reason)` (a run
trains this network) makes every method that changes the project refuse with
`reason` and leave the document untouched. Those methods are marked with
`@_edits`, the one place the rule is checked; a test walks the class so a new
mutator cannot forget it. `editable_changed(bool)` is the one signal the editing
widgets (canvas, palette, inspector, problems, edit actions) follow.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.block_catalog import BUNDLED_BLOCKS, bundled_title, install_bundled
from engine.graph import block_file, hierarchy
from engine.graph.analysis import Analysis, NetworkAnalyzer
from engine.graph.block_inference import body_analysis
from engine.graph.document import Edge, GraphDocument
from engine.graph.errors import DocumentError
from engine.graph.hierarchy import Step
from engine.layers.params import ParamError, coerce_param
from engine.layers.spec import Fix
from engine.project import Project
from studio.editor import clipboard
from studio.editor.auto_layout import layered_layout
from studio.editor.block_commands import StepCommand
from studio.editor.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    RemoveNodeCommand,
    RenameCommand,
    SetFrozenCommand,
    SetParamCommand,
    wire_text,
)
from studio.editor.document_bridge import DocumentBridge
from studio.editor.insert_room import place_after

Position = tuple[float, float]
Method = TypeVar("Method", bound=Callable[..., Any])
_REASON = object()  # a refused method returns the reason, as it does for a refused value


def _edits(refused: Any = _REASON) -> Callable[[Method], Method]:
    """Mark a method that changes the project: while read-only it refuses (status message) and
    returns `refused` (by default the reason) without running."""

    def mark(method: Method) -> Method:
        @functools.wraps(method)
        def guarded(self: DocumentController, *args: Any, **kwargs: Any) -> Any:
            if not self._editable:
                reason = self._refuse(self.read_only_reason)
                return reason if refused is _REASON else copy.copy(refused)
            return method(self, *args, **kwargs)

        guarded.edits_project = True  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return mark


READ_ONLY_REASON = "The network is read-only"


class DocumentController(QObject):
    """Checked, undoable edits of one project's network, and its live analysis."""

    analysis_changed = Signal(object)  # Analysis of the whole network
    level_analysis_changed = Signal(object)  # Analysis of the document shown (a block's body when one is open)
    level_changed = Signal()  # a block was opened or left: `doc` is another document
    status_message = Signal(str)
    editable_changed = Signal(bool)

    def __init__(self, project: Project, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.network: GraphDocument = project.network
        self.doc: GraphDocument = project.network  # the document shown and edited: a block's body when open
        self.block_path: list[str] = []  # the open block: instance ids from the network down
        self.path = path
        self.bridge = DocumentBridge(self.doc, self)  # follows `doc`
        self._network_bridge = DocumentBridge(self.network, self)  # any change anywhere (bodies included)
        self.undo_stack = QUndoStack(self)
        self.analyzer = NetworkAnalyzer(self.network)
        self.analysis: Analysis = self.analyzer.analyze()
        self.level_analysis: Analysis = self.analysis
        # Inside an open block: the values its instance binds onto inner parameters (copy 0), and which
        # block parameter sets each, {(node id, key): "channels of layer2"}.
        self.level_bindings: dict[str, dict[str, Any]] = {}
        self.level_binders: dict[tuple[str, str], str] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush_analysis)
        self._network_bridge.changed.connect(self._timer.start)
        self.undo_stack.indexChanged.connect(self._keep_level)
        self._editable = True
        # How big the canvas draws each node (the scene sets this): insertions make room with it.
        self.measure: Callable[[], dict[str, tuple[float, float]]] | None = None
        self.read_only_reason = READ_ONLY_REASON

    def close(self) -> None:
        """Let go of the document's events (call before dropping the controller)."""
        self._timer.stop()
        self.bridge.close()
        self._network_bridge.close()
        self.analyzer.close()

    # ---- analysis ---------------------------------------------------------------
    def flush_analysis(self) -> Analysis:
        """Analyse now (normally the timer does this once per burst of edits)."""
        self._timer.stop()
        self.analysis = self.analyzer.analyze()
        self.level_analysis = self.analysis if not self.block_path else \
            body_analysis(self.network, self.block_path, self.analysis)
        self.level_bindings, self.level_binders = _bindings_at(self.network, self.block_path)
        self.analysis_changed.emit(self.analysis)
        self.level_analysis_changed.emit(self.level_analysis)
        return self.analysis

    @property
    def analysis_pending(self) -> bool:
        return self._timer.isActive()

    # ---- read-only mode ----------------------------------------------------------
    @property
    def editable(self) -> bool:
        return self._editable

    def set_editable(self, editable: bool, reason: str = READ_ONLY_REASON) -> None:
        """Allow or refuse edits; `reason` is what a refused edit says (shown in the status bar)."""
        self.read_only_reason = reason or READ_ONLY_REASON
        if editable != self._editable:
            self._editable = editable
            self.editable_changed.emit(editable)

    # ---- helpers ----------------------------------------------------------------
    @contextmanager
    def _macro(self, text: str) -> Iterator[None]:
        self.undo_stack.beginMacro(text)
        try:
            yield
        finally:
            self.undo_stack.endMacro()

    def _refuse(self, message: str) -> str:
        self.status_message.emit(message)
        return message

    def hint(self, message: str) -> None:
        """Show a transient message in the status bar (gestures use this for their feedback)."""
        self.status_message.emit(message)

    # ---- project-level steps ---------------------------------------------------------
    @_edits(None)
    def push(self, commands: Iterable[QUndoCommand], text: str = "") -> None:
        """Push undo commands made elsewhere (dataset and training settings, runs): several
        become one undo step named `text`."""
        commands = list(commands)
        if len(commands) == 1:
            self.undo_stack.push(commands[0])
        elif commands:
            with self._macro(text or commands[0].text()):
                for command in commands:
                    self.undo_stack.push(command)

    # ---- nodes --------------------------------------------------------------------
    @_edits(None)
    def add_node(self, type_id: str, position: Position, params: Mapping[str, Any] | None = None) -> str | None:
        """Add a node of `type_id` at `position` (top-left, scene coordinates); returns its id (None: refused)."""
        command = AddNodeCommand(self.doc, type_id, params=params, position=position)
        self.undo_stack.push(command)
        return command.node_id

    @_edits(None)
    def delete(self, node_ids: Iterable[str] = (), edges: Iterable[Edge] = (), verb: str = "Delete") -> None:
        """Delete nodes and wires as one undo step ("Delete 3 nodes", "Cut conv1")."""
        node_ids = [n for n in dict.fromkeys(node_ids) if n in self.doc.nodes]
        edges = [e for e in dict.fromkeys(edges) if e in self.doc.edges
                 and e.source not in node_ids and e.target not in node_ids]
        if not node_ids and not edges:
            return
        if len(node_ids) == 1 and not edges:
            command = RemoveNodeCommand(self.doc, node_ids[0])
            command.setText(command.text().replace("Delete", verb, 1))
            self.undo_stack.push(command)
            return
        if len(edges) == 1 and not node_ids:
            command = DisconnectCommand(self.doc, edges[0])
            command.setText(f"{verb} wire {wire_text(self.doc, edges[0])}")
            self.undo_stack.push(command)
            return
        parts = []
        if node_ids:
            parts.append(f"{len(node_ids)} node" + ("s" if len(node_ids) > 1 else ""))
        if edges:
            parts.append(f"{len(edges)} wire" + ("s" if len(edges) > 1 else ""))
        with self._macro(f"{verb} " + " and ".join(parts)):
            for edge in edges:
                self.undo_stack.push(DisconnectCommand(self.doc, edge))
            for node_id in node_ids:
                self.undo_stack.push(RemoveNodeCommand(self.doc, node_id))

    @_edits()
    def rename(self, node_id: str, name: str) -> str | None:
        """Rename a node; returns the reason when the name is refused."""
        name = name.strip()
        node = self.doc.node(node_id)
        if name == node.name:
            return None
        if not name:
            return self._refuse("a node needs a non-empty name")
        if len(name) > 64:
            return self._refuse("a node name may be at most 64 characters")
        if self.doc.node_by_name(name) is not None:
            return self._refuse(f"the name '{name}' is already used by another node")
        self.undo_stack.push(RenameCommand(self.doc, node_id, name))
        return None

    @_edits()
    def set_frozen(self, node_id: str, frozen: bool) -> str | None:
        """Freeze a node or block (training keeps its weights) or thaw it: one undo step."""
        node = self.doc.node(node_id)
        if node.frozen == frozen:
            return None
        spec = self.doc.spec_of(node)
        if spec.is_input or spec.is_output:
            return self._refuse(f"'{node.name}' has no weights to freeze")
        self.undo_stack.push(SetFrozenCommand(self.doc, node_id, frozen))
        return None

    def check_param(self, node_id: str, key: str, value: Any) -> tuple[Any, str | None]:
        """The canonical value and None, or the value and the reason it is refused."""
        try:
            return coerce_param(self.doc.spec(node_id).param(key), value), None
        except ParamError as exc:
            return value, str(exc)

    @_edits()
    def set_param(self, node_id: str, key: str, value: Any, session: int | None = None) -> str | None:
        """Change a parameter; edits of one editing `session` merge into one undo step.

        Returns the reason when the value is refused (the document is then unchanged)."""
        canonical, problem = self.check_param(node_id, key, value)
        if problem:
            return self._refuse(problem)
        current = self.doc.node(node_id).params.get(key)
        if current == canonical and type(current) is type(canonical):
            return None
        self.undo_stack.push(SetParamCommand(self.doc, node_id, key, canonical, session))
        return None

    @_edits(None)
    def move_nodes(self, old: Mapping[str, Position], new: Mapping[str, Position]) -> None:
        """Record a finished drag as one undo step."""
        moved = {k: v for k, v in new.items() if k in self.doc.nodes and tuple(old.get(k, v)) != tuple(v)}
        if moved:
            self.undo_stack.push(MoveNodesCommand(self.doc, {k: old[k] for k in moved}, moved))

    @_edits(None)
    def auto_arrange(self, sizes: Mapping[str, tuple[float, float]], *, undoable: bool = True) -> None:
        """Lay the network out left to right; `undoable=False` is for arranging a file as it opens."""
        new = layered_layout(self.doc, sizes)
        old = {n: self.doc.nodes[n].position for n in new}
        new = {n: p for n, p in new.items() if p != old[n]}
        if not new:
            return
        if undoable:
            text = f"Auto-arrange {len(self.doc.nodes)} nodes"
            self.undo_stack.push(MoveNodesCommand(self.doc, {n: old[n] for n in new}, new, text))
        else:
            self.doc.move_nodes(new)

    # ---- wires ---------------------------------------------------------------------
    def wire_problem(self, source: str, source_port: str, target: str, target_port: str) -> str | None:
        return self.doc.wire_problem(source, source_port, target, target_port, allow_cycle=False)

    @_edits()
    def connect(self, source: str, source_port: str, target: str, target_port: str) -> str | None:
        """Make a wire; returns the reason when it is refused."""
        problem = self.wire_problem(source, source_port, target, target_port)
        if problem:
            return self._refuse(f"Cannot connect: {problem}")
        self.undo_stack.push(ConnectCommand(self.doc, Edge(source, source_port, target, target_port)))
        return None

    @_edits(None)
    def disconnect(self, edge: Edge) -> None:
        if edge in self.doc.edges:
            self.undo_stack.push(DisconnectCommand(self.doc, edge))

    @_edits()
    def reconnect(self, edge: Edge, target: str, target_port: str) -> str | None:
        """Move the input end of `edge` to another input port, as one undo step."""
        if (target, target_port) == (edge.target, edge.target_port):
            return None
        problem = self.wire_problem(edge.source, edge.source_port, target, target_port)
        if problem:
            return self._refuse(f"Cannot connect: {problem}")
        new = Edge(edge.source, edge.source_port, target, target_port)
        with self._macro(f"Reconnect {wire_text(self.doc, edge)} to {self.doc.nodes[target].name}"):
            self.undo_stack.push(DisconnectCommand(self.doc, edge))
            self.undo_stack.push(ConnectCommand(self.doc, new))
        return None

    # ---- clipboard -----------------------------------------------------------------
    def copy_data(self, node_ids: Iterable[str]) -> dict[str, Any]:
        return clipboard.copy_data(self.doc, node_ids)

    @_edits([])
    def paste(self, data: Mapping[str, Any], offset: Position, verb: str = "Paste") -> list[str]:
        """Add copied nodes (fresh names) and the wires among them as one undo step; returns new ids."""
        nodes, edges = clipboard.plan_paste(self.doc, dict(data), offset)
        if not nodes:
            return []
        text = f"{verb} {nodes[0].name}" if len(nodes) == 1 else f"{verb} {len(nodes)} nodes"
        with self._macro(text):
            for n in nodes:
                self.undo_stack.push(AddNodeCommand(self.doc, n.type_id, name=n.name, params=n.params,
                                                    position=n.position, node_id=n.node_id, strict=False,
                                                    frozen=n.frozen))
            for e in edges:
                if self.doc.wire_problem(e.source, e.source_port, e.target, e.target_port) is None:
                    self.undo_stack.push(ConnectCommand(self.doc, e))
        return [n.node_id for n in nodes]

    @_edits([])
    def duplicate(self, node_ids: Iterable[str], offset: Position = (40.0, 40.0)) -> list[str]:
        return self.paste(self.copy_data(node_ids), offset, verb="Duplicate")

    # ---- blocks: where the canvas is -----------------------------------------------
    def open_block(self, instance_id: str) -> str | None:
        """Show the body of the block instance `instance_id` (of the shown document); the reason when it
        is no block."""
        if instance_id not in self.doc.nodes or not self.doc.is_block(instance_id):
            return self._refuse("Only a block can be opened: select a block node")
        self._show_level([*self.block_path, instance_id])
        return None

    def go_up(self, depth: int | None = None) -> None:
        """Go back up to `depth` (0: the network; default: one level up)."""
        if not self.block_path:
            return
        depth = len(self.block_path) - 1 if depth is None else max(0, min(depth, len(self.block_path)))
        self._show_level(self.block_path[:depth])

    def level_names(self) -> list[str]:
        """The network's name, then the name of each open instance (the breadcrumb)."""
        names, doc = [self.project.name or "network"], self.network
        for instance_id in self.block_path:
            names.append(doc.nodes[instance_id].name)
            doc = doc.definition_of(instance_id).body
        return names

    def frozen_by(self) -> str | None:
        """The name of the frozen block instance the open block is in (the outermost), if any: training
        freezes everything inside it."""
        doc = self.network
        for instance_id in self.block_path:
            if doc.nodes[instance_id].frozen:
                return doc.nodes[instance_id].name
            doc = doc.definition_of(instance_id).body
        return None

    def _show_level(self, path: list[str]) -> None:
        doc = self.network
        for instance_id in path:
            doc = doc.definition_of(instance_id).body
        self.block_path = list(path)
        self.doc = doc
        self.bridge.follow(doc)
        self.level_analysis = self.analysis if not path else body_analysis(self.network, path, self.analysis)
        self.level_bindings, self.level_binders = _bindings_at(self.network, path)
        self.level_changed.emit()

    def _keep_level(self, _index: int = 0) -> None:
        """After an undo or redo, stay in the deepest block of the path that still exists."""
        doc, valid = self.network, []
        for instance_id in self.block_path:
            if instance_id not in doc.nodes or not doc.is_block(instance_id):
                break
            valid.append(instance_id)
            doc = doc.definition_of(instance_id).body
        if valid != self.block_path or doc is not self.doc:
            self._show_level(valid)

    # ---- blocks: edits ------------------------------------------------------------------
    def _push_step(self, make_step: Callable[[], Step]) -> Step | None:
        """Run a block operation and record it as one undo step; a refusal leaves everything as it was."""
        try:
            step = make_step()
        except DocumentError as exc:
            self._refuse(str(exc))
            return None
        self.undo_stack.push(StepCommand(step))
        return step

    @_edits(None)
    def group_into_block(self, node_ids: Iterable[str]) -> str | None:
        """Move the nodes into a new block and put one instance in their place; returns its id."""
        step = self._push_step(lambda: hierarchy.group_into_block(self.doc, list(node_ids)))
        return step.result if step else None

    @_edits([])
    def ungroup(self, instance_id: str) -> list[str]:
        """Replace a block instance by its contents; returns the new node ids."""
        if instance_id not in self.doc.nodes or not self.doc.is_block(instance_id):
            self._refuse("Only a block can be ungrouped: select a block node")
            return []
        step = self._push_step(lambda: hierarchy.ungroup_block(self.doc, instance_id))
        return list(step.result) if step else []

    @_edits(None)
    def make_unique(self, instance_id: str) -> str | None:
        """Give one instance its own copy of its block's definition; returns the new block's name."""
        if instance_id not in self.doc.nodes or not self.doc.is_block(instance_id):
            self._refuse("Only a block instance can be made unique: select a block node")
            return None
        step = self._push_step(lambda: hierarchy.make_unique(self.doc, instance_id))
        return step.result if step else None

    @_edits(None)
    def place_block(self, source: str, name: str, position: Position) -> str | None:
        """Add an instance of block `name` at `position`: a block of the project, or a bundled one (added to
        the project's library in the same undo step); returns the instance id."""
        def place() -> str:
            if source == "bundled" and name not in self.doc.library:
                install_bundled(self.doc, name)
            self.doc.library.check_placement(name, self.doc)
            return self.doc.add_node(name, position=position).id

        if source == "bundled" and name not in BUNDLED_BLOCKS:
            self._refuse(f"There is no bundled block {name!r}")
            return None
        if source != "bundled" and name not in self.doc.library:
            self._refuse(f"There is no block {name!r} in this project")
            return None
        title = bundled_title(name) if source == "bundled" else self.doc.library.get(name).display_title
        step = self._push_step(lambda: hierarchy.record(self.doc, f"Add {title}", place))
        return step.result if step else None

    @_edits(None)
    def add_blocks(self, records: list[dict[str, Any]], text: str = "Load block") -> str | None:
        """Add block definitions read from a shared file (`engine.graph.block_file`); returns the last name."""
        step = self._push_step(lambda: block_file.add_definitions(self.doc, records, text))
        return step.result if step else None

    # ---- fixes -----------------------------------------------------------------------
    @_edits(None)
    def add_after(self, node_id: str, type_id: str) -> str | None:
        """Add a `type_id` node wired after `node_id` (quick-add with a node selected), as one undo step.

        The new node takes the selected node's output; when that output fed exactly one input and the new
        node can feed it instead, it is inserted there (conv → new → relu). Neighbours move right to make
        room. Returns the new node's id."""
        spec = self.doc.registry.get(type_id)
        source = self.doc.nodes[node_id]
        source_spec = self.doc.spec(node_id)
        if not spec.inputs or not source_spec.outputs:
            return self.add_node(type_id, place_after(self.doc, self.measure() if self.measure else {},
                                                      node_id)[0])
        out_port, in_port = source_spec.outputs[0].name, spec.inputs[0].name
        onward = [e for e in self.doc.edges if e.source == node_id and e.source_port == out_port]
        feeds = onward[0] if len(onward) == 1 and spec.outputs else None
        position, moves = place_after(self.doc, self.measure() if self.measure else {}, node_id,
                                      feeds.target if feeds else None)
        if feeds is None:
            moves = {}
        with self._macro(f"Add {spec.title} after {source.name}"):
            if moves:
                self.undo_stack.push(MoveNodesCommand(self.doc, {n: self.doc.nodes[n].position for n in moves},
                                                      moves, "Make room"))
            add = AddNodeCommand(self.doc, type_id, position=position)
            self.undo_stack.push(add)
            if feeds is not None:
                index = self.doc.edges.index(feeds)
                self.undo_stack.push(DisconnectCommand(self.doc, feeds))
            if self.doc.wire_problem(node_id, out_port, add.node_id, in_port, allow_cycle=False) is None:
                self.undo_stack.push(ConnectCommand(self.doc, Edge(node_id, out_port, add.node_id, in_port)))
            if feeds is not None:
                new_out = spec.outputs[0].name
                if self.doc.wire_problem(add.node_id, new_out, feeds.target, feeds.target_port,
                                         allow_cycle=False) is None:
                    self.undo_stack.push(ConnectCommand(self.doc, Edge(add.node_id, new_out, feeds.target,
                                                                       feeds.target_port), index=index))
                else:
                    self.undo_stack.push(ConnectCommand(self.doc, feeds, index=index))  # keep the old wire
        return add.node_id

    @_edits()
    def apply_fix(self, fix: Fix, path: tuple[str, ...] = ()) -> str | None:
        """Insert the adapter a problem suggests on the wire source -> target, as one undo step. A problem
        inside a block (`path`: the instance ids down to the node at fault) is fixed in that block."""
        if len(path) > 1:
            step = self._push_step(lambda: hierarchy.apply_fix(self.network, path, fix))
            return None if step else "This fix no longer applies"
        doc = self.network
        edge = next((e for e in doc.edges_into(fix.target, fix.target_port) if e.source == fix.source), None)
        if edge is None or fix.insert_type not in doc.registry:
            return self._refuse("This fix no longer applies: the wire it repairs has changed")
        index = doc.edges.index(edge)
        position, moves = place_after(doc, self.measure() if self.measure else {}, fix.source, fix.target)
        spec = doc.registry.get(fix.insert_type)
        name = doc.unique_name(spec.name_prefix or fix.insert_type.lower())
        try:
            params = {k: coerce_param(spec.param(k), v) for k, v in fix.params.items()}
        except (ParamError, KeyError) as exc:
            return self._refuse(f"Cannot apply the fix: {exc}")
        with self._macro(f"Insert {spec.title} between {doc.nodes[fix.source].name} and "
                         f"{doc.nodes[fix.target].name}"):
            self.undo_stack.push(DisconnectCommand(doc, edge))
            if moves:  # make room, so the inserted node overlaps nothing
                self.undo_stack.push(MoveNodesCommand(doc, {n: doc.nodes[n].position for n in moves},
                                                      moves, "Make room"))
            add = AddNodeCommand(doc, fix.insert_type, name=name, params=params, position=position)
            self.undo_stack.push(add)
            out_port = spec.outputs[0].name
            in_port = spec.inputs[0].name
            self.undo_stack.push(ConnectCommand(doc, Edge(edge.source, edge.source_port, add.node_id,
                                                               in_port)))
            self.undo_stack.push(ConnectCommand(doc, Edge(add.node_id, out_port, edge.target,
                                                               edge.target_port), index=index))
        return None


Bindings = dict[str, dict[str, Any]]


def _bindings_at(network: GraphDocument, path: list[str]) -> tuple[Bindings, dict[tuple[str, str], str]]:
    """The inner values the instances along `path` bind in the innermost body (its first copy), and the
    block parameter that sets each (what the inspector says about a parameter it cannot edit there)."""
    doc, bound, binders = network, {}, {}
    for instance_id in path:
        node = doc.node(instance_id)
        definition = doc.definition_of(instance_id)
        values = {p.name: node.params.get(p.name, p.default) for p in doc.spec_of(node).params}
        values.update(bound.get(instance_id, {}))
        bound = definition.bindings(values, 0)
        binders = {(inner, key): f"{p.name} of {node.name}" for p in definition.params for inner, key in p.targets}
        doc = definition.body
    return bound, binders
