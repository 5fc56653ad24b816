"""Node ids that would clash with the built module's own attributes (``forward``, ``graph``, ``code``,
``training``...) are never given, and a file that carries one is refused with a clear message."""

from __future__ import annotations

import json

import pytest
import torch
from torch import fx

from engine.build import build_module
from engine.graph.document import GraphDocument
from engine.graph.errors import DocumentError, ProjectFileError
from engine.graph.reserved_names import GRAPH_MODULE_ATTRIBUTES, is_reserved
from engine.network import Network
from engine.project import Project, project_from_json, project_json_bytes


def test_the_list_covers_every_attribute_of_torchs_graph_module():
    instance = fx.GraphModule(torch.nn.Module(), fx.Graph())
    attributes = {n for n in set(dir(fx.GraphModule)) | set(vars(instance)) if not n.startswith("__")}
    assert attributes <= GRAPH_MODULE_ATTRIBUTES, sorted(attributes - GRAPH_MODULE_ATTRIBUTES)
    assert is_reserved("forward") and is_reserved("class") and is_reserved("__init__")
    assert not is_reserved("conv1") and not is_reserved("forward_2")


@pytest.mark.parametrize("name", ["forward", "graph", "code", "training", "to", "state_dict"])
def test_a_layer_named_like_a_module_attribute_builds_trains_and_keeps_its_name(name):
    net = Network("clash")
    x = net.input((4,), name="x")
    y = net.add("Linear", x, out_features=3, name=name)
    net.output(y, name="out")
    node = next(n for n in net.doc.nodes.values() if n.name == name)
    assert node.id != name and not is_reserved(node.id)
    module = build_module(net.doc)
    module.train()
    module(torch.zeros(2, 4)).sum().backward()
    module.eval()
    assert not module.training and module(torch.zeros(2, 4)).shape == (2, 3)


def test_a_reserved_id_is_refused_in_the_document_and_in_a_file():
    doc = GraphDocument()
    with pytest.raises(DocumentError, match="'forward' is a name the built PyTorch module uses itself"):
        doc.add_node("Linear", node_id="forward")
    net = Network("file")
    x = net.input((4,), name="x")
    y = net.add("Linear", x, out_features=3, name="dense")
    net.output(y, name="out")
    data = json.loads(project_json_bytes(Project(net.doc, "file")))
    text = json.dumps(data).replace('"dense"', '"graph"')
    with pytest.raises(ProjectFileError, match=r"node 'graph'.*uses itself"):
        project_from_json(text.encode())
