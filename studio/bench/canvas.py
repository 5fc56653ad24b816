"""Canvas benchmark: how fast a big network loads, draws, pans and zooms.

`bench_canvas(n_nodes)` builds a synthetic network of `n_nodes` (chains of
Linear and ReLU with a residual Add every few layers, so there are long wires
and merges: `studio.bench.networks.canvas_network`), opens it the way the studio does (controller, analysis, scene,
auto-arrange) in a 1280×800 view, and times in milliseconds:

- ``load_first_paint_ms``: from the document to the first painted frame, fitted
  to show the whole network;
- ``pan_redraw_ms``: mean repaint after a 40-pixel pan step, whole network in view;
- ``zoom_redraw_ms``: mean repaint after a 10% zoom step about the centre;
- ``pan_redraw_detail_ms``: mean repaint after a pan step at 100% zoom (full detail).

It runs on the offscreen platform when no QApplication exists yet and never
imports torch. `layerloom bench` runs it in a fresh process (Qt starts cold, as for a user, and
the bench process keeps no QApplication).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from engine.project import Project
from studio.bench.fresh import in_fresh_process
from studio.bench.networks import canvas_network


def _mean_repaint(view, step, count: int) -> float:
    viewport = view.viewport()
    total = 0.0
    for i in range(count):
        step(i)
        start = time.perf_counter()
        viewport.repaint()
        total += time.perf_counter() - start
    return total / count * 1000.0


def bench_canvas(n_nodes: int = 500, steps: int = 20) -> dict[str, float]:
    """Times (ms) to load and first paint, and mean redraws per pan and zoom step."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["layerloom-bench"])
    from studio.editor.canvas.scene import GraphScene
    from studio.editor.canvas.view import GraphView
    from studio.editor.document_controller import DocumentController
    from studio.theme import theme

    doc = canvas_network(n_nodes)
    view = GraphView()
    view.resize(1280, 800)
    view.show()
    app.processEvents()

    start = time.perf_counter()
    controller = DocumentController(Project(doc, name="bench"))
    scene = GraphScene(controller, theme("light").canvas)
    controller.auto_arrange(scene.node_sizes(), undoable=False)
    view.set_graph_scene(scene)
    view.fit_to_view(max_zoom=1.0, min_zoom=0.05)
    view.viewport().repaint()
    load_ms = (time.perf_counter() - start) * 1000.0

    pan_ms = _mean_repaint(view, lambda i: view.pan_by(40 if i % 2 == 0 else -40, 0), steps)
    zoom_ms = _mean_repaint(view, lambda i: view.zoom_by(1.1 if i % 2 == 0 else 1 / 1.1), steps)
    view.set_zoom(1.0)
    detail_ms = _mean_repaint(view, lambda i: view.pan_by(40, 0), steps)

    view.close()
    controller.close()
    view.deleteLater()
    scene.deleteLater()
    app.processEvents()
    return {
        "nodes": float(len(doc.nodes)),
        "load_first_paint_ms": round(load_ms, 1),
        "pan_redraw_ms": round(pan_ms, 2),
        "zoom_redraw_ms": round(zoom_ms, 2),
        "pan_redraw_detail_ms": round(detail_ms, 2),
    }


def _canvas_child(spec: dict[str, Any]) -> dict[str, float]:
    return bench_canvas(spec["nodes"])


def run_section(args: argparse.Namespace) -> dict[str, float]:
    return in_fresh_process(_canvas_child, {"nodes": args.nodes})
