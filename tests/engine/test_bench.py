"""`layerloom bench`: the command routes to the bench package, and the engine-only sections stay Qt-free."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_reports_inference_and_canvas_figures():
    proc = subprocess.run(
        [sys.executable, "-m", "studio.launch", "bench", "--only", "inference", "--only", "canvas", "--nodes",
         "200", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    inference, canvas = data["inference"], data["canvas"]
    assert inference["nodes"] == 200 and inference["incremental_ms"] > 0 and inference["full_ms"] > 0
    assert "error" not in canvas, canvas
    assert canvas["nodes"] == 200 and canvas["load_first_paint_ms"] > 0 and canvas["pan_redraw_ms"] > 0


def test_engine_only_sections_load_neither_qt_nor_torch_until_they_run():
    code = ("import sys\n"
            "from studio.bench import cli, sections, inference\n"
            "from studio.bench.sections import SECTIONS\n"
            "print(sorted(m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules))\n"
            "print([s.name for s in SECTIONS])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded, names = proc.stdout.strip().splitlines()
    assert loaded == "[]"
    assert eval(names) == ["inference", "canvas", "canvas_scale", "training", "telemetry", "tensorboard", "run_diff",
                           "frameworks", "train_start", "studio_training"]
