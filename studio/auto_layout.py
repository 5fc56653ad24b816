"""Auto-arrange: a layered left-to-right layout of a network, computed with networkx.

Layers are the longest-path layering from the sources (`topological_generations`),
so every wire points right. Within each layer nodes are ordered by the barycentre
of their neighbours in the previous layer (a few sweeps down and back up), which
removes most wire crossings in the branchy networks people draw (residual blocks,
multi-input merges). Each node is then placed as close as it can to the average
height of its predecessors, so chains come out as straight horizontal lines.

Input: the document and each node's size on the canvas. Output: a top-left
position per node, snapped to `grid`. Nothing here imports Qt or writes the
document; the controller turns the result into one move command. Cycles (which
a document may hold) are broken by dropping back edges first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx

from engine.graph.document import GraphDocument

Size = tuple[float, float]


def _acyclic_graph(doc: GraphDocument) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(doc.nodes)
    graph.add_edges_from((e.source, e.target) for e in doc.edges)
    while not nx.is_directed_acyclic_graph(graph):
        u, v = nx.find_cycle(graph)[-1][:2]
        graph.remove_edge(u, v)
    return graph


def _barycentre_order(graph: nx.DiGraph, layers: list[list[str]], sweeps: int = 4) -> list[list[str]]:
    layers = [list(layer) for layer in layers]
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        indices = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for i in indices:
            ref = layers[i - 1] if downward else layers[i + 1]
            rank = {n: k for k, n in enumerate(ref)}
            neighbours = graph.predecessors if downward else graph.successors

            def key(n: str, rank: dict[str, int] = rank, neighbours=neighbours,
                    layer: list[str] = layers[i]) -> float:
                ranks = [rank[m] for m in neighbours(n) if m in rank]
                return sum(ranks) / len(ranks) if ranks else float(layer.index(n))

            layers[i].sort(key=key)
    return layers


def layered_layout(doc: GraphDocument, sizes: Mapping[str, Size], *, gap_x: float = 100.0,
                   gap_y: float = 40.0, grid: float = 20.0) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node of `doc`, flowing left to right."""
    if not doc.nodes:
        return {}
    graph = _acyclic_graph(doc)
    document_order = {n: i for i, n in enumerate(doc.nodes)}
    layers = [sorted(g, key=document_order.__getitem__) for g in nx.topological_generations(graph)]
    layers = _barycentre_order(graph, layers)

    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for layer in layers:
        width = max(sizes.get(n, (160.0, 60.0))[0] for n in layer)
        wanted = []
        for n in layer:
            ys = [positions[p][1] for p in graph.predecessors(n) if p in positions]
            wanted.append(sum(ys) / len(ys) if ys else None)
        ys = _place_column(layer, wanted, sizes, gap_y)
        for n, y in zip(layer, ys):
            positions[n] = (_snap(x, grid), _snap(y, grid))
        x += width + gap_x
    return positions


def _place_column(layer: list[str], wanted: list[float | None], sizes: Mapping[str, Size],
                  gap_y: float) -> list[float]:
    """Heights for one layer, in order and without overlaps, as near each wanted height as possible.

    With offsets o_i (the heights and gaps above node i), z_i = y_i - o_i must not decrease; the
    least-squares z is an isotonic regression, solved by pooling adjacent violators.
    """
    heights = [sizes.get(n, (160.0, 60.0))[1] for n in layer]
    known = [w for w in wanted if w is not None]
    fallback = sum(known) / len(known) if known else 0.0
    offsets, acc = [], 0.0
    for h in heights:
        offsets.append(acc)
        acc += h + gap_y
    if not known:  # a column of sources: centre the stack on zero
        return [o - (acc - gap_y) / 2 for o in offsets]
    targets = [(w if w is not None else fallback) - o for w, o in zip(wanted, offsets)]
    weights = [1.0 if w is not None else 0.01 for w in wanted]
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, wt in zip(targets, weights):
        blocks.append([t, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    z = [m for m, _, count in blocks for _ in range(count)]
    return [zi + o for zi, o in zip(z, offsets)]


def _snap(value: float, grid: float) -> float:
    # Half-up rounding (not Python's half-to-even) keeps the distance between two snapped values.
    return math.floor(value / grid + 0.5) * grid if grid > 0 else value
