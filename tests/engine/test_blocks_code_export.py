"""Code export writes one class per block definition, block parameters as constructor arguments."""

from __future__ import annotations

import subprocess
import sys

from engine.block_catalog import resnet18_network, transformer_classifier
from engine.build import build_module
from engine.export.exporters import export_network
from engine.graph.hierarchy import group_into_block, set_repeat
from engine.network import Network


def test_resnet18_exports_one_class_per_block_and_reproduces_its_outputs(tmp_path) -> None:
    net = resnet18_network(num_classes=10, input_shape=(3, 32, 32))
    weights = build_module(net.doc).state_dict()
    report = export_network(net.doc, "code", tmp_path / "resnet18", weights=weights)
    assert report.max_abs_diff is not None and report.max_abs_diff <= 1e-5
    text = report.path.read_text()
    assert text.count("class BasicBlock(nn.Module)") == 1 and text.count("class Downsample(nn.Module)") == 1
    assert "def __init__(self, x_shape, channels=64, stride=1, downsample=0) -> None:" in text
    assert ("self.conv1 = nn.Conv2d(in_channels=x_shape[0], out_channels=channels, kernel_size=3, "
            "stride=stride, padding=1, bias=False)") in text
    assert ("self.layer2 = nn.Sequential(BasicBlock(x_shape=(64, 8, 8), channels=128, stride=2, downsample=1), "
            "BasicBlock(x_shape=(128, 4, 4), channels=128))") in text
    probe = (
        "import sys, torch\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import resnet18\n"
        "m = resnet18.Resnet18()\n"
        "assert 'layer2.0.downsample.0.weight' in m.state_dict()\n"
        "assert 'layer2.1.downsample.0.weight' not in m.state_dict()\n"
        "assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)\n"
        "assert not [k for k in sys.modules if k.startswith(('engine', 'studio'))]\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_repeated_transformer_block_exports_with_its_parameters(tmp_path) -> None:
    net = transformer_classifier(vocab=30, length=8, d_model=32, heads=4, layers=3)
    report = export_network(net.doc, "code", tmp_path / "encoder")
    text = report.path.read_text()
    assert "def __init__(self, d_model=64, heads=4, dim_feedforward=256, dropout=0.1) -> None:" in text
    assert "self.linear2 = nn.Linear(in_features=dim_feedforward, out_features=d_model)" in text
    assert text.count("TransformerEncoderBlock(d_model=32, dim_feedforward=64, dropout=0.0)") == 3  # heads: default


def test_grouped_blocks_with_values_only_the_caller_knows_export(tmp_path) -> None:
    net = Network("grouped")
    x = net.input((2, 6, 6), name="image")
    a = net.add("Conv2d", x, name="conv1", out_channels=3, padding=1)
    a = net.add("ReLU", a, name="relu1")
    b = net.add("Conv2d", a, name="conv2", out_channels=3, padding=1)
    c = net.add("Concat", [a, b], name="cat")
    f = net.add("Flatten", c, name="flatten")
    y = net.add("Linear", f, name="fc", out_features=4)
    net.output(y, name="out")
    step = group_into_block(net.doc, ["conv2", "cat"], name="Branch")
    set_repeat(net.doc, step.result, 1)
    outer = group_into_block(net.doc, ["conv1", "relu1", step.result], name="Stem")
    group_into_block(net.doc, ["flatten", "fc"], name="Head")
    report = export_network(net.doc, "code", tmp_path / "grouped")
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-5
    text = report.path.read_text()
    assert all(f"class {name}(nn.Module)" in text for name in ("Branch", "Stem", "Head"))
    assert outer.result in text


def test_a_repeated_block_with_two_inputs_and_two_outputs_builds_and_exports(tmp_path) -> None:
    from engine.graph.analysis import analyze

    net = Network("two_way")
    x = net.input((4,), name="x")
    a = net.add("Linear", x, name="a", out_features=4)
    b = net.add("Linear", x, name="b", out_features=4)
    c = net.add("Concat", [net.add("ReLU", a, name="ra"), net.add("Tanh", b, name="rb")], name="cat")
    net.output(net.add("Linear", c, name="head", out_features=2), name="y")
    step = group_into_block(net.doc, ["ra", "rb"], name="TwoWay", instance_name="pair")
    assert [p.name for p in net.doc.spec("pair").inputs] == ["x1", "x2"]
    assert [p.name for p in net.doc.spec("pair").outputs] == ["y1", "y2"]
    set_repeat(net.doc, step.result, 3)
    assert analyze(net.doc).ok
    for fmt in ("code", "pt2"):
        report = export_network(net.doc, fmt, tmp_path / "two_way")
        assert report.max_abs_diff is not None and report.max_abs_diff < 1e-5
    assert "self.pair = BlockChain(TwoWay(), TwoWay(), TwoWay())" in (tmp_path / "two_way.py").read_text()
