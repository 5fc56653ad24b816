"""The README's promises: its Python example runs, and its commands name real files and flags."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert blocks, "the README lost its code example"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Total params:" in out and "def forward" in out
    assert (tmp_path / "small_cnn.loom").exists()
    assert namespace["model"](__import__("torch").zeros(2, 1, 28, 28)).shape == (2, 10)


def test_readme_quick_start_opens_a_bundled_example():
    text = README.read_text()
    match = re.search(r"layerloom (resources/examples/\S+\.loom)", text)
    assert match and (README.parent / match.group(1)).exists()
    assert 'python -m pip install -e ".[dev]"' in text
    assert "python -m pytest" in text
