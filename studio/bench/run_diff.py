"""The run_diff section: the diff of two runs of 2,000-node networks, as the Runs panel computes it.

Two cases, each timed from the runs' stored data: both networks' JSON parsed into documents, then
the architecture diff through blocks with the parameter shapes of both runs' weights (what
`engine.diff.run_diff.diff_records` does after reading the safetensors headers):

- ``flat``: `canvas_network(2000)` (Linear, ReLU, Add) against the same with every tenth Linear
  narrowed and every tenth ReLU removed (no shapes: a flat network's values decide);
- ``blocks``: a ResNet of `BasicBlock` stages repeated 55 times each (2,002 layers, copies and
  blocks) against one with a copy moved from the last stage to the second, with the state-dict
  shapes of both (taken on the meta device, outside the timing).

Rows give the median wall and CPU milliseconds over ``--rounds`` rounds, the entries compared and
the changes found. Target: under 200 ms. Engine only: no Qt.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.block_catalog import basic_resnet
from engine.diff.network_diff import NetworkDiff, diff_networks
from engine.examples import canvas_network, edited_copy
from engine.graph.serialize import document_from_data, document_to_data

NODES = 2000
TARGET_MS = 200.0
Shapes = Mapping[str, Sequence[int]]


def meta_shapes(data: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """State-dict shapes of a network, built on the meta device (no memory for weights)."""
    import torch

    from engine.build import build_module

    with torch.device("meta"):
        module = build_module(document_from_data(data))
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def timed_diff(data_a: dict[str, Any], data_b: dict[str, Any], shapes_a: Shapes | None,
               shapes_b: Shapes | None) -> tuple[float, float, NetworkDiff]:
    """Wall and CPU seconds of parsing both networks and diffing them."""
    wall, cpu = time.perf_counter(), time.process_time()
    diff = diff_networks(document_from_data(data_a), document_from_data(data_b), shapes_a, shapes_b)
    return time.perf_counter() - wall, time.process_time() - cpu, diff


def bench_case(name: str, data_a: dict[str, Any], data_b: dict[str, Any], rounds: int,
               shapes: bool) -> dict[str, Any]:
    shapes_a = meta_shapes(data_a) if shapes else None
    shapes_b = meta_shapes(data_b) if shapes else None
    walls, cpus = [], []
    diff = None
    for _ in range(max(rounds, 1)):
        wall, cpu, diff = timed_diff(data_a, data_b, shapes_a, shapes_b)
        walls.append(wall * 1000.0)
        cpus.append(cpu * 1000.0)
    assert diff is not None
    return {"case": name, "layers_a": _layers(data_a), "entries_compared": diff.entries_compared,
            "tensors": len(shapes_a or {}), "added": len(diff.added), "removed": len(diff.removed),
            "changed": len(diff.changed), "wall_ms": round(statistics.median(walls), 2),
            "cpu_ms": round(statistics.median(cpus), 2), "rounds": rounds, "target_ms": TARGET_MS}


def _layers(data: dict[str, Any]) -> int:
    from engine.diff.network_diff import flatten

    return sum(1 for e in flatten(document_from_data(data)) if e.kind == "layer")


def bench_run_diff(rounds: int = 8) -> list[dict[str, Any]]:
    flat = canvas_network(NODES)
    rows = [bench_case("flat", document_to_data(flat), document_to_data(edited_copy(flat)), rounds, False)]
    blocks_a = basic_resnet("before", (55, 55, 55, 55), num_classes=10, input_shape=(3, 32, 32)).doc
    blocks_b = basic_resnet("after", (55, 56, 55, 54), num_classes=10, input_shape=(3, 32, 32)).doc
    rows.append(bench_case("blocks", document_to_data(blocks_a), document_to_data(blocks_b), rounds, True))
    return rows


def run_section(args: argparse.Namespace) -> list[dict[str, Any]]:
    return bench_run_diff(args.rounds)
