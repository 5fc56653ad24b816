"""Loading, validating and summarising grow linearly with the number of nodes.

Measured as CPU time of this process (not wall time: the machine is shared), best
of two, for a 10,000- and a 40,000-node chain: linear work costs about 4 times
as much for 4 times the nodes, quadratic work 16 times; the test fails past 9.
The landed code before this change took 1 / 4 / 21 / 151 s for 2,500 / 5,000 /
10,000 / 20,000 nodes (quadratic).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from engine.graph.analysis import analyze
from engine.project import FORMAT, FORMAT_VERSION, project_from_json
from engine.summary import format_summary

SMALL, LARGE = 10_000, 40_000
LINEAR_RATIO, QUADRATIC_RATIO = LARGE / SMALL, (LARGE / SMALL) ** 2
LIMIT = 9.0  # between linear (4) and quadratic (16), with room for a noisy machine


def chain_project(n: int) -> bytes:
    """A `.loom` project.json of one Input, n - 2 layers in a chain and one Output."""
    nodes: list[dict[str, Any]] = [{"id": "x", "type": "Input", "name": "x",
                                    "params": {"shape": [8], "dtype": "float"}, "position": [0, 0]}]
    kinds = ("Linear", "ReLU")
    for i in range(1, n - 1):
        kind = kinds[i % 2]
        params = {"out_features": 8} if kind == "Linear" else {}
        nodes.append({"id": f"n{i}", "type": kind, "name": f"layer {i}", "params": params,
                      "position": [i * 10, 0]})
    nodes.append({"id": "y", "type": "Output", "name": "y", "params": {}, "position": [n * 10, 0]})
    edges = [{"source": a["id"], "source_port": "out", "target": b["id"], "target_port": "in"}
             for a, b in itertools.pairwise(nodes)]
    data = {"format": FORMAT, "version": FORMAT_VERSION, "name": "chain",
            "network": {"nodes": nodes, "edges": edges}, "dataset": {}, "training": {}, "ui": {}}
    return json.dumps(data).encode()


def _cpu_seconds(raw: bytes, n: int) -> float:
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        project = project_from_json(raw)
        result = analyze(project.network)
        format_summary(project.network, result)
        best = min(best, time.process_time() - start)
    assert len(project.network.nodes) == n and result.ok
    return best


def test_load_validate_and_summary_grow_linearly() -> None:
    small = _cpu_seconds(chain_project(SMALL), SMALL)
    large = _cpu_seconds(chain_project(LARGE), LARGE)
    ratio = large / small
    assert ratio < LIMIT, (f"{SMALL:,} nodes: {small:.2f} s CPU, {LARGE:,}: {large:.2f} s CPU; ratio {ratio:.1f} "
                           f"(linear {LINEAR_RATIO:.0f}, quadratic {QUADRATIC_RATIO:.0f})")
