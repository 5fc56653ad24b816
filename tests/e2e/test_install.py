"""Installable anywhere: a wheel built from this tree carries the examples, icons and styles.

The test builds a wheel from a copy of the sources (offline, without build isolation), installs it
into a fresh virtual environment in a temporary folder (``--no-deps``: the environment sees the test
environment's torch, Qt and the rest through a ``.pth`` line, so nothing is downloaded), and then,
from a folder outside the source tree, runs ``layerloom summary`` on a bundled example and opens the
studio offscreen on one. An editable install of the same copy must find the repository's
``resources/`` folder itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from engine.graph.analysis import analyze
from engine.project import load_project
from engine.resources import example_path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "engine", "studio", "resources")
STUDIO_PROBE = """
import sys
from engine.resources import RESOURCES, example_path
from studio.app import create_application
from studio.main_window import MainWindow
app = create_application()
window = MainWindow(prompt_unsaved=False)
window.resize(1280, 800)
window.show()
opened = window.open_path(example_path("resnet_small"))
window.controller.flush_analysis()
for _ in range(30):
    app.processEvents()
window.grab().save(sys.argv[1])
print(opened, len(window.controller.doc.nodes), bool(app.styleSheet()), RESOURCES)
window.close()
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}"
    return done


def copy_sources(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def fresh_venv(folder: Path) -> Path:
    """A venv without pip that also sees this environment's packages (after its own)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip(python: Path, *args: str, cwd: Path) -> None:
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
         "--no-build-isolation", *args], cwd)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("install")
    source = copy_sources(base / "src")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(base / "dist"), str(source)], base)
    wheel = next((base / "dist").glob("layerloom-*.whl"))
    python = fresh_venv(base / "venv")
    pip(python, str(wheel), cwd=base)
    outside = base / "elsewhere"
    outside.mkdir()
    return python, outside


def test_the_wheel_carries_the_resources_and_summary_works_outside_the_tree(installed):
    python, outside = installed
    where = run([str(python), "-c", "import engine, engine.resources as r; print(engine.__file__); "
                 "print(r.example_path('lenet5')); print(len(list((r.RESOURCES / 'icons').glob('*.svg'))), "
                 "len(list((r.RESOURCES / 'styles').glob('*.qss'))))"], outside).stdout.splitlines()
    venv = python.parent.parent
    assert Path(where[0]).is_relative_to(venv) and Path(where[1]).is_relative_to(venv), where
    icons, styles = map(int, where[2].split())
    assert icons >= 10 and styles == 2
    layerloom = python.parent / ("layerloom.exe" if os.name == "nt" else "layerloom")
    summary = run([str(layerloom), "summary", where[1]], outside).stdout
    expected = analyze(load_project(example_path("lenet5")).network).total_params  # this tree's own count
    assert f"Total params: {expected:,}" in summary and "Network is valid." in summary, summary


def test_the_installed_studio_opens_a_bundled_example_offscreen(installed):
    python, outside = installed
    shot = outside / "studio.png"
    out = run([str(python), "-c", STUDIO_PROBE, str(shot)], outside, QT_QPA_PLATFORM="offscreen").stdout.split()
    opened, nodes, styled, resources = out
    expected = len(load_project(example_path("resnet_small")).network.nodes)  # top level: stem and stages
    assert opened == "True" and styled == "True" and int(nodes) == expected, out
    assert Path(resources).is_relative_to(python.parent.parent)
    assert shot.stat().st_size > 10_000


def test_an_editable_install_reads_the_repository_resources(tmp_path):
    source = copy_sources(tmp_path / "src")
    python = fresh_venv(tmp_path / "venv")
    pip(python, "-e", str(source), cwd=tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    found = run([str(python), "-c", "import engine.resources as r; print(r.RESOURCES)"], outside).stdout.strip()
    assert Path(found) == source / "resources"
