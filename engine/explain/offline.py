"""Explaining a finished run: its own network snapshot and weights, a sample found again by split and index.

`explain_run(project, run_id, sample, node_id, methods)` reads the run's network snapshot (what
was trained, even if the project was edited since), its best weights (`engine.runs.
load_run_weights`: safetensors, never pickle) and its dataset section, loads that dataset (the
split is the one training used: same config, same seed), and returns an `ExplainResult`: the
sample as a uint8 image, its true class, the network's prediction and one `Attribution` per
method. It takes a second or two and imports torch, so the studio calls it on a pool thread.
The last loaded dataset and built network are kept (one each), so picking another sample or node
is quick. Every problem a user can cause is an `ExplainError` with a readable message.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.explain import GRAD_CAM, METHODS, ExplainError, SampleRef, default_node, spatial_nodes
from engine.explain.attribution import Attribution, attribute
from engine.project import Project

_CACHE_LOCK = threading.Lock()
_COMPUTE_LOCK = threading.Lock()  # one explanation at a time: Captum hooks the shared cached network
_DATA: dict[str, Any] = {}  # the last dataset loaded: {"key": ..., "splits": ...}
_MODEL: dict[str, Any] = {}  # the last network built with a run's weights


@dataclass
class ExplainResult:
    """One sample of a run, explained by several methods."""

    run_id: str
    sample: SampleRef
    image: np.ndarray  # uint8 (H, W, C)
    true: int | None  # the sample's class (None for regression data)
    class_names: list[str]
    predicted: int
    probability: float
    node_id: str | None  # Grad-CAM's node
    attributions: list[Attribution] = field(default_factory=list)
    thread: str = ""  # the thread it was computed on (the studio's pool, never the GUI thread)

    def by_method(self, method: str) -> Attribution | None:
        return next((a for a in self.attributions if a.method == method), None)


def explain_run(project: Project, run_id: str, sample: SampleRef, node_id: str | None = None,
                methods: tuple[str, ...] = METHODS, base_dir: Path | None = None,
                which: str = "best") -> ExplainResult:
    """Explain `sample` with `methods` using `run_id`'s weights; raises ExplainError."""
    with _COMPUTE_LOCK:
        return _explain(project, run_id, sample, node_id, methods, base_dir, which)


def _explain(project: Project, run_id: str, sample: SampleRef, node_id: str | None, methods: tuple[str, ...],
             base_dir: Path | None, which: str) -> ExplainResult:
    from engine.build import input_specs
    from engine.data import DatasetError
    from engine.data.preview import to_uint8_images
    from engine.runs import RunError, get_run

    try:
        record = get_run(project, run_id)
        module, doc, analysis = _network(project, run_id, record.network, which)
        splits = _dataset(record.dataset or project.dataset, base_dir)
    except (RunError, DatasetError) as exc:
        raise ExplainError(str(exc)) from None
    summary = splits.summary
    if summary.task != "classification" or not summary.is_image:
        raise ExplainError("explanations are made for image classifiers; this run's data is not images with "
                           "classes")
    if len(input_specs(doc, analysis)) != 1:
        raise ExplainError("explanations are made for networks with one input (an image)")
    node = node_id or default_node(doc, analysis)
    if GRAD_CAM in methods and node not in spatial_nodes(doc, analysis):
        raise ExplainError(f"Grad-CAM needs a node with a spatial output (channels × height × width); "
                           f"{node!r} is not one")
    x, y = splits.split(sample.split)
    if sample.index >= len(x):
        raise ExplainError(f"the {sample.split} split has {len(x)} samples; there is no sample {sample.index + 1}")
    one = x[sample.index:sample.index + 1].float()
    attributions = [attribute(module, one, method, node) for method in methods]
    with torch.no_grad():
        probs = torch.softmax(module.eval()(one).float(), dim=1)[0]
    predicted = int(probs.argmax())
    return ExplainResult(run_id, sample, to_uint8_images(one)[0], int(y[sample.index]), list(summary.class_names),
                         predicted, float(probs[predicted]), node, attributions, threading.current_thread().name)


def _network(project: Project, run_id: str, network: dict[str, Any], which: str) -> tuple[Any, Any, Any]:
    """The run's network built with its weights (the last one is reused)."""
    from engine.build import BuildError, build_module
    from engine.graph.analysis import analyze
    from engine.graph.serialize import document_from_data
    from engine.runs import RunError, load_run_weights

    weights_bytes = project.attachments.get(f"runs/{run_id}/{which}.safetensors", b"")
    key = (run_id, which, len(weights_bytes), hash(weights_bytes[:4096]), json.dumps(network, sort_keys=True))
    with _CACHE_LOCK:
        if _MODEL.get("key") == key:
            return _MODEL["module"], _MODEL["doc"], _MODEL["analysis"]
    try:
        doc = document_from_data(network) if network else project.network
        analysis = analyze(doc)
        module = build_module(doc, analysis)
        try:
            weights = load_run_weights(project, run_id, which)
        except RunError:  # a run stopped before its first epoch ended keeps only its last weights
            weights = load_run_weights(project, run_id, "last")
        module.load_state_dict(weights)
    except (BuildError, RuntimeError, ValueError, KeyError, TypeError) as exc:  # a damaged snapshot, or
        # weights that do not fit the network (load_state_dict's RuntimeError)
        raise RunError(f"run {run_id!r} cannot be rebuilt with its weights: {str(exc).splitlines()[0]}") from None
    module.eval()
    with _CACHE_LOCK:
        _MODEL.update(key=key, module=module, doc=doc, analysis=analysis)
    return module, doc, analysis


def _dataset(config_json: dict[str, Any], base_dir: Path | None) -> Any:
    """The run's dataset, split as in training (the last one loaded is reused)."""
    from engine.data import DatasetConfig, load_dataset

    key = json.dumps([config_json, str(base_dir)], sort_keys=True)
    with _CACHE_LOCK:
        if _DATA.get("key") == key:
            return _DATA["splits"]
    splits = load_dataset(DatasetConfig.from_json(config_json), base_dir)
    with _CACHE_LOCK:
        _DATA.update(key=key, splits=splits)
    return splits
