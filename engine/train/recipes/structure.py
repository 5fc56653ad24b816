"""How a recipe reads the network: a GAN's two networks, an autoencoder's two halves, and the problems.

A GAN project holds two networks in one document, told apart by what they start from: the
**generator** is the connected part that starts at the Noise node and ends at an Output; the
**discriminator** is the part that starts at the Input (the data) and ends at an Output giving one
logit per sample. The generator's output must have the Input's shape. `gan_roles` finds both
(node ids, in document order) or says what is missing.

An autoencoder is one network from Input to Output; its **latent** node is where the encoder ends
and the decoder begins: the Sampling layer of a VAE, else the narrowest node (fewest values per
sample) that every path from the Input to the Output passes through. `autoencoder_split` gives
the latent node and the node ids of each half.

`recipe_problems` are the reasons a network cannot train with a recipe (a `StartProblem`-like pair
of message and node id); `network_part` cuts one part out as a network of its own (a new Input
where the decoder starts, a new Output where the encoder ends) for export. No torch, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from engine.graph.analysis import Analysis
from engine.graph.document import GraphDocument, Node
from engine.train.recipes.declared import AUTOENCODER, GAN, SUPERVISED, VAE

if TYPE_CHECKING:
    from engine.data.config import DatasetSummary

NOISE_TYPE = "Noise"
SAMPLING_TYPE = "Sampling"
SIGMOID_TYPES = ("Sigmoid",)
PARTS = {GAN: ("generator", "discriminator"), AUTOENCODER: ("encoder", "decoder"), VAE: ("encoder", "decoder")}

Problem = tuple[str, "str | None"]  # (message, node id)


class RecipeStructureError(ValueError):
    """The network does not have the parts a recipe or a partial export needs."""


@dataclass(frozen=True)
class GanRoles:
    """The two networks of a GAN project."""

    noise: str  # the Noise node
    input: str  # the Input node (real samples)
    generator_output: str
    discriminator_output: str
    generator: tuple[str, ...]  # node ids, document order
    discriminator: tuple[str, ...]


@dataclass(frozen=True)
class AutoencoderSplit:
    """Where an autoencoder's encoder ends and its decoder begins."""

    latent: str  # the last node of the encoder (its output is the latent code)
    encoder: tuple[str, ...]  # node ids from the Input up to the latent node
    decoder: tuple[str, ...]  # node ids after the latent node, to the Output


def is_noise(node: Node) -> bool:
    return node.type_id == NOISE_TYPE


def data_inputs(doc: GraphDocument) -> list[Node]:
    """The Input nodes that take the dataset's samples (not a generator's Noise)."""
    return [n for n in doc.nodes.values() if doc.spec_of(n).is_input and not is_noise(n)]


def noise_nodes(doc: GraphDocument) -> list[Node]:
    return [n for n in doc.nodes.values() if is_noise(n)]


def output_nodes(doc: GraphDocument) -> list[Node]:
    return [n for n in doc.nodes.values() if doc.spec_of(n).is_output]


def _graph(doc: GraphDocument) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(doc.nodes)
    graph.add_edges_from((e.source, e.target) for e in doc.edges)
    return graph


def _ordered(doc: GraphDocument, ids: set[str]) -> tuple[str, ...]:
    return tuple(node_id for node_id in doc.nodes if node_id in ids)


# ---- GAN ----------------------------------------------------------------------------------
def gan_roles(doc: GraphDocument) -> tuple[GanRoles | None, list[Problem]]:
    """The generator and the discriminator, or the problems that keep them from being found."""
    noises, inputs, outputs = noise_nodes(doc), data_inputs(doc), output_nodes(doc)
    problems: list[Problem] = []
    if len(noises) != 1:
        problems.append((f"a GAN needs exactly one Noise node for its generator to start from; the network has "
                         f"{len(noises)}", noises[1].id if len(noises) > 1 else None))
    if len(inputs) != 1:
        problems.append((f"a GAN needs exactly one Input node for the real samples its discriminator judges; the "
                         f"network has {len(inputs)}", inputs[1].id if len(inputs) > 1 else None))
    if len(outputs) != 2:
        problems.append((f"a GAN needs two Output nodes, one after the generator and one after the discriminator; "
                         f"the network has {len(outputs)}", None))
    if problems:
        return None, problems
    graph = _graph(doc)
    noise, data = noises[0].id, inputs[0].id
    generator = nx.descendants(graph, noise) | {noise}
    discriminator = nx.descendants(graph, data) | {data}
    shared = generator & discriminator
    if shared:
        first = _ordered(doc, shared)[0]
        return None, [(f"the generator (from the Noise node) and the discriminator (from the Input) must be two "
                       f"separate networks, but '{doc.nodes[first].name}' is reached from both", first)]
    ends = {o.id: ("generator" if o.id in generator else "discriminator" if o.id in discriminator else None)
            for o in outputs}
    g_out = [o for o, role in ends.items() if role == "generator"]
    d_out = [o for o, role in ends.items() if role == "discriminator"]
    if len(g_out) != 1 or len(d_out) != 1:
        return None, [("the generator (from the Noise node) and the discriminator (from the Input) must each end at "
                       "one Output node", None)]
    upstream = nx.ancestors(graph, g_out[0]) | nx.ancestors(graph, d_out[0])
    stray = [n for n in doc.nodes if n not in upstream and n not in (g_out[0], d_out[0])]
    if stray:
        return None, [(f"'{doc.nodes[stray[0]].name}' belongs to neither the generator nor the discriminator",
                       stray[0])]
    return GanRoles(noise, data, g_out[0], d_out[0], _ordered(doc, generator), _ordered(doc, discriminator)), []


def gan_problems(doc: GraphDocument, analysis: Analysis) -> list[Problem]:
    roles, problems = gan_roles(doc)
    if roles is None:
        return problems
    fake, real = analysis.output_of(roles.generator_output), analysis.output_of(roles.input)
    verdict = analysis.output_of(roles.discriminator_output)
    if fake is not None and real is not None and fake.shape != real.shape:
        problems.append((f"the generator makes samples of shape {fake.label()} but the discriminator's Input takes "
                         f"{real.label()}: they must match", roles.generator_output))
    if verdict is not None and verdict.numel != 1:
        problems.append((f"the discriminator must end with one logit per sample (N×1), not {verdict.label()}: end "
                         "it with Linear(out_features=1)", roles.discriminator_output))
    return problems


# ---- autoencoders ---------------------------------------------------------------------------
def autoencoder_split(doc: GraphDocument, analysis: Analysis) -> tuple[AutoencoderSplit | None, list[Problem]]:
    """The latent node and the encoder's and decoder's node ids (one Input, one Output)."""
    inputs, outputs = data_inputs(doc), output_nodes(doc)
    if len(inputs) != 1 or len(outputs) != 1:
        return None, [("an autoencoder needs exactly one Input and one Output node", None)]
    graph = _graph(doc)
    start, end = inputs[0].id, outputs[0].id
    if end not in nx.descendants(graph, start):
        return None, [("the Output is not reached from the Input", end)]
    samplers = [n.id for n in doc.nodes.values() if n.type_id == SAMPLING_TYPE]
    if len(samplers) > 1:
        return None, [("a VAE has one Sampling layer; the network has several", samplers[1])]
    latent = samplers[0] if samplers else _narrowest_cut(doc, graph, analysis, start, end)
    if latent is None:
        return None, [("no layer between the Input and the Output is passed by every path, so the network has no "
                       "latent code to split at", None)]
    encoder = nx.ancestors(graph, latent) | {latent}
    decoder = (nx.descendants(graph, latent) | nx.ancestors(graph, end) | {end}) - encoder
    if any(p in encoder and p != latent for n in decoder for p in graph.predecessors(n)):
        return None, [("part of the decoder does not start from the latent code", latent)]
    return AutoencoderSplit(latent, _ordered(doc, encoder), _ordered(doc, decoder)), []


def _narrowest_cut(doc: GraphDocument, graph: nx.DiGraph, analysis: Analysis, start: str, end: str) -> str | None:
    """The layer every Input-to-Output path passes whose output has the fewest values (earliest on ties)."""
    on_path = (nx.descendants(graph, start) & nx.ancestors(graph, end))
    sub = graph.subgraph(on_path | {start, end})
    dominators = nx.immediate_dominators(sub, start)
    chain, node = [], dominators.get(end)
    while node is not None and node != start:
        chain.append(node)
        node = dominators.get(node)
    best: tuple[int, int, str] | None = None
    order = {node_id: i for i, node_id in enumerate(doc.nodes)}
    for node_id in chain:
        spec = analysis.output_of(node_id)
        if spec is None:
            continue
        key = (spec.numel, order[node_id], node_id)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def autoencoder_problems(doc: GraphDocument, analysis: Analysis, kind: str, loss: str,
                         summary: DatasetSummary | None) -> list[Problem]:
    problems: list[Problem] = []
    if noise_nodes(doc):
        problems.append(("a Noise node feeds a GAN's generator: remove it, or choose the gan recipe",
                         noise_nodes(doc)[0].id))
    inputs, outputs = data_inputs(doc), output_nodes(doc)
    if len(inputs) != 1 or len(outputs) != 1:
        return problems  # the one-Input, one-Output rule says so already
    if kind == VAE and not any(n.type_id == SAMPLING_TYPE for n in doc.nodes.values()):
        problems.append(("the vae recipe needs a Sampling layer (fed by the latent mean and log variance) for its "
                         "KL term", None))
    made, given = analysis.output_of(outputs[0].id), analysis.output_of(inputs[0].id)
    if made is not None and given is not None and made.shape != given.shape:
        problems.append((f"an autoencoder reconstructs its input: the output has shape {made.label()} but the Input "
                         f"{given.label()}", outputs[0].id))
    if loss == "bce":
        last = [e.source for e in doc.edges_into(outputs[0].id)]
        if last and doc.nodes[last[0]].type_id not in SIGMOID_TYPES:
            problems.append(("the bce reconstruction loss needs outputs in [0, 1]: end the decoder with Sigmoid",
                             outputs[0].id))
    if summary is not None and summary.input_dtype != "float32":
        problems.append(("an autoencoder reconstructs float inputs; this dataset's inputs are token ids", None))
    return problems


def recipe_problems(doc: GraphDocument, analysis: Analysis, kind: str, loss: str = "mse",
                    summary: DatasetSummary | None = None) -> list[Problem]:
    """Why the network cannot train with recipe `kind` (empty when it can)."""
    if kind == GAN:
        return gan_problems(doc, analysis)
    if kind in (AUTOENCODER, VAE):
        return autoencoder_problems(doc, analysis, kind, loss, summary)
    if kind == SUPERVISED and noise_nodes(doc):
        return [("a Noise node feeds a GAN's generator: choose the gan recipe in the Training settings",
                 noise_nodes(doc)[0].id)]
    return []


# ---- parts as networks of their own -----------------------------------------------------------
def available_parts(doc: GraphDocument, analysis: Analysis, kind: str) -> tuple[str, ...]:
    """The parts of the network that export alone under recipe `kind` (empty when none)."""
    if kind == GAN:
        return PARTS[GAN] if gan_roles(doc)[0] is not None else ()
    if kind in (AUTOENCODER, VAE):
        return PARTS[kind] if autoencoder_split(doc, analysis)[0] is not None else ()
    return ()


def network_part(doc: GraphDocument, analysis: Analysis, kind: str, part: str) -> GraphDocument:
    """Part `part` of the network as a document of its own (node ids kept, so weights load by name).

    The generator and the discriminator are cut as they are. The encoder ends at the latent node with a
    new Output; the decoder starts with a new Input of the latent code's shape where the latent node was.
    Raises `RecipeStructureError` when the network has no such part.
    """
    from engine.graph.serialize import document_from_data, document_to_data

    wanted = PARTS.get(kind, ())
    if part not in wanted:
        allowed = ", ".join(wanted) or "none (choose the autoencoder, vae or gan recipe)"
        raise RecipeStructureError(f"the {kind} recipe has no part {part!r}; its parts: {allowed}")
    if kind == GAN:
        roles, problems = gan_roles(doc)
        if roles is None:
            raise RecipeStructureError(problems[0][0])
        keep = set(roles.generator if part == "generator" else roles.discriminator)
        copy = document_from_data(document_to_data(doc))
        for node_id in [n for n in copy.nodes if n not in keep]:
            copy.remove_node(node_id)
        return copy
    split, problems = autoencoder_split(doc, analysis)
    if split is None:
        raise RecipeStructureError(problems[0][0])
    copy = document_from_data(document_to_data(doc))
    keep = set(split.encoder if part == "encoder" else split.decoder)
    cut = [(e.target, e.target_port) for e in doc.edges_from(split.latent) if e.target in split.decoder]
    for node_id in [n for n in copy.nodes if n not in keep]:
        copy.remove_node(node_id)
    if part == "encoder":
        out = copy.add_node("Output", name=_free_name(copy, "latent"))
        copy.connect(split.latent, doc.spec(split.latent).outputs[0].name, out.id, "in")
        return copy
    latent = analysis.output_of(split.latent)
    assert latent is not None, "a valid network has a shape at every node"
    start = copy.add_node("Input", name=_free_name(copy, "latent"), params={"shape": latent.shape}, index=0)
    for target, port in cut:
        copy.connect(start.id, "out", target, port)
    return copy


def _free_name(doc: GraphDocument, name: str) -> str:
    """`name` itself when no node has it (the exported file's input or output name), else a numbered one."""
    return name if doc.node_by_name(name) is None and name not in doc.nodes else doc.unique_name(name)
