"""The architecture diff of two networks, computed on node paths, layer types and parameter shapes.

`flatten(network, shapes)` walks a network through its blocks, the way the build names modules:
every layer, every block instance and every copy of a repeated block becomes one `Entry` keyed by
its path of node ids (``layer2 / 1 / conv1``). Copies are always numbered in the key, also when a
block is not repeated, so a block that goes from ``repeat`` 2 to 3 shows as one added copy rather
than as everything inside it moved; the entry's `module_path` is the real module name
(``layer2.1.conv1``), used to find the entry's tensors in a state dict. Block parameters are bound
onto the nodes inside (a ResNet stage's ``channels`` reach its convolutions), so an entry holds the
values it is really built with.

`diff_networks(a, b, shapes_a, shapes_b)` matches the entries of two networks by key:

- added / removed: an entry in only one of them; an added or removed block (instance or copy)
  stands for everything inside it, which is not listed again;
- changed: the same path with another layer type or block, other parameter values (a block's own
  ``repeat`` excepted: its copies say it), or other parameter shapes, each difference listed
  (``out_channels: 64 → 128``, ``weight: 64×3×3×3 → 128×3×3×3``). Shapes come from the runs' state
  dicts (name -> shape, e.g. read from a safetensors header); without them, types and values decide.

`NetworkDiff.marks(level)` gives, for the nodes of one document level (the network, or a block's
body under an instance path), what a canvas colours: added, removed, changed, or ``inside`` (the
node is unchanged but something within it changed), with the changes under each node. The whole
diff is linear in the number of entries (no torch, no Qt, no shape inference).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.graph.blocks import BLOCK_INPUT, BLOCK_OUTPUT, PATH_SEPARATOR, REPEAT, BlockDefinition
from engine.graph.document import GraphDocument
from engine.layers.params import to_json

Key = tuple[str, ...]
Shapes = Mapping[str, Sequence[int]]
LAYER, BLOCK, COPY = "layer", "block", "copy"
ADDED, REMOVED, CHANGED, INSIDE = "added", "removed", "changed", "inside"
MAX_ENTRIES = 200_000  # blocks repeated inside repeated blocks multiply: a hostile file must not exhaust memory
_PORTS = (BLOCK_INPUT, BLOCK_OUTPUT)


class NetworkTooLarge(ValueError):
    """Flattened through its blocks, a network has more entries than a diff compares."""


@dataclass(frozen=True)
class Entry:
    """One layer, block instance or block copy of a flattened network."""

    key: Key  # node ids down the blocks, copies always numbered
    kind: str  # layer, block or copy
    type_id: str  # a layer type, or the block's definition name
    label: str  # node names down the blocks: 'layer2 ▸ 1 ▸ conv1'
    module_path: str  # the module's name in the built network: 'layer2.1.conv1'
    params: dict[str, Any] = field(default_factory=dict)  # JSON values, bound block parameters applied


@dataclass(frozen=True)
class Change:
    """A difference at one path."""

    status: str  # added, removed or changed
    entry: Entry  # b's entry when there is one, else a's
    type_before: str = ""
    details: tuple[str, ...] = ()  # what changed, one line each

    @property
    def key(self) -> Key:
        return self.entry.key

    @property
    def label(self) -> str:
        return self.entry.label

    def text(self) -> str:
        """One line: ``added block layer1 ▸ 2 (BasicBlock)``, ``changed fc: out_features: 10 → 100``."""
        what = {LAYER: "", BLOCK: "block ", COPY: "block "}[self.entry.kind]
        if self.status != CHANGED:
            return f"{self.status} {what}{self.label} ({self.entry.type_id})"
        return f"changed {what}{self.label}: " + "; ".join(self.details)


@dataclass(frozen=True)
class Mark:
    """What one node of a canvas level shows."""

    status: str  # added, removed, changed or inside
    changes: tuple[Change, ...]  # the changes at or under the node


@dataclass
class NetworkDiff:
    """Every difference between network a (before) and network b (after)."""

    changes: list[Change]
    entries_compared: int = 0  # entries of both networks looked at (linear in their size)

    def of(self, status: str) -> list[Change]:
        return [c for c in self.changes if c.status == status]

    @property
    def added(self) -> list[Change]:
        return self.of(ADDED)

    @property
    def removed(self) -> list[Change]:
        return self.of(REMOVED)

    @property
    def changed(self) -> list[Change]:
        return self.of(CHANGED)

    @property
    def empty(self) -> bool:
        return not self.changes

    def marks(self, level: Key = ()) -> dict[str, Mark]:
        """Node id -> mark for the document at `level` (() for the network; an instance's key, or one of its
        copies' keys, for a block's body). A node whose own entry changed shows that; one with changes
        only below shows ``inside``."""
        depth = len(level)
        under: dict[str, list[Change]] = {}
        own: dict[str, str] = {}
        for change in self.changes:
            key = change.key
            if len(key) <= depth or key[:depth] != level:
                continue
            node = key[depth]
            under.setdefault(node, []).append(change)
            if len(key) == depth + 1:
                own[node] = change.status
        return {node: Mark(own.get(node, INSIDE), tuple(changes)) for node, changes in under.items()}

    def body_marks(self, instances: Sequence[str]) -> dict[str, Mark]:
        """Node id -> mark for the body of the block reached through the instance ids `instances` (what a
        canvas shows with that block open): the body is shared by every copy, so the marks of all copies
        are merged, and a node changed in any copy shows as changed."""
        depth = 2 * len(instances)  # instance id, copy number, instance id, copy number, ...
        under: dict[str, list[Change]] = {}
        own: dict[str, str] = {}
        for change in self.changes:
            key = change.key
            if len(key) <= depth or any(key[2 * i] != instance for i, instance in enumerate(instances)):
                continue
            node = key[depth]
            under.setdefault(node, []).append(change)
            if len(key) == depth + 1:
                own.setdefault(node, change.status)
        return {node: Mark(own.get(node, INSIDE), tuple(changes)) for node, changes in under.items()}


def flatten(network: GraphDocument, limit: int = MAX_ENTRIES) -> list[Entry]:
    """Every layer, block instance and block copy of `network`, parents before their contents; raises
    `NetworkTooLarge` past `limit` entries (counted as they are made, so nothing big is ever built)."""
    out: list[Entry] = []
    _walk(network, (), "", "", {}, out, limit)
    return out


def _walk(doc: GraphDocument, key: Key, label: str, module: str, bound: Mapping[str, Mapping[str, Any]],
          out: list[Entry], limit: int) -> None:
    definitions = doc.library.definitions
    for node in doc.nodes.values():
        if node.type_id in _PORTS:
            continue
        if len(out) >= limit:
            raise NetworkTooLarge(f"the network has more than {limit:,} layers and blocks once its blocks are "
                                  "repeated: too many to compare")
        params = {**node.params, **bound.get(node.id, {})} if bound else node.params
        node_key = (*key, node.id)
        node_label = f"{label}{PATH_SEPARATOR}{node.name}" if label else node.name
        node_module = f"{module}.{node.id}" if module else node.id
        definition = definitions.get(node.type_id)
        if definition is None:
            out.append(Entry(node_key, LAYER, node.type_id, node_label, node_module,
                             {k: to_json(v) for k, v in params.items()}))
            continue
        values = {k: to_json(v) for k, v in params.items() if k != REPEAT}
        out.append(Entry(node_key, BLOCK, node.type_id, node_label, node_module, values))
        _walk_copies(definition, params, node_key, node_label, node_module, out, limit)


def _walk_copies(definition: BlockDefinition, params: Mapping[str, Any], key: Key, label: str, module: str,
                 out: list[Entry], limit: int) -> None:
    repeat = int(params.get(REPEAT, 1))
    for copy in range(repeat):
        copy_key = (*key, str(copy))
        copy_label = f"{label}{PATH_SEPARATOR}{copy}"
        copy_module = f"{module}.{copy}" if repeat != 1 else module  # a single copy is the instance itself
        out.append(Entry(copy_key, COPY, definition.name, copy_label, copy_module))
        _walk(definition.body, copy_key, copy_label if repeat != 1 else label, copy_module,
              definition.bindings(params, copy), out, limit)


def tensors_by_module(entries: Sequence[Entry], shapes: Shapes) -> dict[str, dict[str, tuple[int, ...]]]:
    """State-dict shapes grouped by the layer that holds them: module path -> {tensor name: shape}."""
    layers = {e.module_path for e in entries if e.kind == LAYER}
    out: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, shape in shapes.items():
        owner, _, tensor = name.rpartition(".")
        while owner and owner not in layers:  # a layer's own submodules (attention's out_proj.weight)
            owner, _, head = owner.rpartition(".")
            tensor = f"{head}.{tensor}"
        if owner:
            out.setdefault(owner, {})[tensor] = tuple(int(s) for s in shape)
    return out


def diff_networks(a: GraphDocument, b: GraphDocument, shapes_a: Shapes | None = None,
                  shapes_b: Shapes | None = None) -> NetworkDiff:
    """What changed from network `a` to network `b` (see the module docstring)."""
    return diff_entries(flatten(a), flatten(b), shapes_a, shapes_b)


def diff_entries(entries_a: Sequence[Entry], entries_b: Sequence[Entry], shapes_a: Shapes | None = None,
                 shapes_b: Shapes | None = None) -> NetworkDiff:
    by_key_a = {e.key: e for e in entries_a}
    by_key_b = {e.key: e for e in entries_b}
    use_shapes = shapes_a is not None and shapes_b is not None
    tensors_a = tensors_by_module(entries_a, shapes_a) if use_shapes else {}
    tensors_b = tensors_by_module(entries_b, shapes_b) if use_shapes else {}
    changes: list[Change] = []
    gone: dict[Key, int] = {}  # added or removed blocks -> layers inside: their contents are part of them
    for entry in entries_a:
        if entry.key not in by_key_b:
            _record(changes, gone, REMOVED, entry)
    for entry in entries_b:
        before = by_key_a.get(entry.key)
        if before is None:
            _record(changes, gone, ADDED, entry)
            continue
        details = list(_differences(before, entry))
        if use_shapes and entry.kind == LAYER and before.type_id == entry.type_id:
            details += _shape_differences(tensors_a.get(before.module_path, {}),
                                          tensors_b.get(entry.module_path, {}))
        if details:
            changes.append(Change(CHANGED, entry, before.type_id, tuple(details)))
    if gone:  # say what an added or removed block held
        changes = [replace(c, details=(_layers_text(gone[c.key]),)) if c.key in gone and c.status != CHANGED
                   else c for c in changes]
    return NetworkDiff(changes, len(entries_a) + len(entries_b))


def _record(changes: list[Change], gone: dict[Key, int], status: str, entry: Entry) -> None:
    """Add an added or removed entry, unless it lies inside a block already listed (then count it there)."""
    owner = _owner(entry.key, gone)
    if owner is not None:
        gone[owner] += entry.kind == LAYER
        return
    changes.append(Change(status, entry))
    if entry.kind != LAYER:
        gone[entry.key] = 0


def _layers_text(count: int) -> str:
    return f"{count} layer{'s' if count != 1 else ''} inside"


def _owner(key: Key, roots: Mapping[Key, int]) -> Key | None:
    """The listed block `key` lies in (its nearest ancestor among `roots`), if any."""
    if not roots:
        return None
    for i in range(len(key) - 1, 0, -1):
        if key[:i] in roots:
            return key[:i]
    return None


def _differences(a: Entry, b: Entry) -> Iterator[str]:
    if a.type_id != b.type_id:
        yield f"type: {a.type_id} → {b.type_id}"
        return
    if a.params == b.params:
        return
    for name in dict.fromkeys([*a.params, *b.params]):
        before, after = a.params.get(name, _UNSET), b.params.get(name, _UNSET)
        if before != after:
            yield f"{name}: {_value(before)} → {_value(after)}"


def _shape_differences(a: Mapping[str, tuple[int, ...]], b: Mapping[str, tuple[int, ...]]) -> list[str]:
    out = []
    for name in sorted({*a, *b}, key=_tensor_order):  # a safetensors header is sorted by name: weight first
        before, after = a.get(name), b.get(name)
        if before != after:
            out.append(f"{name}: {_shape(before)} → {_shape(after)}")
    return out


def _tensor_order(name: str) -> tuple[bool, str]:
    return not name.endswith("weight"), name


class _Unset:
    def __repr__(self) -> str:
        return "unset"


_UNSET = _Unset()


def _value(value: Any) -> str:
    if value is _UNSET:
        return "(unset)"
    if isinstance(value, list):
        return "×".join(map(str, value)) if all(isinstance(v, int) for v in value) else str(value)
    return str(value)


def _shape(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "none"
    return "×".join(map(str, shape)) if shape else "scalar"
