"""`summary` counts FLOPs on the meta device; `validate` warns when training would not fit the device."""

from __future__ import annotations

import os

from engine.cli import main
from engine.graph.analysis import analyze
from engine.memory import memory_estimate, memory_warnings
from engine.network import Network
from engine.project import Project, save_project
from engine.summary import flops_per_node


def _huge() -> Network:
    net = Network("huge")
    x = net.input((1_000_000,), name="x")
    x = net.add("Linear", x, out_features=1_000_000, name="fc1")
    x = net.add("ReLU", x, name="relu")
    x = net.add("Linear", x, out_features=10, name="fc2")
    net.output(x, name="y")
    return net


def test_a_network_of_a_trillion_parameters_is_summarised_without_allocating(tmp_path, capsys) -> None:
    net = _huge()
    result = analyze(net.doc)
    assert result.total_params == 1_000_011_000_010
    # 4 TB of float32 weights: this could only pass without allocating them
    flops = flops_per_node(net.doc, result)
    assert flops is not None and flops["fc1"] == 2 * 10**12 and flops["fc2"] == 2 * 10**7
    path = save_project(Project(net.doc, "huge"), tmp_path / "huge.loom")
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 1,000,011,000,010" in out and "2.0T" in out


def test_validate_warns_when_the_weights_exceed_the_devices_memory(tmp_path, capsys) -> None:
    path = save_project(Project(_huge().doc, "huge", training={"device": "cpu"}), tmp_path / "huge.loom")
    assert main(["validate", str(path)]) == 0  # a warning, not an error
    out = capsys.readouterr().out
    assert "warning memory: the weights alone need 3.6 TB" in out and "(1 error(s)" not in out


def test_validate_warns_when_a_batch_of_activations_does_not_fit() -> None:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    side = int((ram / 1000) ** 0.5) + 1  # three copies of side² floats, x2 x4 bytes x64 samples > RAM
    net = Network("wide")
    x = net.input((side, side), name="x")
    net.output(net.add("ReLU", x, name="relu"), name="y")
    result = analyze(net.doc)
    assert memory_estimate(result).parameters == 0
    warnings = memory_warnings(result, "cpu", batch_size=64)
    assert len(warnings) == 1 and "activations for a batch of 64" in warnings[0]
    assert memory_warnings(result, "cpu", batch_size=1) == []


def test_ordinary_networks_get_no_memory_warning() -> None:
    net = Network("small")
    x = net.input((1, 28, 28))
    x = net.add("Flatten", x)
    net.output(net.add("Linear", x, out_features=10))
    assert memory_warnings(analyze(net.doc), "auto") == []
