"""What training from the studio costs: the same run from the studio and headless, timed in one go.

The studio_training section of `layerloom bench` (``--only studio_training``). It trains the
bundled LeNet-5 example on the generated shapes data (fixed seed, size and epochs) two ways,
interleaved and repeated: headless, a `RunHandle` polled by a plain loop with no Qt at all, and
from the studio, the main window's Train action on an offscreen QApplication with every training
panel attached and updating, the canvas locked and coloured by gradient norm. Both spawn the
same worker and receive the same telemetry. Times are wall-clock from the start request to the
``finished`` message (best of the repeats), plus the training time the worker measured (the sum
of its epoch times); ``ratio`` = studio / headless (target ≤ 1.10). The studio side also
reports its longest and 99th-percentile telemetry tick, its slowest panel redraw and the share
of a core its process used. Both ways train with the same torch thread count: every core but
one, which is what the studio leaves for its GUI (`studio.training.training_ui`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

from engine import telemetry as t
from studio.bench.fresh import in_fresh_process

POLL_S = 0.033
TARGET_RATIO = 1.10


def bench_project(samples: int, epochs: int, device: str) -> Any:
    """The example project the benchmark trains."""
    from engine.project import load_project
    from engine.resources import example_path

    project = load_project(example_path("lenet5"))
    project.dataset["params"]["n_samples"] = samples
    project.dataset["seed"] = 0
    project.training.update(epochs=epochs, seed=0, device=device, cpu_threads=bench_threads())
    return project


def bench_threads() -> int:
    """Torch threads of both ways: every core but one, which the studio keeps for its GUI."""
    return max(1, (os.cpu_count() or 2) - 1)


def _train_seconds(messages: list[dict[str, Any]]) -> float:
    return sum(float(m["seconds"]) for m in messages if m.get("type") == "epoch")


def headless_run(project: Any) -> dict[str, float]:
    """One run through RunHandle with a plain polling loop."""
    from engine.runner import RunHandle

    started = time.perf_counter()
    handle = RunHandle.start(project, run_id="bench-headless")
    messages: list[dict[str, Any]] = []
    try:
        while not handle.done:
            messages += handle.poll()
            if not handle.done:
                time.sleep(POLL_S)
        wall = time.perf_counter() - started
    finally:
        handle.close()
    _check(handle.finished)
    return {"wall_s": wall, "train_s": _train_seconds(messages), "messages": len(messages)}


def _check(finished: dict[str, Any] | None) -> None:
    if not finished or finished.get("status") != "completed":
        raise RuntimeError(f"the benchmark run did not complete: {finished}")


class StudioBench:
    """An offscreen studio window with the training UI, reused for every studio run."""

    def __init__(self) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QSettings

        self._settings = tempfile.TemporaryDirectory(prefix="layerloom-bench-settings-")
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, self._settings.name)
        from studio.app import create_application

        self.app = create_application([sys.argv[0]])
        from studio.main_window import MainWindow
        from studio.training.integration import install_training

        self.window = MainWindow(prompt_unsaved=False)
        self.window.resize(1440, 900)
        self.window.show()
        self.ui = getattr(self.window, "training", None) or install_training(self.window)
        self.ui.health.set_mode("grad_norm")

    def _wait(self, done: Any, timeout: float) -> None:
        """Run the event loop as the studio would (sleeping until an event) until `done()`."""
        from PySide6.QtCore import QEventLoop, QTimer

        deadline = time.monotonic() + timeout
        wake = QTimer()
        wake.start(50)  # conditions set outside Qt's events (a thread, a process) are seen within 50 ms
        try:
            while not done():
                if time.monotonic() > deadline:
                    raise TimeoutError("the studio benchmark timed out")
                self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        finally:
            wake.stop()

    def run(self, project: Any) -> dict[str, float]:
        """One run started with the Train action; returns its times and the GUI's tick costs."""
        self.window.open_project(project)
        self._wait(lambda: not self.ui.preview.busy, 120.0)
        self.window.scene.select_nodes(["conv1"])
        runs = self.ui.runs
        runs.tick_ms.clear()
        for panel in self.ui.panels.values():
            panel.update_ms.clear()
        epochs: list[t.Epoch] = []
        finished: list[t.Finished] = []
        runs.epochs_arrived.connect(epochs.extend)
        runs.run_finished.connect(finished.append)
        started, cpu = time.perf_counter(), time.process_time()
        self.ui.actions.all["train"].trigger()
        self._wait(lambda: bool(finished), 900.0)
        wall = time.perf_counter() - started
        gui_cpu = time.process_time() - cpu
        runs.epochs_arrived.disconnect(epochs.extend)
        _check(finished[0].to_dict())  # the controller hands typed messages (engine.telemetry)
        ticks = sorted(runs.tick_ms)
        panel_max = max((max(p.update_ms) for p in self.ui.panels.values() if p.update_ms), default=0.0)
        self._wait(lambda: runs.handle is None, 30.0)
        return {"wall_s": wall, "train_s": sum(float(e.seconds) for e in epochs), "gui_cpu_s": gui_cpu,
                "messages": runs.messages_seen, "tick_max_ms": ticks[-1] if ticks else 0.0,
                "tick_p99_ms": ticks[int(0.99 * (len(ticks) - 1))] if ticks else 0.0,
                "panel_update_max_ms": panel_max, "ticks": len(ticks)}

    def close(self) -> None:
        self.ui.shutdown()
        self.window.close()
        self._settings.cleanup()


def bench(device: str = "cpu", samples: int = 6000, epochs: int = 6, repeats: int = 3) -> dict[str, Any]:
    """Time the same training headless and from the studio, interleaved; best of `repeats` each."""
    studio = StudioBench()
    headless: list[dict[str, float]] = []
    gui: list[dict[str, float]] = []
    try:
        for _ in range(repeats):
            headless.append(headless_run(bench_project(samples, epochs, device)))
            gui.append(studio.run(bench_project(samples, epochs, device)))
    finally:
        studio.close()
    best_h = min(headless, key=lambda r: r["wall_s"])
    best_s = min(gui, key=lambda r: r["wall_s"])
    return {
        "benchmark": "studio_training", "example": "lenet5", "dataset": "shapes", "samples": samples,
        "epochs": epochs, "device": device, "repeats": repeats,
        "headless_s": round(best_h["wall_s"], 3), "studio_s": round(best_s["wall_s"], 3),
        "ratio": round(best_s["wall_s"] / best_h["wall_s"], 4),
        "headless_train_s": round(min(r["train_s"] for r in headless), 3),
        "studio_train_s": round(min(r["train_s"] for r in gui), 3),
        "train_ratio": round(min(r["train_s"] for r in gui) / min(r["train_s"] for r in headless), 4),
        "target_ratio": TARGET_RATIO,
        "messages": int(best_s["messages"]),
        "tick_max_ms": round(max(r["tick_max_ms"] for r in gui), 2),
        "tick_p99_ms": round(max(r["tick_p99_ms"] for r in gui), 2),
        "panel_update_max_ms": round(max(r["panel_update_max_ms"] for r in gui), 2),
        "gui_cpu_share": round(best_s["gui_cpu_s"] / best_s["wall_s"], 3), "cpu_threads": bench_threads(),
        "all_headless_s": [round(r["wall_s"], 3) for r in headless],
        "all_studio_s": [round(r["wall_s"], 3) for r in gui],
    }


def _studio_child(spec: dict[str, Any]) -> dict[str, Any]:
    return bench(spec["device"])


def run_section(args: argparse.Namespace) -> dict[str, Any]:
    """In a fresh process: Qt starts cold and the bench process keeps no QApplication."""
    return in_fresh_process(_studio_child, {"device": args.device})
