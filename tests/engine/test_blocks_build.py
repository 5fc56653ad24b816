"""Blocks build into nested modules with hand-written names; ResNet-18 equals torchvision's."""

from __future__ import annotations

import pytest
import torch
import torchvision

from engine.block_catalog import BUNDLED_BLOCKS, install_bundled, resnet18_network, transformer_classifier
from engine.build import build_module, example_inputs
from engine.export.exporters import export_network
from engine.graph.analysis import analyze
from engine.network import Network


def test_resnet18_from_blocks_is_torchvisions_resnet18() -> None:
    net = resnet18_network()
    result = analyze(net.doc)
    assert result.ok and result.total_params == 11_689_512
    module = build_module(net.doc, result)
    reference = torchvision.models.resnet18()
    assert sum(p.numel() for p in module.parameters()) == 11_689_512
    ours, theirs = module.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert "layer2.0.downsample.0.weight" in ours and "layer2.1.downsample.0.weight" not in ours
    module.load_state_dict(theirs)
    module.eval()
    reference.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(module(x), reference(x), atol=1e-5, rtol=0)
    assert type(module.layer1[0]).__name__ == "BasicBlock"


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread; on a loaded machine more threads spin (40x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_transformer_made_of_one_repeated_block_builds_and_trains(one_thread) -> None:
    torch.manual_seed(0)
    net = transformer_classifier(vocab=20, length=12, d_model=32, heads=4, layers=3, classes=2)
    module = build_module(net.doc)
    keys = list(module.state_dict())
    assert any(k.startswith("encoder.2.self_attn.") for k in keys) and "encoder.2.norm2.weight" in keys
    assert isinstance(module.encoder, torch.nn.Sequential) and len(module.encoder) == 3
    tokens = torch.randint(0, 20, (64, 12), generator=torch.Generator().manual_seed(1))
    labels = (tokens[:, 0] < 10).long()  # the class is in the first token: attention must carry it
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(tokens), labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("name", BUNDLED_BLOCKS)
def test_every_bundled_block_validates_builds_and_counts_its_parameters(name: str) -> None:
    sequence = name == "TransformerEncoderBlock"
    net = Network(name)
    install_bundled(net.doc, name)
    x = net.input((10, 64) if sequence else (64, 8, 8), name="x")
    values = {"d_model": 64} if sequence else {"channels": 64} if name not in ("InvertedResidual",) else {}
    if name == "InvertedResidual":
        values = {"channels": 64, "hidden": 384}
    y = net.add(name, x, name="block", **values)
    net.output(y, name="y")
    result = analyze(net.doc)
    assert result.ok, [p.message for p in result.problems]
    module = build_module(net.doc, result)
    assert result.total_params == sum(p.numel() for p in module.parameters())
    module.eval()
    out = module(*example_inputs(net.doc))
    assert tuple(out.shape[1:]) == result.output_of("block").shape


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_networks_with_blocks_export(tmp_path, fmt: str) -> None:
    net = resnet18_network(num_classes=5, input_shape=(3, 32, 32))
    report = export_network(net.doc, fmt, tmp_path / "resnet")
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4


def test_the_readme_blocks_example_runs(capsys) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "install_bundled" in b)
    exec(compile(example, "README.md", "exec"), {})
    assert "['layer2.0.conv1.weight', 'layer2.0.bn1.weight', 'layer2.0.bn1.bias']" in capsys.readouterr().out


def test_a_network_of_blocks_trains_through_the_engines_job(one_thread) -> None:
    """The job travels as JSON (blocks included) and the trainer learns spirals with a repeated block."""
    from engine.data import DatasetConfig
    from engine.graph.blocks import BlockParam
    from engine.graph.hierarchy import expose_param, group_into_block, set_repeat
    from engine.train import TrainingJob, TrainingSettings, run_job

    net = Network("spiral blocks")
    x = net.input((2,), name="points")
    x = net.add("Linear", x, name="embed", out_features=32)
    h = net.add("Linear", x, name="fc", out_features=32)
    h = net.add("ReLU", h, name="relu")
    y = net.add("Add", [x, h], name="skip")
    net.output(net.add("Linear", y, name="head", out_features=2), name="logits")
    step = group_into_block(net.doc, ["fc", "relu", "skip"], name="Residual", instance_name="body")
    expose_param(net.doc, "Residual", BlockParam("width", (("fc", "out_features"),)))
    set_repeat(net.doc, step.result, 3)
    settings = TrainingSettings.from_json({**TrainingSettings(cpu_threads=1).to_json(), "epochs": 30,
                                           "optimizer": {"kind": "adam", "lr": 0.01}})
    job = TrainingJob(net.doc, DatasetConfig("spirals", {"n_samples": 600}), settings, run_id="blocks")
    job = TrainingJob.from_json(job.to_json())  # as it travels to a worker
    assert job.document.nodes["body"].type_id == "Residual"
    messages: list[dict] = []
    result = run_job(job, messages.append)
    assert result.status == "completed"
    assert "body.2.fc.weight" in result.trainer.module.state_dict()
    assert result.record.best["val_accuracy"] >= 0.9, result.record.best
