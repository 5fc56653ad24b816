"""Benchmark of validation and shape inference on a large network (no torch involved)."""

from __future__ import annotations

import time
from statistics import median

from engine.graph.analysis import NetworkAnalyzer
from engine.graph.document import GraphDocument


def chain_network(n_nodes: int = 500) -> tuple[GraphDocument, list[str]]:
    """A deep MLP-like chain with residual joins every few layers, `n_nodes` nodes in all."""
    doc = GraphDocument()
    prev = doc.add_node("Input", params={"shape": (64,)}).id
    ids = [prev]
    block_start = prev
    while len(doc.nodes) < n_nodes - 1:
        fc = doc.add_node("Linear", params={"out_features": 64}).id
        doc.connect(prev, "out", fc, "in")
        act = doc.add_node("ReLU").id
        doc.connect(fc, "out", act, "in")
        add = doc.add_node("Add").id
        doc.connect(act, "out", add, "in")
        doc.connect(block_start, "out", add, "in")
        prev = block_start = add
        ids.extend([fc, act, add])
    out = doc.add_node("Output").id
    doc.connect(prev, "out", out, "in")
    ids.append(out)
    return doc, ids


def bench_inference(n_nodes: int = 500, repeats: int = 7) -> dict[str, float]:
    """Times in milliseconds: full validate + infer from scratch, and re-infer after one edit."""
    doc, ids = chain_network(n_nodes)
    full: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        analyzer = NetworkAnalyzer(doc)
        result = analyzer.analyze()
        full.append((time.perf_counter() - start) * 1000)
        analyzer.close()
    assert result.ok, result.errors[:3]
    analyzer = NetworkAnalyzer(doc)
    analyzer.analyze()
    middle = next(i for i in ids[len(ids) // 2:] if doc.nodes[i].type_id == "Linear")
    incremental: list[float] = []
    recomputed = 0
    for k in range(repeats * 3):
        doc.set_param(middle, "out_features", 64 if k % 2 else 32)
        start = time.perf_counter()
        analyzer.analyze()
        incremental.append((time.perf_counter() - start) * 1000)
        recomputed = max(recomputed, analyzer.last_recomputed)
    analyzer.close()
    return {
        "nodes": float(len(doc.nodes)),
        "full_ms": median(full),
        "incremental_ms": median(incremental),
        "incremental_nodes_reinferred": float(recomputed),
    }
