"""The training benchmarks run end to end in fresh processes and report comparable, honest numbers.

Small and quick (a tenth of the epochs, 2 rounds): the figures themselves belong to `layerloom bench`.
"""

from __future__ import annotations

import pytest

from studio.bench import frameworks
from studio.bench.fresh import BenchError, in_fresh_process, interleaved, ratio_stats
from studio.bench.limit import bench_limit, limit_run
from studio.bench.telemetry_cost import bench_telemetry


def test_the_engine_is_measured_against_the_hand_loop_in_fresh_processes():
    rows = bench_limit((("mlp", 1),), rounds=2, scale=0.1)
    assert len(rows) == 1
    row = rows[0]
    assert row["network"] == "mlp" and row["threads"] == 1 and row["rounds"] == 2
    assert row["timed_steps"] > 0 and row["engine_steps"] == row["timed_steps"]  # the same work, step for step
    assert row["limit_s"] > 0 and row["engine_s"] > 0
    assert 0 < row["ratio_min"] <= row["ratio_median"] <= row["ratio_max"]
    assert row["ratio_spread"] == pytest.approx(row["ratio_max"] - row["ratio_min"], abs=1e-3)


def test_telemetry_is_measured_with_the_reader_in_another_process():
    rows = bench_telemetry(("mlp",), rounds=1, scale=0.1)
    row = rows[0]
    assert row["on_s"] > 0 and row["off_s"] > 0 and row["ratio_min"] == row["ratio_max"]
    assert row["messages_on"] > row["messages_off"] > 0  # telemetry on really sent more


def test_rounds_alternate_their_order_and_ratios_are_summarised():
    calls: list[str] = []

    def run(fn, spec):
        calls.append(spec["name"])
        return {"seconds": spec["seconds"]}

    results = interleaved([("a", None, {"name": "a", "seconds": 2.0}), ("b", None, {"name": "b", "seconds": 1.0})],
                          3, run=run)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert [r["seconds"] for r in results["a"]] == [2.0, 2.0, 2.0]
    assert ratio_stats([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]) == {
        "ratio_min": 1.0, "ratio_median": 2.0, "ratio_max": 3.0, "ratio_spread": 2.0}


def test_a_failing_child_reports_its_own_error():
    with pytest.raises(BenchError, match="KeyError"):
        in_fresh_process(limit_run, {"network": "nowhere"})


def test_missing_frameworks_are_reported_not_required(monkeypatch):
    monkeypatch.setattr(frameworks, "installed", lambda name: False)
    rows = frameworks.bench_frameworks((("mlp", 1),), rounds=1)
    assert [r["framework"] for r in rows] == ["lightning", "keras"]
    assert all("not installed" in r["error"] for r in rows)
