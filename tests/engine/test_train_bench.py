"""The training benchmark runs end to end and reports honest, comparable numbers (a small, quick run)."""

from __future__ import annotations

from engine.train.bench import bench_training, format_rows


def test_bench_compares_the_engine_with_a_plain_loop():
    rows = bench_training("cpu", repeats=1, samples=300, threads=1, scale=0.1)
    assert [r["network"] for r in rows] == ["mlp", "cnn"]
    for row in rows:
        assert row["plain_s"] > 0 and row["engine_s"] > 0 and row["engine_no_telemetry_s"] > 0
        assert row["ratio"] == row["engine_s"] / row["plain_s"] and row["timed_steps"] > 0
        assert row["telemetry_messages"] > 0 and row["threads"] == 1
    assert "ratio" in format_rows(rows)
