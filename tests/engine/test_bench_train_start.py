"""`layerloom bench --only train_start`: press-to-first-step, warm and cold, and the warm path really is warm.

No bound on the figures (they belong to the bench, and the machine is shared); the section itself
raises when the warm worker was not the process that trained.
"""

from __future__ import annotations

import argparse

from studio.bench.sections import section_names
from studio.bench.train_start import run_section


def test_the_train_start_section_reports_warm_and_cold_latency():
    assert "train_start" in section_names()
    result = run_section(argparse.Namespace(repeats=1))
    assert result["example"] == "mlp_spirals" and result["repeats"] == 1
    for key in ("warm_median_s", "warm_worst_s", "cold_median_s", "cold_worst_s", "preflight_median_ms"):
        assert result[key] > 0, key
