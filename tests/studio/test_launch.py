"""`layerloom`: headless commands go to the engine CLI; no display gives a clear message and status 2;
editing never imports torch."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

from studio import launch
from studio.display_check import XCB_LIBRARIES, display_problem

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_without_a_display_the_studio_explains_and_exits_2():
    result = run_python("import sys; from studio.launch import main; sys.exit(main([]))",
                        {"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})
    assert result.returncode == 2, result.stderr
    assert "no display" in result.stderr and "DISPLAY" in result.stderr
    assert "layerloom validate" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_xcb_libraries_are_named_with_the_apt_line():
    present = set(XCB_LIBRARIES) - {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    message = display_problem({"DISPLAY": ":0"}, "linux", present.__contains__)
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in message


def test_display_check_passes_when_all_is_there_or_no_display_is_needed():
    everything = set(XCB_LIBRARIES).__contains__
    assert display_problem({"DISPLAY": ":0"}, "linux", everything) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda s: False) is None
    assert display_problem({}, "darwin", lambda s: False) is None
    assert "WAYLAND_DISPLAY" in display_problem({"QT_QPA_PLATFORM": "wayland"}, "linux", everything)


def test_missing_libraries_stop_the_launch_with_status_2(monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("studio.display_check.system_finder", lambda: (lambda soname: "icccm" not in soname))
    assert launch.main([]) == 2
    assert "sudo apt-get install libxcb-icccm4" in capsys.readouterr().err


def test_headless_commands_go_to_the_engine_cli(monkeypatch):
    calls = []
    fake = types.ModuleType("engine.cli")
    fake.main = lambda argv: calls.append(list(argv)) or 0
    monkeypatch.setitem(sys.modules, "engine.cli", fake)
    monkeypatch.setattr("engine.cli", fake, raising=False)
    for command in ("validate", "summary", "train", "export"):
        assert launch.main([command, "x.loom"]) == 0
    assert [c[0] for c in calls] == ["validate", "summary", "train", "export"]


def test_bench_goes_to_the_bench_package(monkeypatch):
    calls = []
    fake = types.ModuleType("studio.bench.cli")
    fake.main = lambda argv: calls.append(list(argv)) or 0
    monkeypatch.setitem(sys.modules, "studio.bench.cli", fake)
    monkeypatch.setattr("studio.bench.cli", fake, raising=False)
    assert launch.main(["bench", "--only", "inference"]) == 0
    assert calls == [["--only", "inference"]]


def test_a_missing_file_is_reported(capsys):
    assert launch.main(["/nonexistent/net.loom"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_editing_never_imports_torch():
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import studio.main_window\n"
        "from studio.main_window import MainWindow\n"
        "from engine.resources import example_names\n"
        "w = MainWindow(prompt_unsaved=False); w.show()\n"
        "w.open_example('lenet5') if 'lenet5' in example_names() else w.new_blank_document()\n"
        "w.controller.add_node('Conv2d', (0.0, 300.0)); w.controller.flush_analysis()\n"
        "w.view.viewport().repaint(); w.grab()\n"
        "print('torch' in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3])\n"
    )
    result = run_python(code, {"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False"), result.stdout
