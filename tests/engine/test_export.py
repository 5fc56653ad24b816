"""Exports reproduce the network: ONNX through onnxruntime, .pt2, safetensors, and generated code."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from engine.build import build_module, example_inputs
from engine.export import ExportError, export_network
from engine.network import Network
from engine.project import load_project
from engine.resources import example_path


def zoo() -> Network:
    """One network that uses most layer types, so each exporter meets each module."""
    net = Network("zoo")
    img = net.input((3, 16, 16), name="image")
    seq = net.input((12, 6), name="series")
    a = net.add("Conv2d", img, out_channels=8, kernel_size=3, padding="same", padding_mode="reflect")
    a = net.add("BatchNorm2d", a)
    a = net.add("LeakyReLU", a, negative_slope=0.1)
    a = net.add("MaxPool2d", a, kernel_size=2, ceil_mode=True)
    b = net.add("ConvTranspose2d", a, out_channels=4, kernel_size=2, stride=2)
    b = net.add("AvgPool2d", b, kernel_size=2)
    b = net.add("Conv2d", b, out_channels=8, kernel_size=1)
    a = net.add("Multiply", [a, net.add("Sigmoid", b)])
    a = net.add("AdaptiveAvgPool2d", a, output_size=2)
    a = net.add("Flatten", a)
    a = net.add("Linear", a, out_features=24)
    a = net.add("BatchNorm1d", a)
    a = net.add("ELU", a)
    r = net.add("Reshape", a, shape=(4, 6))
    s = net.add("Conv1d", net.add("Permute", seq, dims=(2, 1)), out_channels=6, kernel_size=3, padding=1)
    s = net.add("Permute", s, dims=(2, 1))
    s = net.add("GRU", s, hidden_size=6, bidirectional=True, return_sequences=True)
    s = net.add("RNN", s, hidden_size=6, return_sequences=True)
    s = net.add("Concat", [s, r], dim=1)
    s = net.add("LayerNorm", s)
    s = net.add("SelfAttention", s, num_heads=2, causal=True)
    s = net.add("GELU", s)
    s = net.add("SequencePool", s, mode="max")
    s = net.add("Dropout", s, p=0.2)
    s = net.add("Linear", s, out_features=5)
    net.output(net.add("LogSoftmax", s), name="classes")
    net.output(net.add("Tanh", a), name="features")
    return net


def test_zoo_is_valid():
    assert zoo().analyze().ok, zoo().analyze().errors


@pytest.mark.parametrize("fmt", ["onnx", "pt2", "safetensors", "code"])
def test_zoo_exports_and_reproduces_outputs(tmp_path, fmt):
    report = export_network(zoo().doc, fmt, tmp_path / "zoo")
    assert report.path.exists() and report.bytes > 0
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert not list(tmp_path.glob(".export-*")), "scratch folder left behind"


@pytest.mark.parametrize("name", ["lenet5", "lstm_sequence", "transformer_encoder"])
def test_examples_export_to_onnx_with_a_dynamic_batch(tmp_path, name):
    import onnxruntime as ort

    project = load_project(example_path(name))
    module = build_module(project.network).eval()
    report = export_network(project.network, "onnx", tmp_path / name, weights=module.state_dict())
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = example_inputs(project.network, batch=batch)
        got = session.run(None, {session.get_inputs()[0].name: x[0].numpy()})[0]
        torch.testing.assert_close(torch.from_numpy(got), module(*x).detach(), atol=1e-4, rtol=1e-4)


def test_generated_code_is_standalone_and_readable(tmp_path):
    weights = build_module(zoo().doc).state_dict()
    report = export_network(zoo().doc, "code", tmp_path / "zoo_model", weights=weights)
    text = report.path.read_text()
    assert "layerloom" not in text.lower().replace("exported by layerloom", "")
    assert "= None" not in text.split("def forward")[1]
    assert ("self.conv1 = nn.Conv2d(in_channels=3, out_channels=8, kernel_size=3, padding='same', "
            "padding_mode='reflect')") in text
    probe = (
        "import sys, torch\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import zoo_model\n"
        "m = zoo_model.ZooModel()\n"
        "out = m(torch.randn(2, 3, 16, 16), torch.randn(2, 12, 6))\n"
        "assert out[0].shape == (2, 5), out[0].shape\n"
        "assert not [k for k in sys.modules if k.startswith(('engine', 'studio'))]\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_weights_that_do_not_fit_are_refused_by_name(tmp_path):
    weights = build_module(zoo().doc).state_dict()
    weights.pop("linear1.weight", None)
    weights = {k: v for k, v in weights.items() if not k.startswith("fc")}
    weights["ghost.weight"] = torch.zeros(1)
    with pytest.raises(ExportError, match=r"unexpected ghost\.weight"):
        export_network(zoo().doc, "safetensors", tmp_path / "w", weights=weights)
    assert not list(tmp_path.iterdir())


def test_unknown_format_is_an_error(tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_network(zoo().doc, "tflite", tmp_path / "x")


def test_cli_exports_a_trained_run_with_its_weights(tmp_path):
    import shutil

    from engine.runs import list_runs, load_run_weights

    project_file = tmp_path / "spirals.loom"
    shutil.copy(example_path("mlp_spirals"), project_file)
    cli = [sys.executable, "-m", "engine.cli"]
    trained = subprocess.run([*cli, "train", str(project_file), "--epochs", "2"], capture_output=True, text=True,
                             timeout=300)
    assert trained.returncode == 0, trained.stderr
    exported = subprocess.run([*cli, "export", str(project_file), "-f", "onnx", "-f", "code", "-o",
                               str(tmp_path / "out" / "spirals")], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    assert "[torch.onnx]" not in exported.stdout
    lines = exported.stdout.strip().splitlines()
    assert lines[0].startswith("onnx:") and "onnxruntime" in lines[0] and lines[1].startswith("code:")
    import onnxruntime as ort

    project = load_project(project_file)
    module = build_module(project.network).eval()
    module.load_state_dict(load_run_weights(project, list_runs(project)[-1].run_id))
    session = ort.InferenceSession(str(tmp_path / "out" / "spirals.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(7, 2)
    got = session.run(None, {"points": x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(got), module(x).detach(), atol=1e-4, rtol=1e-4)
