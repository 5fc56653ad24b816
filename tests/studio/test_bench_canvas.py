"""The canvas benchmark runs and a 500-node network stays cheap to load and redraw.

The benchmark's own figures are wall-clock times, reported by ``layerloom bench``; here they are only
checked to exist. What is asserted is the GUI thread's CPU time for the whole run (load, first paint,
18 redraws), which does not grow when other processes load the machine.
"""

from __future__ import annotations

import time

from engine.examples import canvas_network as build_network
from studio.bench.canvas import bench_canvas


def test_synthetic_network_has_the_requested_size():
    doc = build_network(120)
    assert len(doc.nodes) == 120
    assert any(n.type_id == "Add" for n in doc.nodes.values())


def test_bench_canvas_500_nodes(qapp):
    cpu = time.thread_time()
    result = bench_canvas(500, steps=6)
    cpu_s = time.thread_time() - cpu
    assert result["nodes"] == 500
    assert set(result) >= {"load_first_paint_ms", "pan_redraw_ms", "zoom_redraw_ms"}
    assert all(result[k] > 0 for k in ("load_first_paint_ms", "pan_redraw_ms", "zoom_redraw_ms"))
    # About 0.5-0.8 s of CPU on a 2-core laptop; ten times that means drawing has become quadratic or worse.
    assert cpu_s < 8.0, f"loading and redrawing 500 nodes took {cpu_s:.1f} s of CPU"
