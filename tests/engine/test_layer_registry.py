"""One test over the whole layer registry: declared shapes and counts are what torch produces.

For every registered layer type, hypothesis draws parameter values inside the
declared schema and small input shapes. Whenever the pure-Python shape rule
accepts, the real module is built and run on a batch of 2 (train and eval mode)
and must produce the declared shape and dtype, with exactly the declared number
of trainable parameters. Whenever the rule refuses, the message must be usable
and, for layers where torch itself can judge, torch must refuse too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.layers import modules
from engine.layers.catalog import builtin_specs
from engine.layers.params import coerce_param, coerce_params
from engine.layers.registry import DuplicateLayerError, LayerRegistry, default_registry
from engine.layers.spec import FLOAT, LONG, LayerSpec, Param, ShapeError, TensorSpec

SPECS = list(default_registry())
DTYPES = {torch.float32: FLOAT, torch.int64: LONG}
VOCAB = 10  # token ids drawn for inputs that no Embedding bounds

# ---------------------------------------------------------------- parameter values

NAMED: dict[str, st.SearchStrategy[Any]] = {
    "groups": st.sampled_from([1, 1, 1, 2, 3]),
    "padding_idx": st.none() | st.integers(-8, 8),
    "num_embeddings": st.integers(1, 10),
    "max_len": st.integers(1, 8),
    "num_layers": st.integers(1, 3),
    "start_dim": st.integers(1, 4),
    "end_dim": st.integers(-4, 4),
    "dim": st.integers(-4, 4),
    "dim0": st.integers(-4, 4),
    "dim1": st.integers(-4, 4),
    "index": st.integers(-5, 5),
    "start": st.integers(-5, 5),
    "end": st.integers(-5, 6),
    "step": st.integers(1, 3),
    "upscale_factor": st.integers(1, 3),
    "downscale_factor": st.integers(1, 3),
    "num_groups": st.sampled_from([1, 2, 3, 4]),
}
# Window parameters, one number each; int_pair and padding kinds also draw pairs of them.
# Small and mostly 1 for stride and dilation, so that a fair share of drawn windows fit.
WINDOW: dict[str, st.SearchStrategy[int]] = {
    "kernel_size": st.integers(1, 4),
    "stride": st.sampled_from([1, 1, 2, 3]),
    "dilation": st.sampled_from([1, 1, 2, 3]),
    "padding": st.sampled_from([0, 0, 1, 2]),
    "output_padding": st.sampled_from([0, 0, 1, 2]),
    "output_size": st.integers(1, 4),
}


def _ints(p: Param, span: int = 6) -> st.SearchStrategy[int]:
    if p.minimum is not None:
        lo = int(p.minimum)
    else:
        lo = int(p.maximum) - span if p.maximum is not None else -span
    hi = int(p.maximum) if p.maximum is not None else lo + span
    return st.integers(lo, min(hi, lo + span))


def _fits(p: Param, value: Any) -> bool:
    try:
        return coerce_param(p, value) == value
    except ValueError:
        return False


def _float_values(p: Param) -> st.SearchStrategy[float]:
    lo = p.minimum if p.minimum is not None else -10.0
    hi = p.maximum if p.maximum is not None else 10.0
    return st.sampled_from(sorted({lo, hi, p.default})) | st.floats(lo, hi)


def param_values(p: Param) -> st.SearchStrategy[Any]:
    """Values inside `p`'s declared schema, kept small so modules build fast."""
    if p.kind == "int" and (p.name in NAMED or p.name in WINDOW):
        # tuned for the built-in layers; a plug-in's parameter of the same name keeps its own range
        base = NAMED.get(p.name, WINDOW.get(p.name)).filter(lambda v: _fits(p, v))
    elif p.kind == "int":
        base = _ints(p)
    elif p.kind == "float":
        base = _float_values(p)
    elif p.kind == "bool":
        base = st.booleans()
    elif p.kind == "choice":
        base = st.sampled_from(p.choices)
    elif p.kind == "ints":
        size = {"min_size": p.length, "max_size": p.length} if p.length else {"min_size": 1, "max_size": 4}
        base = st.lists(_ints(p), **size).map(tuple)
    elif p.kind in ("int_pair", "padding"):
        one = WINDOW[p.name].filter(lambda v: _fits(p, v)) if p.name in WINDOW else _ints(p, span=4)
        base = st.one_of(one, one, st.tuples(one, one))
        if p.kind == "padding":
            base = st.one_of(base, st.sampled_from(("same", "valid")))
    else:
        base = st.just(p.default)
    return st.none() | base if p.optional else base


# ---------------------------------------------------------------- inputs

InputRule = Callable[[st.DrawFn, dict[str, Any]], list[TensorSpec]]


def _shape(draw: st.DrawFn, rank: int, hi: int = 6) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, hi), min_size=rank, max_size=rank)))


def single(*ranks: int, hi: int = 6, dtype: str = FLOAT) -> InputRule:
    """One input of one of `ranks`; now and then any rank and dtype, to exercise the errors."""
    def rule(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
        if draw(st.integers(0, 9)) == 0:
            rank, kind = draw(st.integers(1, 4)), draw(st.sampled_from((FLOAT, LONG)))
        else:
            rank, kind = draw(st.sampled_from(ranks)), dtype
        return [TensorSpec(_shape(draw, rank, hi), kind)]

    return rule


def heads_width(heads_param: str) -> InputRule:
    """A (length, features) sequence whose width usually divides by the number of heads."""
    def rule(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
        x = single(2, hi=5)(draw, params)[0]
        if len(x.shape) == 2 and draw(st.integers(0, 4)):
            x = TensorSpec((x.shape[0], params[heads_param] * draw(st.integers(1, 3))), x.dtype)
        return [x]

    return rule


def merged(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    """One to three inputs, mostly compatible; Concat's usually differ along its dim."""
    rank = draw(st.integers(1, 3))
    base = _shape(draw, rank, hi=4)
    count = draw(st.integers(2, 3)) if draw(st.integers(0, 9)) else 1
    dtype = draw(st.sampled_from((FLOAT, LONG)))
    join = params.get("dim", 1)  # Concat's dim, batch counted as 0
    join_axis = join - 1 if join > 0 else rank + join
    out = []
    for _ in range(count):
        shape = list(base)
        if "dim" in params or draw(st.integers(0, 3)) == 0:
            usual = 0 <= join_axis < rank and draw(st.integers(0, 4))
            shape[join_axis if usual else draw(st.integers(0, rank - 1))] = draw(st.integers(1, 4))
        mixed = draw(st.integers(0, 9)) == 0
        out.append(TensorSpec(tuple(shape), draw(st.sampled_from((FLOAT, LONG))) if mixed else dtype))
    return out


def reshaped(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    """Any input; Reshape's target (drawn into params) usually keeps the element count."""
    x = single(1, 2, 3, hi=5, dtype=draw(st.sampled_from((FLOAT, LONG))))(draw, params)[0]
    if draw(st.integers(0, 3)):
        params["shape"] = _factorise(draw, x.numel)
    return [x]


def _factorise(draw: st.DrawFn, total: int) -> tuple[int, ...]:
    sizes = []
    while total > 1 and len(sizes) < 3:
        size = draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
        sizes.append(size)
        total //= size
    sizes.append(total)
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return tuple(sizes)


def permuted(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    x = single(1, 2, 3, 4, hi=4, dtype=draw(st.sampled_from((FLOAT, LONG))))(draw, params)[0]
    if draw(st.integers(0, 3)):
        params["dims"] = tuple(draw(st.permutations(range(1, len(x.shape) + 1))))
    return [x]


def channels_of(factor: Callable[[dict[str, Any]], int], *ranks: int) -> InputRule:
    """An input whose channels (first per-sample dimension) are usually a multiple of `factor(params)`."""
    def rule(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
        x = single(*ranks, hi=5)(draw, params)[0]
        if x.shape and draw(st.integers(0, 4)):
            x = TensorSpec((factor(params) * draw(st.integers(1, 3)), *x.shape[1:]), x.dtype)
        return [x]

    return rule


def reduced(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    """Any input; Reduce's dims (drawn into params) usually name distinct per-sample dimensions."""
    x = single(1, 2, 3, hi=4)(draw, params)[0]
    if draw(st.integers(0, 3)):
        rank = len(x.shape)
        axes = draw(st.lists(st.integers(1, rank), min_size=1, max_size=rank, unique=True))
        params["dims"] = tuple(a - (rank + 1) * draw(st.integers(0, 1)) for a in axes)
    return [x]


def paired(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    """Two inputs (Sampling's mean and log variance), usually of one shape."""
    x = single(1, 2, hi=6)(draw, params)[0]
    y = x if draw(st.integers(0, 4)) else single(1, 2, hi=6)(draw, params)[0]
    return [x, y]


def no_inputs(draw: st.DrawFn, params: dict[str, Any]) -> list[TensorSpec]:
    return []


INPUTS: dict[str, InputRule] = {
    "Input": no_inputs,
    "Noise": no_inputs,
    "Sampling": paired,
    "Output": single(1, 2, 3, 4, dtype=FLOAT),
    "Linear": single(1, 2, 3),
    "PositionwiseLinear": single(1, 2, 3, 4, hi=4),
    "Conv1d": single(2, hi=10),
    "Conv2d": single(3, hi=8),
    "ConvTranspose2d": single(3, hi=5),
    "MaxPool2d": single(3, hi=8),
    "AvgPool2d": single(3, hi=8),
    "AdaptiveAvgPool2d": single(3, hi=8),
    "GlobalAvgPool": single(2, 3),
    "BatchNorm1d": single(1, 2),
    "BatchNorm2d": single(3),
    "LayerNorm": single(1, 2, 3),
    "Flatten": single(1, 2, 3, 4, hi=4),
    "Reshape": reshaped,
    "Permute": permuted,
    "Embedding": single(1, 2, dtype=LONG),
    "RNN": single(2, hi=5),
    "LSTM": single(2, hi=5),
    "GRU": single(2, hi=5),
    "PositionalEncoding": single(2, hi=8),
    "SelfAttention": heads_width("num_heads"),
    "TransformerEncoderLayer": heads_width("nhead"),
    "SequencePool": single(2),
    "Add": merged,
    "Multiply": merged,
    "Concat": merged,
    "Subtract": merged,
    "Divide": merged,
    "Reduce": reduced,
    "Transpose": single(1, 2, 3, 4, hi=4, dtype=FLOAT),
    "Slice": single(1, 2, 3, hi=6),
    "Select": single(1, 2, 3, hi=4),
    "LayerNorm2d": single(3),
    "GroupNorm": channels_of(lambda p: p["num_groups"], 1, 2, 3),
    "PReLU": single(1, 2, 3),
    "Upsample": single(3, hi=5),
    "PixelShuffle": channels_of(lambda p: p["upscale_factor"] ** 2, 3),
    "PixelUnshuffle": single(3, hi=6),
    "ZeroPad2d": single(3, hi=5),
    "ChannelShuffle": channels_of(lambda p: p["groups"], 2, 3),
    "MultiheadAttention": heads_width("num_heads"),
    "LearnedTensor": single(1, 2, 3),
}
EXAMPLES = {"Upsample": 80, "Slice": 80, "Reduce": 60,
            "Conv1d": 150, "Conv2d": 150, "ConvTranspose2d": 150, "MaxPool2d": 150, "AvgPool2d": 150,
            "Reshape": 80, "Flatten": 80, "Permute": 80, "Concat": 60, "Input": 10, "Output": 10}
DEFAULT_EXAMPLES = 40


@st.composite
def cases(draw: st.DrawFn, spec: LayerSpec) -> tuple[dict[str, Any], list[TensorSpec]]:
    params = {p.name: draw(param_values(p)) for p in spec.params}
    inputs = INPUTS.get(spec.type_id, single(1, 2, 3))(draw, params)
    return params, inputs


# ---------------------------------------------------------------- torch as the judge

Judge = Callable[[dict[str, Any], Sequence[TensorSpec]], bool]


def _batch_rank(rank: int) -> Judge:
    """Torch can judge a refusal when the input has the rank it treats as batched."""
    return lambda params, inputs: len(inputs[0].shape) == rank and inputs[0].dtype == FLOAT


def _conv1d(params: dict[str, Any], inputs: Sequence[TensorSpec]) -> bool:
    # A padding pair is outside Conv1d's schema; torch happens to accept it with padding_mode reflect.
    return _batch_rank(2)(params, inputs) and not isinstance(params["padding"], tuple)


def _floats(params: dict[str, Any], inputs: Sequence[TensorSpec]) -> bool:
    return inputs[0].dtype == FLOAT


def _always(params: dict[str, Any], inputs: Sequence[TensorSpec]) -> bool:
    return True


TORCH_JUDGES: dict[str, Judge] = {
    "Conv1d": _conv1d,
    "Conv2d": _batch_rank(3),
    "ConvTranspose2d": _batch_rank(3),
    "MaxPool2d": _batch_rank(3),
    "AvgPool2d": _batch_rank(3),
    "AdaptiveAvgPool2d": _batch_rank(3),
    "SelfAttention": _batch_rank(2),
    "MultiheadAttention": _batch_rank(2),
    "LayerNorm2d": _batch_rank(3),
    "PixelShuffle": _batch_rank(3),
    "PixelUnshuffle": _batch_rank(3),
    "ChannelShuffle": _floats,
    "GroupNorm": _floats,
    "TransformerEncoderLayer": _batch_rank(2),
    "PositionalEncoding": _batch_rank(2),
    "Softmax": _floats,
    "LogSoftmax": _floats,
    "Flatten": _always,
    "Permute": _always,
    "Reshape": _always,
    "Embedding": lambda params, inputs: inputs[0].dtype == LONG,
}
# Builders that resolve their arguments in Python first; torch must judge the raw parameters.
RAW_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Reshape": lambda params: modules.Reshape(params["shape"]),
}


def _tensor(x: TensorSpec, params: dict[str, Any]) -> torch.Tensor:
    if x.dtype == LONG:
        return torch.randint(0, params.get("num_embeddings", VOCAB), (2, *x.shape))
    return torch.randn(2, *x.shape)


def _check_refusal(spec: LayerSpec, params: dict[str, Any], inputs: list[TensorSpec],
                   exc: ShapeError) -> None:
    assert exc.message.strip(), f"{spec.type_id} raised a ShapeError without a message"
    if exc.fix_type is not None:
        fix = default_registry().get(exc.fix_type)
        fix_params = coerce_params(fix, dict(exc.fix_params))
        fix.infer(fix_params, inputs)  # the suggested adapter accepts what this layer refused
    judge = TORCH_JUDGES.get(spec.type_id)
    if judge is None or not judge(params, inputs):
        return
    build = RAW_BUILDERS.get(spec.type_id) or (lambda p: spec.build(p, inputs))
    try:
        with torch.no_grad():
            y = build(params)(*(_tensor(x, params) for x in inputs))
    except Exception:  # any error will do: torch refuses as well
        return
    # Some refusals torch lets through as an empty result (ConvTranspose2d with dilation)
    assert y.numel() == 0, f"{spec.type_id} refused what torch runs: {exc.message}"


def check_case(spec: LayerSpec, params: dict[str, Any], inputs: list[TensorSpec]) -> None:
    for p in spec.params:
        assert coerce_param(p, params[p.name]) == params[p.name], f"drawn {p.name} outside its schema"
    try:
        declared = spec.infer(params, inputs)
    except ShapeError as exc:
        _check_refusal(spec, params, inputs, exc)
        return
    count = spec.count_params(params, inputs)
    if spec.build is None:  # Input and Output carry no module
        expected = inputs[0] if inputs else TensorSpec(params["shape"], LONG if params.get("dtype") == "token_ids"
                                                       else FLOAT)
        assert declared == expected
        return
    module = spec.build(params, inputs)
    xs = [_tensor(x, params) for x in inputs]
    for training in (True, False):
        module.train(training)
        with torch.no_grad():
            y = module(*xs)
        assert isinstance(y, torch.Tensor)
        assert (tuple(y.shape[1:]), DTYPES[y.dtype]) == (declared.shape, declared.dtype), (
            f"declared {declared}, torch gave {tuple(y.shape)} {y.dtype}")
    assert count == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type_id)
def test_declared_shape_and_count_match_torch(spec: LayerSpec) -> None:
    @settings(max_examples=EXAMPLES.get(spec.type_id, DEFAULT_EXAMPLES), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(cases(spec))
    def check(case: tuple[dict[str, Any], list[TensorSpec]]) -> None:
        check_case(spec, *case)

    check()


# ---------------------------------------------------------------- declarations and registry

@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type_id)
def test_declaration_is_complete_and_defaults_fit_the_schema(spec: LayerSpec) -> None:
    assert spec.type_id.isidentifier()
    assert spec.title.strip() and spec.help.strip() and spec.category.strip()
    assert not spec.name_prefix or spec.name_prefix.isidentifier()
    for p in spec.params:
        assert coerce_param(p, p.default) == p.default, p.name
        assert p.help.strip(), f"{spec.type_id}.{p.name} has no help"
    names = [p.name for p in spec.params]
    assert len(set(names)) == len(names)
    assert set(spec.key_params) <= set(names)


def test_catalog_imports_without_torch() -> None:
    code = ("import sys; from engine.layers.registry import default_registry; default_registry(); "
            "assert 'torch' not in sys.modules, 'the catalog imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_registering_a_duplicate_type_id_raises() -> None:
    registry = LayerRegistry(builtin_specs())
    linear = registry.get("Linear")
    with pytest.raises(DuplicateLayerError, match="Linear"):
        registry.register(linear)
    with pytest.raises(DuplicateLayerError):
        LayerRegistry([linear, linear])


PLUGIN_SOURCE = '''
from engine.layers.catalog.common import same_shape
from engine.layers.spec import LayerSpec, Port


def _build(params, inputs):
    from torch import nn

    return nn.Identity()


def make(type_id):
    return LayerSpec(type_id=type_id, title=type_id, category="Plug-ins", help="A test plug-in layer.",
                     params=(), inputs=(Port("in"),), outputs=(Port("out"),), infer=same_shape, build=_build)


def specs():
    return [make("PluginIdentity")]


SINGLE = make("PluginSingle")
CLASH = make("Linear")
'''


def _install_plugin(root: Path, monkeypatch: pytest.MonkeyPatch, module: str, entries: str) -> None:
    """A real installed distribution on sys.path: a module plus a dist-info with entry points."""
    (root / f"{module}.py").write_text(PLUGIN_SOURCE)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[layerloom.layers]\n{entries}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_plugin_layers_register_through_the_entry_point_group(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    module = "layerloom_test_plugin_ok"
    _install_plugin(tmp_path, monkeypatch, module, f"many = {module}:specs\none = {module}:SINGLE")
    registry = LayerRegistry(builtin_specs())
    registry.load_entry_points()
    assert {"PluginIdentity", "PluginSingle"} <= {s.type_id for s in registry}
    spec = registry.get("PluginIdentity")
    assert spec.infer({}, [TensorSpec((3,))]) == TensorSpec((3,))
    assert "Plug-ins" in registry.categories()
    sys.modules.pop(module, None)


def test_a_plugin_cannot_replace_a_builtin_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = "layerloom_test_plugin_clash"
    _install_plugin(tmp_path, monkeypatch, module, f"clash = {module}:CLASH")
    registry = LayerRegistry(builtin_specs())
    with pytest.raises(DuplicateLayerError, match="Linear"):
        registry.load_entry_points()
    sys.modules.pop(module, None)


# ---------------------------------------------------------------- behaviour the shapes cannot show

@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_bidirectional_final_state_joins_both_directions(kind: str) -> None:
    torch.manual_seed(0)
    rnn = getattr(torch.nn, kind)(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    layer = modules.Recurrent(rnn, return_sequences=False).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        final = rnn(x)[1]
        h_n = final[0] if kind == "LSTM" else final
        expected = torch.cat((h_n[-2], h_n[-1]), dim=-1)  # last layer: forward, backward
        assert torch.allclose(layer(x), expected, atol=1e-6)


@pytest.mark.parametrize("dim", [1, 5, 6])
def test_positional_encoding_is_sinusoidal_for_odd_and_even_widths(dim: int) -> None:
    table = modules.sinusoid_table(7, dim)
    pos, i = 3, 0
    assert table.shape == (7, dim)
    assert abs(table[pos, 2 * i].item() - torch.sin(torch.tensor(float(pos))).item()) < 1e-6
    if dim > 1:
        assert abs(table[pos, 1].item() - torch.cos(torch.tensor(float(pos))).item()) < 1e-6
    layer = modules.PositionalEncoding(dim, 7).eval()
    assert not list(layer.parameters()) and "pe" not in layer.state_dict()
    x = torch.zeros(2, 4, dim)
    assert torch.equal(layer(x), table[:4].expand(2, 4, dim))


def test_causal_self_attention_ignores_the_future() -> None:
    torch.manual_seed(0)
    layer = modules.SelfAttention(8, 2, causal=True).eval()
    x = torch.randn(1, 5, 8)
    changed = x.clone()
    changed[:, 3:] += 1.0
    with torch.no_grad():
        assert torch.allclose(layer(x)[:, :3], layer(changed)[:, :3], atol=1e-6)
        assert not torch.allclose(layer(x)[:, 3:], layer(changed)[:, 3:])


def test_embedding_padding_row_stays_zero_after_init() -> None:
    spec = default_registry().get("Embedding")
    params = {**spec.defaults(), "num_embeddings": 5, "embedding_dim": 3, "padding_idx": 0,
              "init": "xavier_uniform"}
    module = spec.build(params, [TensorSpec((4,), LONG)])
    assert torch.count_nonzero(module.weight[0]) == 0


CUSTOM_MODULES = [
    (modules.GlobalAvgPool(), (2, 3, 4, 5)),
    (modules.Recurrent(torch.nn.GRU(3, 4, batch_first=True, bidirectional=True), False), (2, 5, 3)),
    (modules.PositionalEncoding(6, 10, 0.1), (2, 5, 6)),
    (modules.SelfAttention(8, 2, causal=True), (2, 5, 8)),
    (modules.SequencePool("max"), (2, 5, 6)),
    (modules.Reshape((-1, 2)), (2, 3, 4)),
    (modules.Permute((2, 1)), (2, 3, 4)),
    (modules.MultiheadSelfAttention(8, 2), (2, 5, 8)),
    (modules.LayerNorm2d(3), (2, 3, 4, 5)),
    (modules.StochasticDepth(0.2), (2, 3, 4)),
    (modules.Transpose(1, 2), (2, 3, 4)),
    (modules.Slice(-1, 1, None, 2), (2, 3, 5)),
    (modules.Select(1, 0), (2, 3, 4)),
    (modules.Reduce("mean", (2, 3)), (2, 3, 4, 5)),
    (modules.ScalarOp("reverse_divide", 2.0), (2, 3)),
    (modules.LearnedTensor((1, 4)), (2, 3, 4)),
]


CUSTOM_IDS = [type(m).__name__ for m, _ in CUSTOM_MODULES]


@pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights:UserWarning")
@pytest.mark.parametrize(("module", "shape"), CUSTOM_MODULES, ids=CUSTOM_IDS)
def test_custom_modules_trace_as_fx_leaves_and_export(module: torch.nn.Module,
                                                      shape: tuple[int, ...]) -> None:
    module.eval()
    x = torch.randn(*shape)
    graph = torch.fx.Graph()
    placeholder = graph.placeholder("x")
    graph.output(graph.call_module("layer", (placeholder,)))
    traced = torch.fx.GraphModule({"layer": module}, graph)
    batch = torch.export.Dim("batch", min=2)
    exported = torch.export.export(traced, (x,), dynamic_shapes=({0: batch},))
    with torch.no_grad():
        assert torch.equal(traced(x), module(x))
        assert torch.allclose(exported.module()(x), module(x), atol=1e-6)


def test_pool_arithmetic_matches_torch_exhaustively_on_small_sizes() -> None:
    """Every small window, ceil_mode's dropped last window included, against torch's max_pool1d."""
    from engine.layers.catalog.pool import pool_size

    for size in range(1, 7):
        x = torch.zeros(1, 1, size)
        for k in range(1, 5):
            for s in range(1, 4):
                for p in range(k // 2 + 1):
                    for d in (1, 2):
                        for ceil in (False, True):
                            expected = pool_size(size, k, s, p, d, ceil)
                            try:
                                got = torch.nn.functional.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
                            except RuntimeError:
                                got = 0
                            assert max(expected, 0) == got, (size, k, s, p, d, ceil)
