"""Code export for blocks: one class per block definition, its block parameters as constructor arguments.

`BlockClasses(doc, module)` walks the built network alongside the document and
records every copy of every block as built (its parameter values, its input
shapes, its module). Each definition then becomes one class, written once for
all its uses: every constructor argument of every inner layer is written as

1. the block parameter that drives it (``out_channels=channels``), when its
   value agrees in every use;
2. a literal, when every use has the same value (``kernel_size=3``);
3. another block parameter, or a dimension of an input's shape
   (``in_channels=x_shape[0]``), that agrees in every use;
4. failing those, an extra constructor argument the caller passes
   (``conv1_in_features``), so one class still serves every use.

A nested block is constructed by its own class; a repeated one as
``nn.Sequential`` of its copies (a comprehension when the count is itself a
block parameter, as a ResNet block's optional shortcut). `expression(node_id)`
gives the constructor call of a top-level block instance for the network
class. The classes are checked only as a whole: the exporter imports the file
afresh and compares its outputs with the network's.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from engine.build_blocks import BlockChain
from engine.export.code import _literal, _same, constructor_call
from engine.graph.block_inference import analyse_body
from engine.graph.blocks import PORT_SPECS, REPEAT, BlockDefinition
from engine.graph.document import GraphDocument


@dataclass(eq=False)
class Use:
    """One copy of a block as built: values, input shapes, module, and the blocks used inside it."""

    definition: BlockDefinition
    values: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]
    module: nn.Module
    nested: dict[str, list[Use]] = field(default_factory=dict)  # inner instance id -> its copies
    repeats: dict[str, int] = field(default_factory=dict)  # inner instance id -> its repeat here
    call: dict[str, Any] = field(default_factory=dict)  # constructor arguments of this use


@dataclass
class ClassInfo:
    name: str
    arguments: list[tuple[str, Any, bool]]  # (name, default, has default)
    source: str


class BlockClasses:
    """The classes of every block a built network uses, and the calls that construct its instances."""

    def __init__(self, doc: GraphDocument, module: nn.Module, used_custom: dict[str, type]) -> None:
        from engine.graph.analysis import analyze

        self.doc = doc
        self.used_custom = used_custom
        self.uses: dict[str, list[Use]] = {}
        self.needs_chain = False
        analysis = analyze(doc)
        self.top = self._walk(doc, analysis, module, {})
        self.classes: dict[str, ClassInfo] = {}
        for name in self._bottom_up():
            self.classes[name] = self._write_class(doc.library.get(name), self.uses[name])

    # ---- recording what was built -----------------------------------------------------------
    def _walk(self, doc: GraphDocument, analysis: Any, module: nn.Module,
              bindings: dict[str, dict[str, Any]]) -> dict[str, tuple[int, list[Use]]]:
        found: dict[str, tuple[int, list[Use]]] = {}
        for node in doc.nodes.values():
            if node.type_id not in doc.library.definitions:
                continue
            definition = doc.library.get(node.type_id)
            spec = doc.spec_of(node)
            values = {p.name: node.params.get(p.name, p.default) for p in spec.params}
            values.update(bindings.get(node.id, {}))
            repeat = int(values.pop(REPEAT))
            child = module.get_submodule(node.id)
            current = tuple(analysis.nodes[node.id].inputs)
            copies: list[Use] = []
            for copy in range(repeat):
                bound = definition.bindings(values, copy)
                result = analyse_body(definition, bound, current)
                copy_module = child if repeat == 1 else child[copy]
                copy_values = {p.name: (p.repeat_value if copy and p.repeat_value is not None else values[p.name])
                               for p in definition.params if p.name in values}
                use = Use(definition, copy_values, dict(zip(definition.input_ids(), (s.shape for s in current))),
                          copy_module)
                for inner_id, (inner_repeat, inner_copies) in self._walk(definition.body, result.analysis,
                                                                        copy_module, bound).items():
                    use.nested[inner_id] = inner_copies
                    use.repeats[inner_id] = inner_repeat
                copies.append(use)
                self.uses.setdefault(definition.name, []).append(use)
                current = tuple(o for o in result.outputs if o is not None)
            if repeat != 1 and (len(spec.inputs) != 1 or len(spec.outputs) != 1):
                self.needs_chain = True
            found[node.id] = (repeat, copies)
        return found

    def _bottom_up(self) -> list[str]:
        library = self.doc.library
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for node in library.get(name).body.nodes.values():
                if node.type_id in library.definitions and node.type_id in self.uses:
                    visit(node.type_id)
            order.append(name)

        for name in self.uses:
            visit(name)
        return order

    # ---- writing one class -------------------------------------------------------------------
    def _write_class(self, definition: BlockDefinition, uses: list[Use]) -> ClassInfo:
        spec = self.doc.library.spec(definition.name)
        params = [p for p in spec.params if p.name != REPEAT]
        resolver = _Resolver(definition, uses, self.used_custom)
        lines: list[str] = []
        body = definition.body
        for node in body.nodes.values():
            if node.type_id in PORT_SPECS:
                continue
            if node.type_id in body.library.definitions:
                expression = self._nested_expression(node.id, uses, resolver)
            else:
                expression = self._layer_expression(node.id, uses, resolver)
            target = f"self.{node.id}" if node.id.isidentifier() else None
            lines.append(f"        {target} = {expression}" if target else
                         f"        self.add_module({node.id!r}, {expression})")
        shape_args = [(name, None, False) for name in resolver.shape_args]
        extra_args = [(name, None, False) for name in resolver.extra]
        arguments = shape_args + extra_args + [(p.name, p.default, True) for p in params]
        for use in uses:
            use.call = {name: use.shapes[name[: -len("_shape")]] for name in resolver.shape_args}
            use.call.update({name: values.get(id(use)) for name, values in resolver.extra.items()})
            use.call.update({p.name: use.values.get(p.name, p.default) for p in params})
        signature = ", ".join(["self"] + [f"{n}" for n, _, has in arguments if not has]
                              + [f"{n}={_literal(d, self.used_custom)}" for n, d, has in arguments if has])
        forward = _forward_code(uses[0].module)
        doc_line = (definition.help or definition.display_title).replace('"""', "'")
        source = (f"class {definition.name}(nn.Module):\n"
                  f'    """{doc_line}"""\n\n'
                  f"    def __init__({signature}) -> None:\n"
                  "        super().__init__()\n" + "\n".join(lines) + "\n\n" + forward + "\n")
        return ClassInfo(definition.name, arguments, source)

    def _layer_expression(self, child: str, uses: list[Use], resolver: _Resolver) -> str:
        calls = [constructor_call(use.module.get_submodule(child), self.used_custom) for use in uses]
        callee = calls[0][0]
        if any(c[0] != callee for c in calls):
            raise_unexpected(child)
        names = list(dict.fromkeys(name for _, args, _ in calls for name, _ in args))
        parts = []
        for name in names:
            pairs = []
            for use, (_, args, defaults) in zip(uses, calls):
                value = dict(args).get(name, defaults.get(name))
                pairs.append((use, value))
            default = calls[0][2].get(name, inspect.Parameter.empty)
            text = resolver.resolve(child, name, pairs)
            if default is not inspect.Parameter.empty and text == _literal_or_none(default, self.used_custom):
                continue
            parts.append(f"{name}={text}")
        return f"{callee}({', '.join(parts)})"

    def _nested_expression(self, child: str, uses: list[Use], resolver: _Resolver) -> str:
        repeats = [(use, use.repeats[child]) for use in uses]
        count = resolver.resolve(child, REPEAT, repeats)
        name = self._nested_name(child, uses)
        info = self.classes[name]
        container = "BlockChain" if self.needs_chain and _multi(self.doc, name) else "nn.Sequential"

        def call(copy: int) -> str:
            pairs_by_arg: dict[str, list[tuple[Use, Any]]] = {}
            for use in uses:
                copies = use.nested[child]
                if copy < len(copies):
                    for arg, value in copies[copy].call.items():
                        pairs_by_arg.setdefault(arg, []).append((use, value))
                elif copy == -1:  # every copy after the first
                    for later in copies[1:]:
                        for arg, value in later.call.items():
                            pairs_by_arg.setdefault(arg, []).append((use, value))
            parts = []
            for arg, default, has_default in info.arguments:
                pairs = pairs_by_arg.get(arg, [])
                if not pairs:
                    if has_default:
                        continue
                    parts.append(f"{arg}=None")
                    continue
                text = resolver.resolve(child, arg, pairs)
                if has_default and text == _literal_or_none(default, self.used_custom):
                    continue
                parts.append(f"{arg}={text}")
            return f"{name}({', '.join(parts)})"

        counts = {r for _, r in repeats}
        if count.isdigit():
            n = int(count)
            if n == 1:
                return call(0)
            return f"{container}({', '.join(call(i) for i in range(n))})"
        first = call(0)
        later = call(-1) if max(counts) > 1 else first
        if later == first:
            many = f"{container}(*[{first} for _ in range({count})])"
        else:
            many = f"{container}(*[{first} if i == 0 else {later} for i in range({count})])"
        # as built: one copy is the block itself, any other count a numbered container
        return f"({first} if {count} == 1 else {many})"

    def _nested_name(self, child: str, uses: list[Use]) -> str:
        return uses[0].definition.body.nodes[child].type_id

    # ---- the network class's calls ---------------------------------------------------------------
    def expression(self, node_id: str) -> str:
        """The constructor call of a top-level instance, with literal arguments."""
        repeat, copies = self.top[node_id]
        name = self.doc.nodes[node_id].type_id
        info = self.classes[name]

        def call(use: Use) -> str:
            parts = []
            for arg, default, has_default in info.arguments:
                value = use.call.get(arg)
                text = _literal(value, self.used_custom)
                if has_default and _same(value, default):
                    continue
                parts.append(f"{arg}={text}")
            return f"{name}({', '.join(parts)})"

        if repeat == 1:
            return call(copies[0])
        container = "BlockChain" if _multi(self.doc, name) else "nn.Sequential"
        return f"{container}({', '.join(call(c) for c in copies)})"

    def sources(self) -> list[str]:
        chain = [inspect.getsource(BlockChain)] if self.needs_chain else []
        return chain + [info.source for info in self.classes.values()]


# Sizes that follow from the data: written as a block parameter or an input's shape where one agrees,
# even when every use has the same value, so the class reads as it would by hand.
INPUT_SIZES = frozenset({"in_channels", "in_features", "num_features", "embed_dim", "normalized_shape",
                         "d_model", "input_size", "x_shape"})
SIZE_ARGUMENTS = INPUT_SIZES | {"out_channels", "out_features", "hidden_size", "num_embeddings", "embedding_dim"}


class _Resolver:
    """Writes a value that varies between uses of a class in terms of the class's own arguments."""

    def __init__(self, definition: BlockDefinition, uses: list[Use], used_custom: dict[str, type]) -> None:
        self.definition = definition
        self.uses = uses
        self.used_custom = used_custom
        self.shape_args: list[str] = []
        self.extra: dict[str, dict[int, Any]] = {}

    def resolve(self, child: str, arg: str, pairs: list[tuple[Use, Any]]) -> str:
        values = [v for _, v in pairs]
        for p in self.definition.params:  # 1. the block parameter that drives it
            if (child, arg) in p.targets and all(_same(use.values.get(p.name), v) for use, v in pairs):
                return p.name
        same = bool(pairs) and all(_same(v, values[0]) for v in values)
        if same and arg not in SIZE_ARGUMENTS:  # 2. the same everywhere
            return _literal(values[0], self.used_custom)
        for p in self.definition.params:  # 3. another block parameter that agrees
            if pairs and all(_same(use.values.get(p.name), v) for use, v in pairs):
                return p.name
        if same and arg not in INPUT_SIZES:
            return _literal(values[0], self.used_custom)
        for port in self.definition.input_ids():  # ... or an input's shape
            name = f"{port}_shape"
            if all(isinstance(v, tuple) and use.shapes.get(port) == v for use, v in pairs):
                return self._shape(name)
            for j in range(max((len(use.shapes.get(port, ())) for use, _ in pairs), default=0)):
                if all(isinstance(v, int) and not isinstance(v, bool) and len(use.shapes.get(port, ())) > j
                       and use.shapes[port][j] == v for use, v in pairs):
                    return f"{self._shape(name)}[{j}]"
        if same:
            return _literal(values[0], self.used_custom)
        # 4. the caller passes it (a numbered or dashed child gets an identifier: n0_stride, nblock1_0_stride)
        name = f"{child}_{arg}" if child.isidentifier() else f"n{child.replace('-', '_')}_{arg}"
        self.extra.setdefault(name, {}).update({id(use): v for use, v in pairs})
        return name

    def _shape(self, name: str) -> str:
        if name not in self.shape_args:
            self.shape_args.append(name)
        return name


def _literal_or_none(value: Any, used_custom: dict[str, type]) -> str | None:
    try:
        return _literal(value, used_custom)
    except Exception:
        return None


def _multi(doc: GraphDocument, name: str) -> bool:
    spec = doc.library.spec(name)
    return len(spec.inputs) != 1 or len(spec.outputs) != 1


def _forward_code(module: nn.Module) -> str:
    import re
    import textwrap

    code = getattr(module, "code", "")
    forward = re.sub(r";\s+(\w+\s*=\s*)+None(?=\n|$)", "", textwrap.dedent(code).strip("\n"))
    return textwrap.indent(forward, "    ")


def raise_unexpected(child: str) -> None:
    from engine.export.common import ExportError

    raise ExportError(f"cannot write the block layer {child!r} as code: its uses build different modules")
