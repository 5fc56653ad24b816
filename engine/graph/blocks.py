"""Blocks: named subnetworks kept in a project's library and placed in a parent as one node.

A `BlockDefinition` is a function body: a `GraphDocument` (its ``body``) whose
Block Input nodes are its arguments and whose Block Output nodes are its
results, plus the inner parameters it exposes as block parameters
(`BlockParam`: ``channels`` -> ``conv1.out_channels`` and ``conv2.out_channels``).
An instance is an ordinary `Node` in a parent document whose ``type_id`` is the
definition's name; its ``params`` hold its own values of the exposed
parameters and its ``repeat`` count. Every instance follows edits to the
definition; `engine.graph.hierarchy` has the editing operations (group,
ungroup, make unique, ...).

`BlockLibrary` maps names to definitions, refuses a block that would contain
itself, and emits `definition_changed(names)` with every definition an edit
reached (the edited one and all that contain it, at any depth), so analysers
re-infer exactly the instances concerned. It also synthesises, per definition,
the `LayerSpec` the rest of Layerloom reads (title, ports, parameter schema):
`GraphDocument.spec(node_id)` returns it for an instance, so the inspector and
the canvas treat a block like any layer.

Repeating: an instance with ``repeat`` N chains N copies of the block; the
first copy uses the instance's values, later copies use each parameter's
``repeat_value`` where one is declared (a ResNet stage's ``stride`` is 2 for its
first block and 1 after). ``repeat`` 0 passes the inputs through.
Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.graph.errors import DocumentError
from engine.graph.events import Event
from engine.layers.spec import LayerSpec, Param, Port, ShapeError, TensorSpec

if TYPE_CHECKING:
    from engine.graph.document import GraphDocument

BLOCK_INPUT = "BlockInput"
BLOCK_OUTPUT = "BlockOutput"
REPEAT = "repeat"
MAX_REPEAT = 1000
PATH_SEPARATOR = " ▸ "


def _port_shape(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    if inputs:
        return inputs[0]
    raise ShapeError("a Block Input only has a shape inside a block, where its instance feeds it")


BLOCK_INPUT_SPEC = LayerSpec(
    type_id=BLOCK_INPUT,
    title="Block Input",
    category="Block ports",
    help="An input port of the block being edited: each instance feeds it from the wire into the block "
    "node's port of the same name.",
    params=(),
    inputs=(),
    outputs=(Port("out"),),
    infer=_port_shape,
    build=None,
    name_prefix="x",
)

BLOCK_OUTPUT_SPEC = LayerSpec(
    type_id=BLOCK_OUTPUT,
    title="Block Output",
    category="Block ports",
    help="An output port of the block being edited: what arrives here leaves the block node by the port "
    "of the same name.",
    params=(),
    inputs=(Port("in"),),
    outputs=(),
    infer=_port_shape,
    build=None,
    name_prefix="y",
)

PORT_SPECS: dict[str, LayerSpec] = {BLOCK_INPUT: BLOCK_INPUT_SPEC, BLOCK_OUTPUT: BLOCK_OUTPUT_SPEC}

REPEAT_PARAM = Param(
    REPEAT, "int", 1, help="How many copies of the block to chain: the first may change the shape, later "
    "copies must keep it. 0 passes the input through.", minimum=0, maximum=MAX_REPEAT)


@dataclass
class BlockParam:
    """An inner parameter exposed on the block: one value drives every target."""

    name: str
    targets: tuple[tuple[str, str], ...]  # (inner node id, parameter key)
    repeat_value: Any = None  # the value copies after the first use; None: the same as the first
    help: str = ""


@dataclass
class BlockDefinition:
    """A named subnetwork: its body document and the parameters it exposes."""

    name: str
    body: GraphDocument
    params: list[BlockParam] = field(default_factory=list)
    title: str = ""
    help: str = ""

    @property
    def display_title(self) -> str:
        return self.title or self.name

    def param(self, name: str) -> BlockParam:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def input_ids(self) -> list[str]:
        return [n.id for n in self.body.nodes.values() if n.type_id == BLOCK_INPUT]

    def output_ids(self) -> list[str]:
        return [n.id for n in self.body.nodes.values() if n.type_id == BLOCK_OUTPUT]

    def bindings(self, values: Mapping[str, Any], copy: int = 0) -> dict[str, dict[str, Any]]:
        """Inner parameter values set by the instance's `values`: {inner node id: {key: value}}."""
        bound: dict[str, dict[str, Any]] = {}
        for p in self.params:
            value = values.get(p.name, _MISSING)
            if value is _MISSING:
                continue
            if copy > 0 and p.repeat_value is not None:
                value = p.repeat_value
            for node_id, key in p.targets:
                bound.setdefault(node_id, {})[key] = value
        return bound


class _Missing:
    pass


_MISSING = _Missing()


class LibraryEvents:
    def __init__(self) -> None:
        self.definition_added = Event("definition_added")  # (definition)
        self.definition_removed = Event("definition_removed")  # (definition)
        self.definition_changed = Event("definition_changed")  # (frozenset of names reached)


class BlockLibrary:
    """The project's block definitions by name; every body document shares this library."""

    def __init__(self) -> None:
        self.definitions: dict[str, BlockDefinition] = {}
        self.network: GraphDocument | None = None  # the network whose library this is
        self.events = LibraryEvents()
        self.revision = 0  # bumped on every change to any definition (cache keys)
        self.stamps: dict[str, int] = {}  # per definition: bumped when it or a block inside it changes
        self.inference_cache: dict[tuple[Any, ...], Any] = {}  # engine.graph.block_inference keeps it
        self._specs: dict[str, tuple[int, LayerSpec]] = {}
        self._muted = 0

    def __contains__(self, name: object) -> bool:
        return name in self.definitions

    def __iter__(self) -> Iterator[BlockDefinition]:
        return iter(self.definitions.values())

    def __len__(self) -> int:
        return len(self.definitions)

    def get(self, name: str) -> BlockDefinition:
        try:
            return self.definitions[name]
        except KeyError:
            raise DocumentError(f"there is no block named {name!r} in the library") from None

    # ---- membership ------------------------------------------------------------------------
    def add(self, definition: BlockDefinition) -> BlockDefinition:
        """Add a definition whose body was made with `new_body()`."""
        check_block_name(definition.name)
        if definition.name in self.definitions:
            raise DocumentError(f"a block named {definition.name!r} already exists")
        if definition.body.library is not self:
            raise DocumentError("a block's body must be made by this library (use new_body)")
        registry = definition.body.registry
        if definition.name in registry or definition.name in PORT_SPECS:
            raise DocumentError(f"{definition.name!r} is a layer type; choose another block name")
        definition.body.owner = definition
        self.definitions[definition.name] = definition
        self._watch(definition)
        self.revision += 1
        self.stamps[definition.name] = self.stamps.get(definition.name, 0) + 1
        self.events.definition_added.emit(definition)
        return definition

    def remove(self, name: str) -> BlockDefinition:
        definition = self.get(name)
        users = [d.name for d in self.definitions.values() if d.name != name and name in _used_in(d.body)]
        if self.network is not None and name in _used_in(self.network):
            users.insert(0, "the network")
        if users:
            raise DocumentError(f"block {name!r} is still used in {', '.join(users)}")
        del self.definitions[name]
        self._specs.pop(name, None)
        self.revision += 1
        self.stamps[name] = self.stamps.get(name, 0) + 1
        self.events.definition_removed.emit(definition)
        return definition

    def set_params(self, name: str, params: list[BlockParam]) -> None:
        """Replace the parameters a definition exposes (each is checked against the body)."""
        definition = self.get(name)
        seen: set[str] = set()
        for p in params:
            if not p.name.isidentifier() or p.name == REPEAT or p.name in seen:
                raise DocumentError(f"block parameter name {p.name!r} must be a new identifier other than "
                                    f"{REPEAT!r}")
            seen.add(p.name)
            self.exposed_param(definition, p)  # raises when a target does not exist
        definition.params = list(params)
        keep = {p.name for p in params} | {REPEAT}
        for doc in self._documents():  # instances forget the values of parameters no longer exposed
            for node in [n for n in doc.nodes.values() if n.type_id == name and set(n.params) - keep]:
                doc.replace_params(node.id, {k: v for k, v in node.params.items() if k in keep})
        self.touch(name)

    def _documents(self) -> list[GraphDocument]:
        documents = [self.network] if self.network is not None else []
        return documents + [d.body for d in self.definitions.values()]

    def set_text(self, name: str, title: str | None = None, help_text: str | None = None) -> None:
        definition = self.get(name)
        if title is not None:
            definition.title = title
        if help_text is not None:
            definition.help = help_text
        self.touch(name)

    def new_body(self, registry: Any = None) -> GraphDocument:
        from engine.graph.document import GraphDocument

        return GraphDocument(registry, library=self)

    def free_name(self, stem: str) -> str:
        stem = "".join(ch for ch in stem.title() if ch.isalnum()) or "Block"
        if stem[0].isdigit():
            stem = f"Block{stem}"
        candidate, i = stem, 2
        while candidate in self.definitions:
            candidate = f"{stem}{i}"
            i += 1
        return candidate

    # ---- change tracking ---------------------------------------------------------------------
    def _watch(self, definition: BlockDefinition) -> None:
        ev = definition.body.events
        name = definition.name

        def changed(*_: Any) -> None:
            self.touch(name)

        def port_removed(node: Any) -> None:
            if node.type_id in PORT_SPECS and self.definitions.get(name) is definition:
                self._drop_port_wires(name, node.id, node.type_id == BLOCK_INPUT)

        ev.node_removed.subscribe(port_removed)
        for event in (ev.node_added, ev.node_removed, ev.edge_connected, ev.edge_disconnected,
                      ev.param_changed, ev.node_renamed, ev.frozen_changed):
            event.subscribe(changed)

    def _drop_port_wires(self, name: str, port: str, is_input: bool) -> None:
        """A port left the block: every instance's wire on it goes too (as part of the same edit)."""
        for doc in self._documents():
            for node in [n for n in doc.nodes.values() if n.type_id == name]:
                edges = doc.edges_into(node.id, port) if is_input else [
                    e for e in doc.edges_from(node.id) if e.source_port == port]
                for edge in edges:
                    doc.disconnect(edge)

    def touch(self, name: str) -> None:
        """Note that `name` changed: re-derive specs and tell listeners every definition it reaches."""
        self.revision += 1
        if self._muted:
            return
        reached = self.containing(name)
        for reached_name in reached:
            self._specs.pop(reached_name, None)
            self.stamps[reached_name] = self.stamps.get(reached_name, 0) + 1
        self.events.definition_changed.emit(frozenset(reached))

    def mute(self) -> _Mute:
        """Suppress change events while a body is rebuilt wholesale (loading); one `touch` follows."""
        return _Mute(self)

    def containing(self, name: str) -> set[str]:
        """`name` and every definition that uses it at any depth."""
        users: dict[str, set[str]] = {}
        for d in self.definitions.values():
            for used in _used_in(d.body):
                users.setdefault(used, set()).add(d.name)
        reached, stack = {name}, [name]
        while stack:
            for user in users.get(stack.pop(), ()):
                if user not in reached:
                    reached.add(user)
                    stack.append(user)
        return reached

    def contains(self, outer: str, inner: str) -> list[str] | None:
        """The chain of names by which `outer` contains `inner` (outer ... inner), or None."""
        if outer == inner:
            return [outer]
        seen: set[str] = set()
        stack: list[list[str]] = [[outer]]
        while stack:
            chain = stack.pop()
            definition = self.definitions.get(chain[-1])
            if definition is None:
                continue
            for used in _used_in(definition.body):
                if used == inner:
                    return [*chain, used]
                if used not in seen:
                    seen.add(used)
                    stack.append([*chain, used])
        return None

    def check_placement(self, block: str, into: GraphDocument) -> None:
        """Refuse placing an instance of `block` where it would contain itself."""
        owner = into.owner
        if owner is None:
            return
        chain = self.contains(block, owner.name)
        if chain is not None:
            loop = PATH_SEPARATOR.join([owner.name, *chain])
            raise DocumentError(f"a block cannot contain itself: {loop}")

    # ---- the declaration instances are read through --------------------------------------------
    def spec(self, name: str) -> LayerSpec:
        cached = self._specs.get(name)
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        spec = self._make_spec(self.get(name))
        self._specs[name] = (self.revision, spec)
        return spec

    def _make_spec(self, definition: BlockDefinition) -> LayerSpec:
        params = [REPEAT_PARAM]
        for p in definition.params:
            params.append(self.exposed_param(definition, p))
        inputs = tuple(Port(i) for i in definition.input_ids())
        outputs = tuple(Port(o) for o in definition.output_ids())
        return LayerSpec(
            type_id=definition.name,
            title=definition.display_title,
            category="Blocks",
            help=definition.help or f"The block {definition.display_title}.",
            params=tuple(params),
            inputs=inputs,
            outputs=outputs,
            infer=_infer_outside_analysis,
            build=None,
            key_params=(*tuple(p.name for p in definition.params[:3]), REPEAT),
            name_prefix=definition.name.lower(),
        )

    def exposed_param(self, definition: BlockDefinition, p: BlockParam) -> Param:
        """The schema of an exposed parameter: its first target's, defaulting to the body's value."""
        body = definition.body
        live = [(n, k) for n, k in p.targets if n in body.nodes]
        if not live:
            # Its inner nodes were deleted: keep the value's kind so instances still load; analysis says so.
            return Param(p.name, _kind_of(p.repeat_value), p.repeat_value, help=p.help, optional=True)
        node_id, key = live[0]
        try:
            inner = body.spec(node_id).param(key)
        except KeyError:
            raise DocumentError(f"block parameter {p.name!r} of {definition.name}: "
                                f"{node_id!r} has no parameter {key!r}") from None
        default = body.node(node_id).params.get(key, inner.default)
        help_text = p.help or f"Sets {', '.join(f'{n}.{k}' for n, k in p.targets)}." + (
            f" Copies after the first use {p.repeat_value!r}." if p.repeat_value is not None else "")
        return Param(p.name, inner.kind, default, help=help_text, minimum=inner.minimum, maximum=inner.maximum,
                     choices=inner.choices, length=inner.length, optional=inner.optional)


class _Mute:
    def __init__(self, library: BlockLibrary) -> None:
        self.library = library

    def __enter__(self) -> None:
        self.library._muted += 1

    def __exit__(self, *exc: object) -> None:
        self.library._muted -= 1


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, tuple):
        return "ints"
    return "str"


def _used_in(body: GraphDocument) -> set[str]:
    library = body.library
    return {n.type_id for n in body.nodes.values() if n.type_id in library.definitions}


def _infer_outside_analysis(params: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> TensorSpec:
    raise ShapeError("a block's shape is inferred by the network analysis, which knows its definition")


def check_block_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise DocumentError(f"a block name must be a Python identifier (letters, digits, _), got {name!r}")
    if len(name) > 64:
        raise DocumentError("a block name may be at most 64 characters")
