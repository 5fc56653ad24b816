"""Explanations: Captum's saliency, Grad-CAM and integrated gradients of a trained shapes CNN, the live
Grad-CAM's cost while training, and the PCA probe (real training on generated shapes, seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

from engine.data.shapes import SHAPES, draw_shapes_with_masks
from engine.examples import lenet5, mlp_spirals
from engine.explain import GRAD_CAM, METHODS, ExplainError, SampleRef, default_node, spatial_nodes
from engine.explain.attribution import attribute, grad_cam_once
from engine.explain.latent import pca_points
from engine.graph.analysis import analyze
from engine.project import Project
from engine.runs import add_run, run_ids
from engine.templates import image_classifier
from engine.train import Callback, TrainingJob, run_job
from engine.train.control import QueueCommands
from engine.train.trainer import Trainer


def _job(project: Project, epochs: int, samples: int, probes: list[str] | None = None) -> TrainingJob:
    project.training["epochs"] = epochs
    project.training["probes"] = probes or []
    project.dataset["params"]["n_samples"] = samples
    job = TrainingJob.from_project(project, "explained")
    job.settings.cpu_threads = 1
    return job


@pytest.fixture(scope="module")
def trained() -> tuple[Project, Any]:
    """The Image classifier template (convolutions to a global average pool) trained on shapes as it ships."""
    project = image_classifier()
    result = run_job(_job(project, 12, 3000), lambda m: None)
    assert result.status == "completed"
    assert result.record.epochs[-1]["val"]["accuracy"] > 0.75
    add_run(project, result.record)
    return project, result.trainer.module


def _fresh_shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New shapes from the dataset's own generator (with its pixel noise), with the masks of what is drawn."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SHAPES)
    images, masks = draw_shapes_with_masks(labels, 28, rng)
    images = np.clip(images + 0.1 * rng.standard_normal(images.shape, dtype=np.float32), 0.0, 1.0)
    return images, labels, masks


def test_the_last_spatial_node_is_chosen_from_the_inferred_shapes():
    doc = lenet5().network
    analysis = analyze(doc)
    assert spatial_nodes(doc, analysis) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    assert default_node(doc, analysis) == "pool2"
    assert default_node(mlp_spirals().network, analyze(mlp_spirals().network)) is None


def test_grad_cam_mass_falls_on_the_drawn_shape(trained):
    """The issue's contract, measured on correctly classified fresh samples at the default (last spatial) node:
    the share of the Grad-CAM mass on the pixels the shape covers (no margin), against that share for a map
    that ignored the shape (the shape's area over the image's)."""
    project, module = trained
    analysis = analyze(project.network)
    node = default_node(project.network, analysis)
    assert node == "relu4"
    images, labels, masks = _fresh_shapes(60, seed=123)
    inside, chance, per_class = [], [], {name: [] for name in SHAPES}
    for image, label, mask in zip(images, labels, masks):
        result = grad_cam_once(module, torch.from_numpy(image[None, None]), node)
        if result.target != label:
            continue
        heat = result.heatmap.astype(np.float64)
        inside.append(heat[mask].sum() / heat.sum())
        chance.append(mask.mean())
        per_class[SHAPES[label]].append(inside[-1])
    share = np.array(inside)
    print(f"\ncorrect {len(share)}/60; Grad-CAM mass inside the drawn shape: median {np.median(share):.2f} "
          f"(the shape's share of the image {np.mean(chance):.2f}), over half for {np.mean(share > 0.5):.0%}; "
          "per class " + ", ".join(f"{k} {np.median(v):.2f}" for k, v in per_class.items() if v))
    assert len(share) >= 40
    assert np.mean(share > 0.5) > 0.5, share  # mostly inside, for most correctly classified samples
    assert np.median(share) > np.mean(chance) + 0.3  # far from a map that ignores the shape


def test_every_method_gives_a_normalised_map_of_the_input(trained):
    _project, module = trained
    images, _labels, masks = _fresh_shapes(6, seed=7)
    x = torch.from_numpy(images[:1, None])
    for method in METHODS:
        result = attribute(module, x, method, "relu4" if method == GRAD_CAM else None)
        heat = result.heatmap
        assert heat.shape == (28, 28) and heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
        assert 0 <= result.target < 6 and 0.0 < result.probability <= 1.0
    # integrated gradients from a black image credit the bright shape's pixels
    ig = attribute(module, x, "integrated_gradients").heatmap
    assert ig[masks[0]].sum() / ig.sum() > 0.6


def test_explaining_leaves_the_training_state_alone(trained):
    _project, module = trained
    module.train()
    for p in module.parameters():
        p.grad = torch.zeros_like(p)
    grad_cam_once(module, torch.rand(1, 1, 28, 28), "relu4")
    attribute(module, torch.rand(1, 1, 28, 28), "saliency")
    assert module.training
    assert all(float(p.grad.abs().sum()) == 0.0 for p in module.parameters())


class PassCounter(Callback):
    """Counts one-sample forwards through, and all backwards into, the network's last layer (every pass
    crosses it). Training, validation and the pictures use batches of many samples; how many pictures a run
    sends depends on how long its epochs take (at most two a second), so only one-sample forwards are counted:
    an explanation, or anything else done for the one explained sample."""

    def __init__(self, layer: str) -> None:
        self.layer, self.forwards, self.backwards = layer, 0, 0

    def on_run_start(self, trainer: Trainer) -> None:
        module = trainer.module.get_submodule(self.layer)
        module.register_forward_hook(self._forward)
        module.register_full_backward_hook(lambda *_: setattr(self, "backwards", self.backwards + 1))

    def _forward(self, _module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        if len(inputs[0]) == 1:
            self.forwards += 1


def _counted_run(explain: bool) -> tuple[PassCounter, list[dict[str, Any]]]:
    job = _job(image_classifier(), 3, 600)
    commands = QueueCommands()
    if explain:
        commands.put({"cmd": "explain", "sample": {"split": "val", "index": 2}, "node": None})
    counter, messages = PassCounter("classifier"), []
    result = run_job(job, messages.append, commands=commands, callbacks=[counter])
    assert result.status == "completed"
    return counter, messages


def test_live_grad_cam_costs_one_forward_and_one_backward_per_refresh():
    quiet, _ = _counted_run(explain=False)
    counted, messages = _counted_run(explain=True)
    explanations = [m for m in messages if m["type"] == "explanation"]
    epochs = sorted({m["epoch"] for m in explanations})
    assert epochs == [0, 1, 2]  # refreshed at every epoch (and once at once, when the sample was chosen)
    refreshes = len(explanations)
    extra_forwards = counted.forwards - quiet.forwards
    extra_backwards = counted.backwards - quiet.backwards
    print(f"\n{refreshes} refreshes: {extra_forwards} extra forwards, {extra_backwards} extra backwards "
          f"({(extra_forwards + extra_backwards) / 2 / refreshes:.2f} forward-backward passes each)")
    assert extra_forwards == refreshes and extra_backwards == refreshes
    first = explanations[-1]
    assert first["method"] == "grad_cam" and first["node_id"] == "relu4" and first["split"] == "val"
    assert first["sample_index"] == 2 and first["input"].shape == (28, 28, 1) and first["true"] in range(6)
    assert first["heatmap"].shape == (28, 28) and 0.99 <= float(first["heatmap"].max()) <= 1.0


def test_a_bad_explain_request_is_a_warning_not_a_failure():
    job = _job(image_classifier(), 1, 300)
    commands = QueueCommands()
    commands.put({"cmd": "explain", "sample": {"split": "val", "index": 10_000}})
    messages: list[dict[str, Any]] = []
    assert run_job(job, messages.append, commands=commands).status == "completed"
    warnings = [m["text"] for m in messages if m["type"] == "log" and m["level"] == "warning"]
    assert any("there is no sample 10001" in w for w in warnings), warnings
    assert not [m for m in messages if m["type"] == "explanation"]


def test_pca_probe_follows_the_probed_node():
    job = _job(image_classifier(), 2, 600, probes=["relu2"])
    commands = QueueCommands()
    messages: list[dict[str, Any]] = []
    assert run_job(job, messages.append, commands=commands).status == "completed"
    latent = [m for m in messages if m["type"] == "latent_points"]
    assert latent and {m["node_id"] for m in latent} == {"relu2"} and {m["method"] for m in latent} == {"pca"}
    last = latent[-1]
    assert last["points"].shape == (len(last["labels"]), 2) and np.isfinite(last["points"]).all()
    assert set(np.unique(last["labels"])) <= set(range(6)) and last["class_names"] == SHAPES


def test_pca_points_are_the_leading_principal_components():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((40, 40)))[0]
    data = rng.standard_normal((200, 40)) * np.r_[10.0, 4.0, np.full(38, 0.1)]
    x = data @ basis.T
    points = pca_points(torch.from_numpy(x).float().reshape(200, 5, 8))
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    for k in range(2):
        assert abs(np.corrcoef(points[:, k], expected[:, k])[0, 1]) > 0.999
    flipped = pca_points(torch.from_numpy(x).float(), previous=-points)
    assert np.allclose(flipped, -points, atol=1e-3)  # the sign follows the previous epoch's points


def test_a_finished_run_is_explained_from_its_record(trained):
    from engine.explain.offline import explain_run

    project, _module = trained
    run_id = run_ids(project)[0]
    result = explain_run(project, run_id, SampleRef("val", 0))
    assert result.image.shape == (28, 28, 1) and result.image.dtype == np.uint8
    assert [a.method for a in result.attributions] == list(METHODS)
    assert result.node_id == "relu4" and result.true in range(6) and result.predicted in range(6)
    assert all(a.heatmap.shape == (28, 28) for a in result.attributions)
    with pytest.raises(ExplainError, match="spatial output"):
        explain_run(project, run_id, SampleRef("val", 0), node_id="gap")
    with pytest.raises(ExplainError, match="no sample 100001"):
        explain_run(project, run_id, SampleRef("val", 100_000))
    with pytest.raises(ExplainError, match="no run"):
        explain_run(project, "missing", SampleRef("val", 0))
    with pytest.raises(ExplainError):
        SampleRef("elsewhere", 0)


def test_only_image_classifiers_are_explained():
    from engine.explain.offline import explain_run

    project = mlp_spirals()
    result = run_job(_job(project, 1, 300), lambda m: None)
    add_run(project, result.record)
    with pytest.raises(ExplainError, match="image classifiers"):
        explain_run(project, result.record.run_id, SampleRef("val", 0))


def test_the_package_top_loads_no_torch():
    code = "import sys, json; import engine.explain; print(json.dumps('torch' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False


def test_pca_probe_keeps_the_classes_where_an_autoencoder_makes_the_input_its_target():
    from engine.project import load_project
    from engine.resources import example_path

    job = _job(load_project(example_path("conv_autoencoder")), 1, 300, probes=["enc_conv2"])
    messages: list[dict[str, Any]] = []
    assert run_job(job, messages.append).status == "completed"
    latent = [m for m in messages if m["type"] == "latent_points" and m["node_id"] == "enc_conv2"]
    assert latent and latent[-1]["method"] == "pca"
    assert set(np.unique(latent[-1]["labels"]).tolist()) == set(range(6)) and latent[-1]["class_names"] == SHAPES
