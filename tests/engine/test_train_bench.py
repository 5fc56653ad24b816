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


def test_a_lockstep_pair_takes_turns_epoch_by_epoch_and_a_failing_partner_ends_it(tmp_path):
    """The tensorboard section's precise figure: two fresh processes, one with logs and one without, training
    in turns on one CPU; each times its own epochs. A partner that fails ends the pair with its own error."""
    from studio.bench.lockstep import lockstep
    from studio.bench.networks import prepare_data
    from studio.bench.tensorboard_cost import tensorboard_run

    prepare_data(str(tmp_path))
    spec = {"network": "mlp", "threads": 1, "device": "cpu", "data_dir": str(tmp_path),
            "log_dir": str(tmp_path / "tensorboard"), "epochs": 5}
    on, off = lockstep(tensorboard_run, {**spec, "tensorboard": True}, {**spec, "tensorboard": False}, "b")
    assert len(on["epoch_seconds"]) == len(off["epoch_seconds"]) == 5
    assert all(seconds > 0 for seconds in on["epoch_seconds"] + off["epoch_seconds"])
    assert on["histogram_epochs"] >= 1 and off["histogram_epochs"] == 0
    # neither leaves for its run's end (a test pass, the writer's close) while the other's last epoch is timed
    assert on["released"] >= off["last_epoch_ended"] > 0 and off["released"] >= on["last_epoch_ended"] > 0
    with pytest.raises(BenchError, match="nowhere"):
        lockstep(tensorboard_run, {**spec, "network": "nowhere", "tensorboard": True}, {**spec, "tensorboard": False})


def test_the_lockstep_error_is_taken_over_pairs_of_rounds_where_going_first_cancels():
    from studio.bench.tensorboard_cost import lockstep_stats

    alternating = lockstep_stats([0.99, 1.03, 0.99, 1.03])  # going first is worth 2% here, the cost 1% throughout
    assert alternating == {"lockstep_ratio": 1.01, "lockstep_sem": 0.0, "lockstep_min": 0.99, "lockstep_max": 1.03}
    uneven = lockstep_stats([1.0, 1.02, 1.04, 1.06])
    assert uneven["lockstep_ratio"] == 1.03 and uneven["lockstep_sem"] == pytest.approx(0.02, abs=1e-4)
    assert lockstep_stats([1.0, 1.02])["lockstep_sem"] == pytest.approx(0.01, abs=1e-4)  # one pair: over rounds
