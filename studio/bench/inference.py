"""The inference section: validation and shape inference on a large network (no torch involved).

`bench_inference(n)` times, in milliseconds, a full validate + infer of an `n`-node chain
(`studio.bench.networks.chain_network`) from scratch, and the re-inference after one parameter
edit in the middle (only the nodes downstream of the edit are re-inferred). Targets: 50 ms full,
5 ms incremental, for 500 nodes.
"""

from __future__ import annotations

import argparse
import time
from statistics import median

from engine.graph.analysis import NetworkAnalyzer
from studio.bench.networks import chain_network

TARGET_FULL_MS = 50.0
TARGET_INCREMENTAL_MS = 5.0


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


def run_section(args: argparse.Namespace) -> dict[str, float]:
    return {**bench_inference(args.nodes), "target_full_ms": TARGET_FULL_MS,
            "target_incremental_ms": TARGET_INCREMENTAL_MS}
