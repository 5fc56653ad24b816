"""A Qt warning fails the test that caused it, except the explicitly ignored offscreen-platform noise.

Runs pytest on a small test file with this project's settings, in a subprocess, and reads the result.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_qt_warning_fails_its_test_and_the_listed_noise_does_not(tmp_path):
    (tmp_path / "test_qt_log_probe.py").write_text(textwrap.dedent("""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import qWarning

        def test_warns(qapp):
            qWarning("something went wrong in a widget")

        def test_offscreen_noise(qapp):
            qWarning("This plugin does not support raise()")
        """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "FAILED" in out and "test_warns" in out, out
    assert "1 failed, 1 passed" in out, out
