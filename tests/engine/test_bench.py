"""`layerloom bench`: the inference and canvas sections run and report their figures."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_reports_inference_and_canvas_figures():
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "bench", "--only", "inference", "--only", "canvas", "--nodes", "200",
         "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    inference, canvas = data["inference"], data["canvas"]
    assert inference["nodes"] == 200 and inference["incremental_ms"] > 0 and inference["full_ms"] > 0
    assert "error" not in canvas, canvas
    assert canvas["nodes"] == 200 and canvas["load_first_paint_ms"] > 0 and canvas["pan_redraw_ms"] > 0
