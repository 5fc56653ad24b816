"""Canvas benchmark: how fast a big network loads, draws, pans and zooms.

`bench_canvas(n_nodes)` builds a synthetic network of `n_nodes` (chains of
Linear and ReLU with a residual Add every few layers, so there are long wires
and merges), opens it the way the studio does (controller, analysis, scene,
auto-arrange) in a 1280×800 view, and times in milliseconds:

- ``load_first_paint_ms``: from the document to the first painted frame, fitted
  to show the whole network;
- ``pan_redraw_ms``: mean repaint after a 40-pixel pan step, whole network in view;
- ``zoom_redraw_ms``: mean repaint after a 10% zoom step about the centre;
- ``pan_redraw_detail_ms``: mean repaint after a pan step at 100% zoom (full detail).

It runs on the offscreen platform when no QApplication exists yet and never
imports torch. `layerloom bench` reports these numbers.
"""

from __future__ import annotations

import os
import time

from engine.graph.document import GraphDocument
from engine.project import Project


def build_network(n_nodes: int, width: int = 64, block: int = 4) -> GraphDocument:
    """Input -> (Linear, ReLU)* with an Add skip every `block` pairs -> Output, `n_nodes` nodes in all."""
    doc = GraphDocument()
    previous = doc.add_node("Input", params={"shape": (width,)}).id
    block_start, pairs = previous, 0
    while len(doc.nodes) < n_nodes - 1:
        if pairs == block and len(doc.nodes) < n_nodes - 2:
            add = doc.add_node("Add").id
            doc.connect(previous, "out", add, "in")
            doc.connect(block_start, "out", add, "in")
            previous = block_start = add
            pairs = 0
            continue
        node = doc.add_node("Linear" if len(doc.nodes) % 2 else "ReLU",
                            params={"out_features": width} if len(doc.nodes) % 2 else None).id
        doc.connect(previous, "out", node, "in")
        previous = node
        pairs += doc.nodes[node].type_id == "ReLU"
    out = doc.add_node("Output").id
    doc.connect(previous, "out", out, "in")
    return doc


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

    doc = build_network(n_nodes)
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


def main(argv: list[str] | None = None) -> int:
    """`python -m studio.bench_canvas [--nodes N] [--json]`: `layerloom bench` runs this in a subprocess."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m studio.bench_canvas")
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = bench_canvas(args.nodes)
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
