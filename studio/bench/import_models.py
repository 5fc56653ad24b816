"""The import section: how long importing each of the twelve torchvision classifiers takes.

For every model of issue 9's list (or ``--models``), built without weights, one row: the import
itself (tracing, mapping every op, assembling the blocks: what the import report calls "imported
in"), as the median wall and process CPU time of ``--rounds`` imports (at most 3), and the check
once (building the network, loading the source's weights, comparing outputs on a batch of 2 in
eval mode: "to check it"; mostly the two models' own arithmetic), with the layer and block counts
and the largest output difference. Process CPU time (all of torch's threads) is the figure a
loaded machine does not inflate; the target is an import under 5 s.
The first import of a process pays for loading torch's tracing machinery, so one small model is
imported before the clock starts. No Qt.
"""

from __future__ import annotations

import argparse
import time
from statistics import median
from typing import Any

MODELS = ("resnet18", "resnet50", "vgg11", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
          "densenet121", "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_y_400mf", "convnext_tiny", "vit_b_16")
TARGET_S = 5.0
MAX_ROUNDS = 3


def bench_import(name: str, rounds: int = MAX_ROUNDS) -> dict[str, Any]:
    """One model's import and check times (seconds) and what the import made."""
    import torchvision

    from engine.importing.importer import import_module, verify
    from engine.importing.report import ImportReport

    source = torchvision.models.get_model(name, weights=None).eval()
    shape = (3, 224, 224)
    walls, cpus = [], []
    for _ in range(max(1, min(rounds, MAX_ROUNDS))):
        wall, cpu = time.perf_counter(), time.process_time()
        result = import_module(source, [shape], source=name, check=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    check = ImportReport(name)
    wall, cpu = time.perf_counter(), time.process_time()
    verify(result.doc, source, result.state_dict, [shape], check)
    return {"model": name, "import_s": median(walls), "import_cpu_s": median(cpus),
            "check_s": time.perf_counter() - wall, "check_cpu_s": time.process_time() - cpu,
            "layers": result.report.layers,
            "blocks": result.report.blocks, "max_abs_diff": check.max_abs_diff,
            "ok": check.ok, "under_target": median(cpus) < TARGET_S}


def run_section(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torchvision

    from engine.importing.importer import import_module

    names = [n.strip() for n in (getattr(args, "models", None) or ",".join(MODELS)).split(",") if n.strip()]
    unknown = sorted(set(names) - set(torchvision.models.list_models()))
    if unknown:
        raise ValueError(f"torchvision has no model {', '.join(unknown)}")
    import_module(torchvision.models.get_model("squeezenet1_1", weights=None).eval(), [(3, 64, 64)], check=False)
    return [bench_import(name, args.rounds) for name in names]
