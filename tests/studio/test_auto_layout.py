"""Auto-arrange: left to right, no overlaps, skip connections in their own lane; muddled files detected."""

from __future__ import annotations

from studio_networks import chain, resnet_small

from engine.graph.document import GraphDocument
from studio.editor.auto_layout import layered_layout, layout_is_broken

SIZE = (180.0, 100.0)
PORT_Y = 15.0


def overlaps(a, b) -> bool:
    return a[0] < b[0] + SIZE[0] and b[0] < a[0] + SIZE[0] and a[1] < b[1] + SIZE[1] and b[1] < a[1] + SIZE[1]


def test_resnet_layout_flows_right_without_overlaps_and_straight_skips():
    doc = resnet_small().network
    positions = layered_layout(doc, {n: SIZE for n in doc.nodes})
    assert set(positions) == set(doc.nodes)
    for e in doc.edges:
        assert positions[e.source][0] < positions[e.target][0]
    items = list(positions.values())
    assert not any(overlaps(a, b) for i, a in enumerate(items) for b in items[i + 1:])
    doc.move_nodes(positions)
    assert not layout_is_broken(doc, {n: SIZE for n in doc.nodes})
    # Every skip connection into an Add runs level (its own lane), not through the block.
    for node in doc.nodes.values():
        if node.type_id == "Add":
            ys = sorted(positions[e.source][1] for e in doc.edges_into(node.id))
            assert positions[node.id][1] in ys


def test_chain_is_a_straight_line_and_fan_out_is_centred():
    doc = GraphDocument()
    ids = chain(doc, [("Input", "x", {"shape": (8,)}), ("Linear", "a", {}), ("ReLU", "b", {})])
    left = chain(doc, [("Linear", "c", {})], start=ids[-1])
    right = chain(doc, [("Linear", "d", {})], start=ids[-1])
    positions = layered_layout(doc, {n: SIZE for n in doc.nodes})
    assert len({positions[n][1] for n in ids}) == 1
    top, bottom = positions[left[0]][1], positions[right[0]][1]
    assert bottom - top >= SIZE[1] and abs((top + bottom) / 2 - positions[ids[-1]][1]) <= 20


def test_muddled_layouts_are_detected():
    doc = resnet_small().network
    sizes = {n: SIZE for n in doc.nodes}
    doc.move_nodes({n: (0.0, 0.0) for n in doc.nodes})
    assert layout_is_broken(doc, sizes)
    doc.move_nodes({n: (i * 300.0, 0.0) for i, n in enumerate(doc.nodes)})
    assert layout_is_broken(doc, sizes)  # skip wires run straight through the blocks
    plain = GraphDocument()
    ids = chain(plain, [("Input", "x", {"shape": (8,)}), ("Linear", "a", {}), ("Output", "o", {})])
    plain.move_nodes({n: (i * 300.0, 0.0) for i, n in enumerate(ids)})
    assert not layout_is_broken(plain, {n: SIZE for n in ids})
