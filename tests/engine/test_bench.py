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
                           "frameworks", "train_start", "studio_training", "import"]


def test_bench_import_section_times_an_import_and_its_check():
    proc = subprocess.run(
        [sys.executable, "-m", "studio.launch", "bench", "--only", "import", "--models", "squeezenet1_1",
         "--rounds", "1", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["import"]
    assert row["model"] == "squeezenet1_1" and row["ok"] and row["layers"] > 20
    assert row["import_cpu_s"] > 0 and row["check_cpu_s"] > 0 and row["max_abs_diff"] < 1e-4
