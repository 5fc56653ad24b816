"""No code path of Layerloom unpickles with `pickle.load`: pickled dataset files go through the restricted reader."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNPICKLING = re.compile(r"\bpickle\.(load|loads|Unpickler)\b|\bcPickle\b")
TORCH_LOAD = re.compile(r"\btorch\.load\(")  # allowed only as torch.load(..., weights_only=True) on one line
ALLOWED = {Path("engine/data/safe_pickle.py"), Path("tests/engine/test_no_pickle.py")}


def test_no_unrestricted_unpickling_anywhere_in_the_source():
    offenders = []
    for folder in ("engine", "studio", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if UNPICKLING.search(line) or (TORCH_LOAD.search(line) and "weights_only=True" not in line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
