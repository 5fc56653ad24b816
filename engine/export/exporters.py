"""The four exporters and `export_network`, which builds, loads weights, exports and checks."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import fx

from engine.build import build_module, example_inputs
from engine.export.common import ExportError, ExportReport, max_difference
from engine.graph.document import GraphDocument
from engine.project_zip import current_umask


def _input_names(doc: GraphDocument) -> list[str]:
    return [n.id for n in doc.nodes.values() if doc.spec_of(n).is_input]


def _output_names(doc: GraphDocument) -> list[str]:
    return [n.id for n in doc.nodes.values() if doc.spec_of(n).is_output]


def _dynamic_batch(n_inputs: int) -> tuple[dict[int, object], ...]:
    from torch.export import Dim

    return tuple({0: Dim.DYNAMIC} for _ in range(n_inputs))


# protobuf cannot hold a message over 2 GiB; keep room for the graph itself beside the weights
ONNX_SINGLE_FILE_LIMIT = 2 * 1024**3 - 64 * 1024**2


def _weight_bytes(module: fx.GraphModule) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def export_onnx(module: fx.GraphModule, doc: GraphDocument, path: Path) -> ExportReport:
    """One self-contained .onnx file; weights go to a ``.onnx.data`` file beside it only past 2 GB.

    The file holds the network's own layers: constants are folded and unused nodes dropped, but the
    exporter's fusing rewrites (BatchNorm into the convolution before it, a zero bias dropped, Relu into
    Clip) are not applied, so the file reads, and imports back, as the network that was drawn, weights
    and BatchNorm statistics under their own names. onnxruntime makes those fusions itself when it loads
    the file, so nothing is lost at inference."""
    from onnxscript import optimizer

    inputs = example_inputs(doc, batch=2)
    external = _weight_bytes(module) > ONNX_SINGLE_FILE_LIMIT
    before = set(path.parent.iterdir())
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress otherwise
            program = torch.onnx.export(
                module, inputs, dynamo=True, verbose=False, optimize=False,
                input_names=_input_names(doc), output_names=_output_names(doc),
                dynamic_shapes=_dynamic_batch(len(inputs)),
            )
            optimizer.fold_constants(program.model)
            optimizer.remove_unused_nodes(program.model)
            program.save(str(path), external_data=external)
    except Exception as exc:
        raise ExportError(f"ONNX export failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    extra = sorted(set(path.parent.iterdir()) - before - {path})
    if extra and not external:
        raise ExportError(f"the ONNX exporter wrote {', '.join(p.name for p in extra)} beside the model although "
                          "it fits in one file")
    report = ExportReport("onnx", path, path.stat().st_size + sum(p.stat().st_size for p in extra),
                          extra_files=extra)
    if extra:
        report.notes.append(
            f"the weights ({_weight_bytes(module) / 1024**3:.1f} GB) exceed ONNX's 2 GB single-file limit, so "
            f"they are in {', '.join(p.name for p in extra)} beside {path.name}: keep the files together")
    try:
        import onnxruntime as ort
    except ImportError:
        report.checked_with = "not checked: onnxruntime is not installed"
        report.notes.append("install onnxruntime to check ONNX exports")
        return report
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    check = example_inputs(doc, batch=3, generator=torch.Generator().manual_seed(7))
    feeds = {name: tensor.numpy() for name, tensor in zip(_input_names(doc), check)}
    with torch.no_grad():
        expected = module(*check)
    actual = [torch.from_numpy(a) for a in session.run(None, feeds)]
    report.max_abs_diff = max_difference(expected, actual, "the ONNX model (onnxruntime)")
    report.checked_with = "onnxruntime, batch of 3"
    return report


def export_pt2(module: fx.GraphModule, doc: GraphDocument, path: Path) -> ExportReport:
    inputs = example_inputs(doc, batch=2)
    try:
        program = torch.export.export(module, inputs, dynamic_shapes=_dynamic_batch(len(inputs)))
        torch.export.save(program, str(path))
    except Exception as exc:
        raise ExportError(f"torch.export failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    loaded = torch.export.load(str(path)).module()
    check = example_inputs(doc, batch=3, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        diff = max_difference(module(*check), loaded(*check), "the reloaded .pt2 program")
    return ExportReport("pt2", path, path.stat().st_size, diff, "torch.export.load, batch of 3")


def export_safetensors(module: fx.GraphModule, doc: GraphDocument, path: Path) -> ExportReport:
    from safetensors.torch import load_file, save_file

    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt", "producer": "layerloom"})
    loaded = load_file(str(path))
    if set(loaded) != set(state) or any(not torch.equal(loaded[k], state[k]) for k in state):
        raise ExportError("the safetensors file does not hold the network's weights exactly")
    return ExportReport("safetensors", path, path.stat().st_size, 0.0, "reloaded, bit-identical")


def export_code(module: fx.GraphModule, doc: GraphDocument, path: Path) -> ExportReport:
    from engine.export.code import check_generated_code, generate_code

    source = generate_code(module, doc, class_name=_class_name(path))
    path.write_text(source, encoding="utf-8")
    diff = check_generated_code(path, module, doc)
    return ExportReport("code", path, path.stat().st_size, diff, "imported afresh, weights loaded")


def _class_name(path: Path) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in path.stem).split() if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    return name if name[0].isalpha() else f"Net{name}"


Exporter = Callable[[fx.GraphModule, GraphDocument, Path], ExportReport]
EXPORTERS: dict[str, tuple[str, Exporter]] = {
    "onnx": (".onnx", export_onnx),
    "pt2": (".pt2", export_pt2),
    "safetensors": (".safetensors", export_safetensors),
    "code": (".py", export_code),
}


def export_network(
    doc: GraphDocument,
    fmt: str,
    path: str | os.PathLike[str],
    weights: Mapping[str, torch.Tensor] | None = None,
    *,
    weights_from: str = "",
) -> ExportReport:
    """Build `doc`, load `weights` if given, export to `fmt` at `path` and check the result.

    The file is written beside its target and moved into place only after the check passes,
    so a failed export never leaves a half-written or wrong file behind. Exported files get the
    permissions any new file of the user gets (0666 less the umask). `weights_from` says whose
    weights these are, for the report.
    """
    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; choose from {', '.join(EXPORTERS)}")
    suffix, exporter = EXPORTERS[fmt]
    target = Path(path)
    if target.suffix != suffix:
        target = target.with_name(target.name + suffix) if target.suffix == "" else target.with_suffix(suffix)
    module = build_module(doc)
    if weights is not None:
        _load_weights(module, weights)
    module.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o666 & ~current_umask()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        scratch = Path(tmp) / target.name
        # torch's exporters warn about internals the user cannot act on; keep them in the report
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = exporter(module, doc, scratch)
        report.notes.extend(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
        written = [scratch, *report.extra_files]
        for file in written:  # temporary files are private (0600); exports are the user's usual files
            os.chmod(file, mode)
        for extra in report.extra_files:  # ONNX external data: moved first, so the model never lacks it
            os.replace(extra, target.parent / extra.name)
        os.replace(scratch, target)
    report.path = target
    report.extra_files = [target.parent / extra.name for extra in report.extra_files]
    report.weights_from = weights_from or ("" if weights is not None else "freshly initialised")
    return report


def _load_weights(module: fx.GraphModule, weights: Mapping[str, torch.Tensor]) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    wrong = sorted(k for k in set(own) & set(weights) if tuple(own[k].shape) != tuple(weights[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        if wrong:
            parts.append(f"different shape for {', '.join(wrong[:5])}")
        raise ExportError("the weights do not fit this network (was it edited after training?): "
                          + "; ".join(parts))
    module.load_state_dict(dict(weights))
