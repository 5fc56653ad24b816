"""The headless CLI: validate and summary, for people and for machines, and no Qt anywhere."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main
from engine.network import Network


@pytest.fixture
def good_file(tmp_path):
    net = Network("tiny")
    x = net.input((1, 8, 8))
    x = net.add("Conv2d", x, out_channels=4, kernel_size=3, name="conv")
    x = net.add("Flatten", x, name="flat")
    net.output(net.add("Linear", x, out_features=3, name="head"))
    return net.save(tmp_path / "tiny.loom")


@pytest.fixture
def bad_file(tmp_path):
    net = Network("broken")
    x = net.input((1, 8, 8))
    x = net.add("MaxPool2d", x, kernel_size=2, name="pool2")
    net.output(net.add("Linear", x, out_features=3, name="fc1"))
    return net.save(tmp_path / "broken.loom")


def test_validate_clean_network(good_file, capsys):
    assert main(["validate", str(good_file)]) == 0
    assert "valid (0 error(s), 0 warning(s), 475 parameters)" in capsys.readouterr().out


def test_validate_reports_errors_with_fix_and_exit_status(bad_file, capsys):
    assert main(["validate", str(bad_file)]) == 1
    out = capsys.readouterr().out
    assert "error   fc1: Linear works on the last dimension" in out
    assert "fix: insert Flatten between 'pool2' and 'fc1'" in out


def test_validate_json(bad_file, capsys):
    assert main(["validate", str(bad_file), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["problems"][0] == {
        "node_id": "fc1", "node": "fc1", "severity": "error",
        "message": data["problems"][0]["message"], "fix": "insert Flatten between 'pool2' and 'fc1'",
        "path": [],  # inside a block: the instance ids down to the node at fault
    }


def test_summary_table_and_json(good_file, capsys):
    assert main(["summary", str(good_file)]) == 0
    out = capsys.readouterr().out
    assert "conv (Conv2d)" in out and "(N, 4, 6, 6)" in out and "Total params: 475" in out
    assert main(["summary", str(good_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 4 * 9 + 4 + 144 * 3 + 3 == 475
    assert [n["output_shape"] for n in data["nodes"]] == [[1, 8, 8], [4, 6, 6], [144], [3], [3]]
    # FLOPs per sample: a 3x3 conv makes 9 multiply-adds per output value, 4x6x6 values; the head 144x3
    assert [n["flops"] for n in data["nodes"]] == [0, 2 * 9 * 4 * 6 * 6, 0, 2 * 144 * 3, 0]
    assert data["total_flops"] == 2 * 9 * 144 + 2 * 432


def test_unreadable_file_exits_2_with_a_message(tmp_path, capsys):
    path = tmp_path / "junk.loom"
    path.write_text("junk")
    assert main(["validate", str(path)]) == 2
    assert "not a zip file" in capsys.readouterr().err


def test_headless_commands_never_import_qt(good_file):
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        f"main(['summary', {str(good_file)!r}])\n"
        "from engine.build import build_module\n"
        "from engine.project import load_project\n"
        f"build_module(load_project({str(good_file)!r}).network)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'studio', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
