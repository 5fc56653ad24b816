"""The one piece of packaging `pyproject.toml` cannot say: ship the top-level `resources/` folder.

The bundled examples, icons and styles live in `resources/` in the repository; installed, they
are the package `layerloom_resources` (this mapping), found by `engine.resources`. Everything
else about the package is declared in `pyproject.toml`.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["engine", "engine.*", "studio", "studio.*"], exclude=["*.__pycache__"]),
              "layerloom_resources"],
    package_dir={"layerloom_resources": "resources"},
)
