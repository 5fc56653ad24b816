"""Build: the document becomes a torch.fx.GraphModule named after the nodes, equal to hand-written PyTorch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.build import BuildError, build_module, example_inputs
from engine.graph.analysis import analyze
from engine.network import Network


def lenet5_network() -> Network:
    net = Network("lenet5")
    x = net.input((1, 28, 28), name="image")
    x = net.add("Conv2d", x, out_channels=6, kernel_size=5, padding=2, name="conv1")
    x = net.add("Tanh", x, name="act1")
    x = net.add("AvgPool2d", x, kernel_size=2, name="pool1")
    x = net.add("Conv2d", x, out_channels=16, kernel_size=5, name="conv2")
    x = net.add("Tanh", x, name="act2")
    x = net.add("AvgPool2d", x, kernel_size=2, name="pool2")
    x = net.add("Flatten", x, name="flatten")
    x = net.add("Linear", x, out_features=120, name="fc1")
    x = net.add("Tanh", x, name="act3")
    x = net.add("Linear", x, out_features=84, name="fc2")
    x = net.add("Tanh", x, name="act4")
    x = net.add("Linear", x, out_features=10, name="fc3")
    net.output(x, name="logits")
    return net


class HandLeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.avg_pool2d(torch.tanh(self.conv1(x)), 2)
        x = nn.functional.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.tanh(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def residual_network() -> Network:
    net = Network("residual")
    x = net.input((8, 12, 12), name="image")
    y = net.add("Conv2d", x, out_channels=8, kernel_size=3, padding="same", bias=False, name="conv_a")
    y = net.add("BatchNorm2d", y, name="bn_a")
    y = net.add("ReLU", y, name="relu_a")
    y = net.add("Conv2d", y, out_channels=8, kernel_size=3, padding=1, bias=False, name="conv_b")
    y = net.add("BatchNorm2d", y, name="bn_b")
    s = net.add("Add", [y, x], name="skip")
    s = net.add("ReLU", s, name="relu_out")
    s = net.add("GlobalAvgPool", s, name="gap")
    s = net.add("Linear", s, out_features=5, name="head")
    net.output(s)
    return net


class HandResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(8, 8, 3, padding="same", bias=False)
        self.bn_a = nn.BatchNorm2d(8)
        self.conv_b = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn_a(self.conv_a(x)))
        y = self.bn_b(self.conv_b(y))
        y = torch.relu(y + x)
        return self.head(y.mean(dim=(2, 3)))


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy by matching parameter names: the built module uses the node ids as names."""
    target_state = target.state_dict()
    source_state = source.state_dict()
    assert set(target_state) == set(source_state), set(target_state) ^ set(source_state)
    target.load_state_dict(source_state)


@pytest.mark.parametrize(("network", "hand", "shape"), [
    (lenet5_network, HandLeNet5, (4, 1, 28, 28)),
    (residual_network, HandResidual, (4, 8, 12, 12)),
])
def test_built_network_equals_hand_written_pytorch(network, hand, shape):
    torch.manual_seed(0)
    net = network()
    built = build_module(net.doc)
    reference = hand()
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in reference.parameters())
    assert sum(p.numel() for p in built.parameters()) == net.analyze().total_params
    copy_weights(reference, built)
    x = torch.randn(shape)
    for mode in ("train", "eval"):
        getattr(built, mode)()
        getattr(reference, mode)()
        torch.testing.assert_close(built(x), reference(x), rtol=0, atol=0)


def test_forward_shapes_equal_inferred_shapes_at_every_node():
    net = lenet5_network()
    result = net.analyze()
    built = build_module(net.doc).eval()
    seen: dict[str, tuple[int, ...]] = {}
    for name, module in built.named_children():
        module.register_forward_hook(lambda m, i, o, _n=name: seen.__setitem__(_n, tuple(o.shape[1:])))
    built(*example_inputs(net.doc))
    assert seen and all(seen[k] == result.nodes[k].output.shape for k in seen)


def test_module_speaks_the_users_names():
    built = build_module(lenet5_network().doc)
    assert "conv1 = self.conv1(image)" in built.code
    assert "fc3.weight" in built.state_dict()


def test_several_inputs_and_outputs():
    net = Network()
    a = net.input((6,), name="left")
    b = net.input((4,), name="right")
    cat = net.add("Concat", [a, b], dim=1)
    h = net.add("Linear", cat, out_features=3, name="h")
    net.output(h, name="main")
    net.output(net.add("Sigmoid", a), name="aux")
    built = build_module(net.doc)
    main, aux = built(torch.randn(2, 6), torch.randn(2, 4))
    assert main.shape == (2, 3) and aux.shape == (2, 6)


def test_build_refuses_a_network_with_errors_and_says_why():
    net = Network()
    x = net.input((1, 8, 8))
    net.output(net.add("Linear", x, out_features=2, name="fc"))
    with pytest.raises(BuildError, match="fc \\(Linear\\): Linear works on the last dimension"):
        build_module(net.doc)
    assert not analyze(net.doc).ok


def test_token_input_sequence_model_builds():
    net = Network()
    x = net.input((12,), dtype="token_ids")
    x = net.add("Embedding", x, num_embeddings=20, embedding_dim=8)
    x = net.add("LSTM", x, hidden_size=16, return_sequences=False)
    net.output(net.add("Linear", x, out_features=2))
    built = build_module(net.doc)
    assert built(torch.randint(0, 20, (3, 12))).shape == (3, 2)
