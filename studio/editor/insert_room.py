"""Where a node inserted after another goes, so that it never lands on top of its neighbours.

`place_after(doc, sizes, source, feeds)` answers for a node added right after `source` (a fix
inserted on a wire, or a quick-add with a node selected): the new node goes right of `source`, on
its row; when it will feed `feeds` and there is not room enough before it, `feeds` and every node
downstream of it move right by just what is needed (returned as moves, for one undo step with the
insertion); when another node still sits where the new one would go, the new one moves down
below it. Sizes are the canvas's drawn node sizes; the new node's own size is estimated (it is
not drawn yet). Pure geometry on the document: nothing here changes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.graph.document import GraphDocument

Size = tuple[float, float]
Position = tuple[float, float]
NEW_NODE_SIZE: Size = (180.0, 70.0)  # a little larger than most drawn nodes, to be safe
GAP = 60.0
GRID = 20.0
CLEARANCE = 16.0


def _snap(v: float) -> float:
    return round(v / GRID) * GRID


def downstream(doc: GraphDocument, start: str) -> list[str]:
    """`start` and every node a wire path leads to from it."""
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for edge in doc.edges:
            if edge.source == node and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return [n for n in doc.nodes if n in seen]


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    c = CLEARANCE
    return ax < bx + bw + c and bx < ax + aw + c and ay < by + bh + c and by < ay + ah + c


def place_after(doc: GraphDocument, sizes: Mapping[str, Size], source: str, feeds: str | None = None,
                new_size: Size = NEW_NODE_SIZE) -> tuple[Position, dict[str, Position]]:
    """(position of the new node, {node id: new position} of the nodes that move right)."""
    default = NEW_NODE_SIZE
    sx, sy = doc.nodes[source].position
    sw, _sh = sizes.get(source, default)
    nw, nh = new_size
    x, y = sx + sw + GAP, sy
    moves: dict[str, Position] = {}
    if feeds is not None and feeds in doc.nodes:
        tx = doc.nodes[feeds].position[0]
        room = tx - (sx + sw)
        if room >= nw + 2 * GAP:  # enough room already: centre it in the gap
            x = sx + sw + (room - nw) / 2
        else:
            shift = _snap(nw + 2 * GAP - room + GRID / 2)
            moves = {n: (doc.nodes[n].position[0] + shift, doc.nodes[n].position[1])
                     for n in downstream(doc, feeds) if n != source}
    x = _snap(x)
    placed = {n: moves.get(n, doc.nodes[n].position) for n in doc.nodes}
    for _ in range(len(doc.nodes) + 1):
        blocking = [n for n, (px, py) in placed.items()
                    if n != source and _overlaps((x, y, nw, nh), (px, py, *sizes.get(n, default)))]
        if not blocking:
            break
        y = _snap(max(placed[n][1] + sizes.get(n, default)[1] for n in blocking) + GAP / 2)
    return (x, y), moves
