"""Auto-arrange: a layered left-to-right layout of a network, computed with networkx.

Layers are the longest-path layering from the sources (`topological_generations`),
so every wire points right. A wire that spans several layers gets a placeholder
("dummy") in each layer it crosses, which reserves a lane for it: the wire then
runs straight along that lane instead of through the nodes in between (the
skip connections of a residual network become a straight spine with each
block's layers hanging beside it). Within each layer nodes are ordered by the
barycentre of their neighbours in the previous layer, in sweeps down and back
up, which removes most crossings. Each node is then placed as near as it can to
its predecessors' height (a node where a long wire ends lines up with that
wire's lane), so chains come out as straight horizontal lines; the placement of
one column is an isotonic regression, solved exactly by pooling adjacent
violators.

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
DEFAULT_SIZE = (160.0, 60.0)
LANE = 30.0  # the height a long wire's lane takes in a column
LANE_WEIGHT = 1000.0  # lanes stay put; nodes make room around them


class _Dummy(tuple):
    """A placeholder for a long wire in one layer: (source, target, layer)."""


def _acyclic_graph(doc: GraphDocument) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(doc.nodes)
    graph.add_edges_from((e.source, e.target) for e in doc.edges)
    while not nx.is_directed_acyclic_graph(graph):
        u, v = nx.find_cycle(graph)[-1][:2]
        graph.remove_edge(u, v)
    return graph


def _with_lanes(graph: nx.DiGraph, layers: list[list]) -> nx.DiGraph:
    """The graph with a dummy node in every layer a wire skips (added to `layers` too)."""
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    extended = nx.DiGraph()
    extended.add_nodes_from(graph)
    for u, v in graph.edges:
        previous = u
        for k in range(layer_of[u] + 1, layer_of[v]):
            dummy = _Dummy((u, v, k))
            layers[k].append(dummy)
            extended.add_edge(previous, dummy)
            previous = dummy
        extended.add_edge(previous, v)
    return extended


def _barycentre_order(graph: nx.DiGraph, layers: list[list], sweeps: int = 4) -> list[list]:
    layers = [list(layer) for layer in layers]
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        indices = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
        for i in indices:
            ref = layers[i - 1] if downward else layers[i + 1]
            rank = {n: k for k, n in enumerate(ref)}
            neighbours = graph.predecessors if downward else graph.successors
            current = {n: k for k, n in enumerate(layers[i])}

            def key(n, rank=rank, neighbours=neighbours, current=current) -> tuple[float, int, int]:
                ranks = [rank[m] for m in neighbours(n) if m in rank]
                centre = sum(ranks) / len(ranks) if ranks else float(current[n])
                return centre, 0 if isinstance(n, _Dummy) else 1, current[n]

            layers[i].sort(key=key)
    return layers


def layered_layout(doc: GraphDocument, sizes: Mapping[str, Size], *, gap_x: float = 100.0,
                   gap_y: float = 40.0, grid: float = 20.0) -> dict[str, tuple[float, float]]:
    """Top-left positions for every node of `doc`, flowing left to right."""
    if not doc.nodes:
        return {}
    graph = _acyclic_graph(doc)
    document_order = {n: i for i, n in enumerate(doc.nodes)}
    layers: list[list] = [sorted(g, key=document_order.__getitem__) for g in nx.topological_generations(graph)]
    extended = _with_lanes(graph, layers)
    layers = _barycentre_order(extended, layers)

    def size(n) -> Size:
        return (0.0, LANE) if isinstance(n, _Dummy) else sizes.get(n, DEFAULT_SIZE)

    tops: dict = {}
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for layer in layers:
        wanted = [_wanted_top(extended, n, tops) for n in layer]
        weights = [0.01 if w is None else LANE_WEIGHT if isinstance(n, _Dummy) else 1.0
                   for n, w in zip(layer, wanted)]
        ys = _place_column([size(n)[1] for n in layer], wanted, weights, gap_y)
        for n, y in zip(layer, ys):
            tops[n] = _snap(y, grid)
            if not isinstance(n, _Dummy):
                positions[n] = (_snap(x, grid), tops[n])
        x += max(size(n)[0] for n in layer) + gap_x
    return positions


def _wanted_top(graph: nx.DiGraph, n, tops: dict) -> float | None:
    """Where `n` would like its top: level with its predecessors (with a long wire's lane, if one ends here)."""
    preds = [p for p in graph.predecessors(n) if p in tops]
    lanes = [p for p in preds if isinstance(p, _Dummy)]
    chosen = lanes or preds
    return sum(tops[p] for p in chosen) / len(chosen) if chosen else None


def _place_column(heights: list[float], wanted: list[float | None], weights: list[float],
                  gap_y: float) -> list[float]:
    """Tops for one column, in order and without overlaps, as near each wanted top as possible.

    With offsets o_i (the heights and gaps above item i), z_i = y_i - o_i must not decrease; the
    weighted least-squares z is an isotonic regression, solved by pooling adjacent violators.
    """
    offsets, acc = [], 0.0
    for h in heights:
        offsets.append(acc)
        acc += h + gap_y
    known = [w for w in wanted if w is not None]
    if not known:  # a column of sources: centre the stack on zero
        return [o - (acc - gap_y) / 2 for o in offsets]
    fallback = sum(known) / len(known)
    targets = [(w if w is not None else fallback) - o for w, o in zip(wanted, offsets)]
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, wt in zip(targets, weights):
        blocks.append([t, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    z = [m for m, _, count in blocks for _ in range(int(count))]
    return [zi + o for zi, o in zip(z, offsets)]


def _snap(value: float, grid: float) -> float:
    # Half-up rounding (not Python's half-to-even) keeps the distance between two snapped values.
    return math.floor(value / grid + 0.5) * grid if grid > 0 else value


def layout_is_broken(doc: GraphDocument, sizes: Mapping[str, Size], port_y: float = 15.0) -> bool:
    """True when stored positions would draw a muddle worth re-arranging as a file opens:
    every node on one spot, nodes on top of each other, or a wire running through another node."""
    nodes = doc.nodes
    if len(nodes) < 2:
        return False
    if len({n.position for n in nodes.values()}) == 1:
        return True
    rects = sorted(((n.position[0], n.position[1], *sizes.get(i, DEFAULT_SIZE), i) for i, n in nodes.items()))
    for k, (x, y, w, h, _) in enumerate(rects):  # sweep in x: only nodes starting before this one ends
        for x2, y2, _w2, h2, _ in rects[k + 1:]:
            if x2 >= x + w:
                break
            if y2 < y + h and y < y2 + h2:
                return True
    for edge in doc.edges:
        sx, sy = nodes[edge.source].position
        tx, ty = nodes[edge.target].position
        start = (sx + sizes.get(edge.source, DEFAULT_SIZE)[0], sy + port_y)
        end = (tx, ty + port_y)
        for x, y, w, h, node_id in rects:
            if x > max(start[0], end[0]):
                break
            if node_id not in (edge.source, edge.target) and _segment_hits(start, end, (x + 4, y + 4, w - 8, h - 8)):
                return True
    return False


def _segment_hits(a: tuple[float, float], b: tuple[float, float], rect: tuple[float, float, float, float]) -> bool:
    """Whether the segment a-b crosses the rectangle (x, y, w, h) (Liang-Barsky clipping)."""
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return False
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - x), (dx, x + w - a[0]), (-dy, a[1] - y), (dy, y + h - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True
