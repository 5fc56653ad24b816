"""Training recipes: their structure checks, their training steps and telemetry, and partial exports.

The networks are the bundled generative examples (`engine.examples`); the runs are real (`run_job`
on a few hundred generated shapes, one or two epochs); exported parts are checked by the
exporters themselves (onnxruntime, torch.export.load, a fresh import) and here against the
whole network they were cut from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save

from engine.build import build_module
from engine.data import DatasetConfig
from engine.examples import conv_autoencoder, dcgan_shapes, lenet5, vae_shapes
from engine.export import ExportError, export_project
from engine.export.parts import part_network, parts_of
from engine.graph.analysis import analyze
from engine.project import Project
from engine.runs import RunRecord, add_run
from engine.train.job import TrainingJob
from engine.train.preflight import preflight
from engine.train.recipes.structure import autoencoder_split, gan_roles
from engine.train.session import run_job

ROOT = Path(__file__).parents[2]


def quick_run(project: Project, n_samples: int = 240, epochs: int = 2, **recipe: object) -> tuple[object, list]:
    job = TrainingJob.from_project(project, "quick")
    job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": n_samples}, seed=0)
    job.settings.epochs, job.settings.cpu_threads = epochs, 1
    for key, value in recipe.items():
        setattr(job.settings.recipe, key, value)
    messages: list[dict] = []
    result = run_job(job, messages.append)
    assert result.status == "completed", result.failure
    return result, messages


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m["type"] == kind]


# ---- structure ------------------------------------------------------------------------------
def test_examples_pass_the_preflight_with_their_recipes():
    for build in (conv_autoencoder, vae_shapes, dcgan_shapes):
        project = build()
        assert preflight(project.network, project.dataset, project.training) == [], build.__name__


def test_gan_roles_are_read_from_the_noise_and_the_input():
    doc = dcgan_shapes().network
    roles, problems = gan_roles(doc)
    assert not problems and roles is not None
    assert roles.noise == "noise" and roles.input == "image"
    assert roles.generator_output == "generated" and roles.discriminator_output == "verdict"
    assert "gen_upconv2" in roles.generator and "disc_logit" in roles.discriminator
    assert not set(roles.generator) & set(roles.discriminator)


def test_a_gan_whose_generator_makes_the_wrong_shape_is_refused_on_the_output():
    project = dcgan_shapes()
    project.network.set_param("gen_upconv2", "out_channels", 3)
    problems = preflight(project.network, project.dataset, project.training)
    assert [(p.node_id, p.section) for p in problems] == [("generated", "network")]
    assert "N×3×28×28" in problems[0].message and "N×1×28×28" in problems[0].message


def test_a_discriminator_must_give_one_logit():
    project = dcgan_shapes()
    project.network.set_param("disc_logit", "out_features", 2)
    problems = preflight(project.network, project.dataset, project.training)
    assert [p.node_id for p in problems] == ["verdict"] and "Linear(out_features=1)" in problems[0].message


def test_a_gan_recipe_without_noise_says_what_to_add():
    project = lenet5()
    project.training = {**project.training, "recipe": {"kind": "gan"}}
    messages = [p.message for p in preflight(project.network, project.dataset, project.training)]
    assert any("exactly one Noise node" in m for m in messages)
    assert any("two Output nodes" in m for m in messages)


def test_supervised_training_refuses_two_networks_and_names_the_recipe():
    project = dcgan_shapes()
    project.training = {**project.training, "recipe": {"kind": "supervised"}}
    messages = [p.message for p in preflight(project.network, project.dataset, project.training)]
    assert any("exactly one Output node" in m for m in messages)
    assert any("choose the gan recipe" in m for m in messages)


def test_autoencoder_output_must_match_the_input_and_bce_needs_sigmoid():
    project = conv_autoencoder()
    project.training = {**project.training, "recipe": {"kind": "autoencoder", "reconstruction_loss": "bce"}}
    assert preflight(project.network, project.dataset, project.training) == []
    project.network.set_param("dec_upconv2", "out_channels", 2)
    doc = project.network
    sigmoid_edge = doc.edges_into("reconstruction")[0]
    doc.disconnect(sigmoid_edge)
    doc.connect("dec_upconv2", "out", "reconstruction", "in")
    problems = preflight(doc, project.dataset, project.training)
    assert {p.node_id for p in problems} == {"reconstruction"}
    text = " ".join(p.message for p in problems)
    assert "reconstructs its input" in text and "end the decoder with Sigmoid" in text


def test_a_gan_refuses_fp16_and_data_parallel_training():
    project = dcgan_shapes()
    project.training = {**project.training, "precision": "fp16"}
    messages = [p.message for p in preflight(project.network, project.dataset, project.training)]
    assert any("gan recipe trains in float32 or bf16" in m for m in messages)
    from engine.train.setup import build_setup, check_job

    job = TrainingJob.from_project(dcgan_shapes(), "ddp")
    job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": 60}, seed=0)
    checked, problems = check_job(job)
    assert checked is not None, problems
    with pytest.raises(ValueError, match="trains in one process"):
        build_setup(checked, torch.device("cpu"), rank=0, world=2)


def test_vae_recipe_needs_a_sampling_layer():
    project = conv_autoencoder()
    project.training = {**project.training, "recipe": {"kind": "vae"}}
    problems = preflight(project.network, project.dataset, project.training)
    assert any("Sampling layer" in p.message for p in problems)


def test_the_latent_node_is_the_sampling_layer_or_the_narrowest_cut():
    vae = vae_shapes().network
    split, _ = autoencoder_split(vae, analyze(vae))
    assert split is not None and split.latent == "z"
    assert {"mu", "logvar", "image"} <= set(split.encoder) and "dec_fc" in split.decoder
    ae = conv_autoencoder().network
    split, _ = autoencoder_split(ae, analyze(ae))
    assert split is not None and split.latent == "bottleneck"  # 16 values: the narrowest on the one path
    assert split.decoder[0] == "dec_fc" and split.decoder[-1] == "reconstruction"


def test_summary_gives_each_gan_network_its_own_totals():
    from engine.summary import format_summary, summary_data

    doc = dcgan_shapes().network
    data = summary_data(doc)
    nets = data["networks"]
    assert nets["generator"]["params"] + nets["discriminator"]["params"] == data["total_params"]
    generator = build_module(part_network(doc, "gan", "generator"))
    assert nets["generator"]["params"] == sum(p.numel() for p in generator.parameters())
    text = format_summary(doc)
    assert f"Generator (from 'noise'): {nets['generator']['params']:,} params" in text
    assert summary_data(lenet5().network)["networks"] == {}


# ---- training ---------------------------------------------------------------------------------
def test_autoencoder_run_sends_reconstructions_latent_points_and_named_parts():
    _, messages = quick_run(conv_autoencoder(), input_noise=0.2)
    recon = of_type(messages, "reconstructions")
    assert len(recon) == 2
    last = recon[-1]
    assert last["inputs"].shape == last["outputs"].shape == last["noisy"].shape == (8, 28, 28, 1)
    assert last["inputs"].dtype == np.uint8 and not np.array_equal(last["inputs"], last["noisy"])
    latent = of_type(messages, "latent_points")[-1]
    assert latent["points"].shape[1] == 2 and latent["method"] == "pca" and latent["node_id"] == "bottleneck"
    assert len(latent["labels"]) == len(latent["points"]) and set(latent["labels"]) <= set(range(6))
    steps = of_type(messages, "step")
    assert steps and all(set(m["parts"]) == {"reconstruction"} for m in steps)
    epoch = of_type(messages, "epoch")[-1]
    assert set(epoch["train"]) >= {"loss", "reconstruction"} and set(epoch["val"]) >= {"loss", "reconstruction"}
    assert not of_type(messages, "sample_predictions") and not of_type(messages, "confusion_matrix")


def test_denoising_trains_on_noisy_inputs_against_clean_targets():
    result, _ = quick_run(conv_autoencoder(), epochs=1, input_noise=0.5)
    setup = result.trainer.setup
    xb, yb = next(iter(setup.batches.epoch(1)))
    assert torch.equal(xb, yb)  # the target of every training batch is its own clean input
    noisy = setup.augment(xb)  # what the trainer feeds the network (the trainer applies it to inputs only)
    assert float((noisy - xb).std()) == pytest.approx(0.5, rel=0.1)
    x_val, y_val = setup.val
    assert torch.equal(x_val, y_val)  # validation measures reconstructions of clean inputs


def test_an_augmented_batch_is_its_own_target():
    """With flips and crops an autoencoder reconstructs the augmented image, not the original one."""
    from engine.train.setup import build_setup, check_job

    project = conv_autoencoder()
    project.training = {**project.training, "augment": {"hflip": True, "crop_padding": 2, "rotation": 0.0,
                                                        "color_jitter": 0.0}}
    job = TrainingJob.from_project(project, "augment")
    job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": 120}, seed=0)
    checked, problems = check_job(job)
    assert checked is not None, problems
    setup = build_setup(checked, torch.device("cpu"))
    xb, yb = next(iter(setup.batches.epoch(0)))
    augmented = setup.augment(xb)
    assert not torch.equal(augmented, xb)
    with torch.no_grad():
        out = setup.model(augmented)
        loss = setup.loss_fn(out, yb)
    assert float(loss) == pytest.approx(float(torch.nn.functional.mse_loss(out, augmented)), rel=1e-6)
    assert float(loss) != pytest.approx(float(torch.nn.functional.mse_loss(out, xb)), rel=1e-3)


def test_vae_run_plots_kl_and_reconstruction_apart_and_samples_from_fixed_noise():
    result, messages = quick_run(vae_shapes())
    epoch = of_type(messages, "epoch")[-1]
    assert {"reconstruction", "kl"} <= set(epoch["train"]) and {"reconstruction", "kl"} <= set(epoch["val"])
    weight = result.trainer.settings.recipe.kl_weight
    assert epoch["val"]["loss"] == pytest.approx(epoch["val"]["reconstruction"] + weight * epoch["val"]["kl"],
                                                 rel=1e-4)
    assert all(set(m["parts"]) == {"reconstruction", "kl"} for m in of_type(messages, "step"))
    generated = of_type(messages, "generated_samples")
    assert len(generated) == 2 and generated[0]["images"].shape == (16, 28, 28, 1)
    latent = of_type(messages, "latent_points")[-1]
    assert latent["node_id"] is None and latent["method"] == "pca"  # the VAE's latent mean, 8-D
    # exports of the trained network carry no KL bookkeeping: the Sampling layer only computes it in the run
    assert any(getattr(m, "keep_kl", False) for m in result.trainer.module.modules())


def test_gan_run_alternates_two_optimisers_and_reports_both_losses():
    result, messages = quick_run(dcgan_shapes(), discriminator_steps=2)
    setup = result.trainer.setup
    recipe = setup.recipe
    opt_g = recipe.extra["generator_optimizer"]
    opt_d = setup.optimizer
    generator_params = {id(p) for g in opt_g.param_groups for p in g["params"]}
    discriminator_params = {id(p) for g in opt_d.param_groups for p in g["params"]}
    assert generator_params and discriminator_params and not generator_params & discriminator_params
    assert generator_params | discriminator_params == {id(p) for p in setup.module.parameters()}
    steps_d = max(s["step"] for g in opt_d.param_groups for s in [opt_d.state[g["params"][0]]])
    steps_g = max(s["step"] for g in opt_g.param_groups for s in [opt_g.state[g["params"][0]]])
    assert int(steps_d) == result.trainer.step and int(steps_g) == result.trainer.step // 2
    assert opt_g.param_groups[0]["betas"][0] == 0.5 and opt_g.param_groups[0]["lr"] == pytest.approx(2e-4)
    epoch = of_type(messages, "epoch")[-1]
    assert {"generator", "discriminator"} <= set(epoch["train"]) and {"generator", "discriminator"} <= set(epoch["val"])
    assert all(set(m["parts"]) == {"generator", "discriminator"} for m in of_type(messages, "step"))
    images = of_type(messages, "generated_samples")
    assert len(images) == 2 and images[-1]["images"].shape == (16, 28, 28, 1)
    assert result.record.epochs[-1]["best"]  # a GAN keeps its last epoch as its best


def test_a_live_learning_rate_change_moves_both_gan_networks():
    from engine.train.setup import build_setup, check_job

    job = TrainingJob.from_project(dcgan_shapes(), "lr")
    job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": 60}, seed=0)
    job.settings.recipe.discriminator_lr = 4e-4
    checked, _ = check_job(job)
    setup = build_setup(checked, torch.device("cpu"))
    setup.schedule.set_rate(1e-3, 5)
    assert setup.schedule.lr == pytest.approx(1e-3)
    assert setup.recipe.extra["generator_optimizer"].param_groups[0]["lr"] == pytest.approx(1e-3)
    assert setup.optimizer.param_groups[0]["lr"] == pytest.approx(2e-3)  # the discriminator keeps twice the rate


def test_the_learning_rate_finder_sweeps_an_autoencoder_and_refuses_a_gan():
    from engine.train.lr_find_job import run_lr_find

    for build, works in ((conv_autoencoder, True), (dcgan_shapes, False)):
        job = TrainingJob.from_project(build(), "find")
        job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": 200}, seed=0)
        job.settings.cpu_threads = 1
        job.task = {"steps": 30}
        messages: list[dict] = []
        result = run_lr_find(job, messages.append)
        assert (result is not None) == works, [m.get("message") for m in of_type(messages, "error")]
        if not works:
            assert "a GAN trains two" in of_type(messages, "error")[0]["message"]


def test_a_frozen_discriminator_layer_keeps_its_weights_in_a_gan_run():
    project = dcgan_shapes()
    project.network.set_frozen("disc_conv1", True)
    result, _ = quick_run(project, epochs=1)
    setup = result.trainer.setup
    frozen = result.trainer.module.disc_conv1.weight
    assert not frozen.requires_grad
    assert all(p is not frozen for g in setup.optimizer.param_groups for p in g["params"])
    torch.manual_seed(result.trainer.settings.seed)  # the run's seed builds the run's starting weights
    start = build_module(project.network)
    assert torch.equal(frozen.detach(), start.disc_conv1.weight.detach())
    assert not torch.equal(result.trainer.module.disc_conv2.weight.detach(), start.disc_conv2.weight.detach())


def test_generated_samples_come_from_one_fixed_noise_batch():
    """The last grid is exactly what the final generator makes of the fixed noise (seeded, the same every epoch)."""
    from engine.train.recipes.pictures import GENERATED, NOISE_SEED, thumbnails

    result, messages = quick_run(dcgan_shapes())
    recipe = result.trainer.setup.recipe
    z = recipe.draw_noise(GENERATED, torch.Generator().manual_seed(NOISE_SEED))
    with torch.no_grad():
        expected = thumbnails(recipe.generator.eval()(z))
    assert np.array_equal(of_type(messages, "generated_samples")[-1]["images"], expected)


# ---- partial export ----------------------------------------------------------------------------
def trained(project: Project) -> Project:
    """The project with a run whose weights are random but not the defaults (so loading them matters)."""
    module = build_module(project.network)
    torch.manual_seed(5)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.1)
    weights = save({k: v.contiguous() for k, v in module.state_dict().items()})
    add_run(project, RunRecord("run-1", started="2026-01-01T00:00:00Z", status="completed",
                               weights={"best": weights, "last": weights}))
    return project


def test_parts_follow_the_recipe():
    assert parts_of(dcgan_shapes().network, "gan") == ("generator", "discriminator")
    assert parts_of(conv_autoencoder().network, "autoencoder") == ("encoder", "decoder")
    assert parts_of(lenet5().network, "supervised") == ()
    with pytest.raises(ExportError, match="no part 'encoder'"):
        part_network(dcgan_shapes().network, "gan", "encoder")
    with pytest.raises(ExportError, match="no part"):
        part_network(lenet5().network, "supervised", "decoder")


@pytest.mark.parametrize("fmt", ["onnx", "pt2", "code"])
def test_encoder_then_decoder_exports_reproduce_the_autoencoder(tmp_path, fmt):
    import onnxruntime as ort

    project = trained(conv_autoencoder())
    encoder = export_project(project, fmt, tmp_path / "encoder", part="encoder")
    decoder = export_project(project, fmt, tmp_path / "decoder", part="decoder")
    for report in (encoder, decoder):
        assert report.run_id == "run-1" and report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    from engine.runs import load_run_weights

    whole = build_module(project.network)
    whole.load_state_dict(load_run_weights(project, "run-1"))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        expected = whole.eval()(x)
    if fmt == "onnx":
        code = ort.InferenceSession(str(encoder.path)).run(None, {"image": x.numpy()})[0]
        assert code.shape == (3, 16)
        out = ort.InferenceSession(str(decoder.path)).run(None, {"latent": code})[0]
        got = torch.from_numpy(out)
    elif fmt == "pt2":
        enc, dec = (torch.export.load(str(r.path)).module() for r in (encoder, decoder))
        got = dec(enc(x))
    else:
        got = _code_module(encoder.path, project, "encoder")(x)
        got = _code_module(decoder.path, project, "decoder")(got)
    assert torch.allclose(got, expected, atol=1e-5)


def _code_module(path: Path, project: Project, part: str) -> torch.nn.Module:
    import importlib.util

    from engine.export.parts import part_weights
    from engine.runs import load_run_weights

    spec = importlib.util.spec_from_file_location(f"exported_{part}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = getattr(module, path.stem.title().replace("_", ""))()
    weights = part_weights(part_network(project.network, "autoencoder", part), load_run_weights(project, "run-1"))
    net.load_state_dict(weights)
    return net.eval()


@pytest.mark.parametrize("fmt", ["onnx", "pt2", "code", "safetensors"])
def test_gan_generator_exports_alone_with_its_weights(tmp_path, fmt):
    project = trained(dcgan_shapes())
    report = export_project(project, fmt, tmp_path / "generator", part="generator")
    assert report.path.exists() and report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert "the generator alone" in report.notes
    if fmt == "onnx":
        import onnx

        model = onnx.load(str(report.path))
        assert [i.name for i in model.graph.input] == ["noise"]
        assert [o.name for o in model.graph.output] == ["generated"]
    if fmt == "safetensors":
        from safetensors.torch import load_file

        keys = set(load_file(str(report.path)))
        assert keys and all(k.startswith("gen_") for k in keys)


def test_vae_encoder_exports_the_latent_mean_and_the_decoder_takes_it(tmp_path):
    import onnxruntime as ort

    from engine.runs import load_run_weights

    project = trained(vae_shapes())
    encoder = export_project(project, "pt2", tmp_path / "enc", part="encoder")
    decoder = export_project(project, "onnx", tmp_path / "dec", part="decoder")
    whole = build_module(project.network)
    whole.load_state_dict(load_run_weights(project, "run-1"))
    whole.eval()
    means: list[torch.Tensor] = []
    whole.mu.register_forward_hook(lambda module, args, output: means.append(output))
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        expected = whole(x)
    mu = torch.export.load(str(encoder.path)).module()(x)
    assert torch.allclose(mu, means[0], atol=1e-5)  # the encoder gives the latent mean
    out = ort.InferenceSession(str(decoder.path)).run(None, {"latent": mu.detach().numpy()})[0]
    assert torch.allclose(torch.from_numpy(out), expected, atol=1e-5)  # and the decoder finishes the network


def test_cli_exports_a_part(tmp_path):
    from engine.project import save_project

    path = save_project(trained(dcgan_shapes()), tmp_path / "gan.loom")
    done = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(path), "--format", "onnx",
                           "--part", "generator"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "gan_generator.onnx").exists() and "run 'run-1'" in done.stdout
    wrong = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(path), "--format", "onnx",
                            "--part", "encoder"], capture_output=True, text=True, cwd=ROOT)
    assert wrong.returncode == 1 and "no part 'encoder'" in wrong.stderr


# ---- the steady-state step reads nothing back from the device ---------------------------------------
class HostRead(AssertionError):
    """A tensor's value was read by Python: on a GPU, a sync."""


@pytest.fixture
def no_host_reads(monkeypatch):
    """Every Python-level read of a tensor's value (item, float, bool, tolist, numpy, cpu) raises."""
    def refuse(self, *args, **kwargs):
        raise HostRead("a tensor's value was read during a step")

    for name in ("item", "__float__", "__int__", "__bool__", "tolist", "numpy", "cpu"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    yield
    monkeypatch.undo()


def recipe_setup(project: Project, **recipe: object):
    from engine.train.setup import build_setup, check_job

    job = TrainingJob.from_project(project, "sync")
    job.dataset = DatasetConfig(job.dataset.kind, {**job.dataset.params, "n_samples": 200}, seed=0)
    for key, value in recipe.items():
        setattr(job.settings.recipe, key, value)
    checked, problems = check_job(job)
    assert checked is not None, problems
    setup = build_setup(checked, torch.device("cpu"))
    return setup, list(setup.batches.epoch(0))[:3]


@pytest.mark.parametrize("build, recipe", [(conv_autoencoder, {"input_noise": 0.1}), (vae_shapes, {}),
                                           (dcgan_shapes, {"discriminator_steps": 2})],
                         ids=["denoising", "vae", "gan"])
def test_a_recipe_step_never_reads_a_value_back(build, recipe, request):
    setup, batches = recipe_setup(build(), **recipe)
    request.getfixturevalue("no_host_reads")
    for xb, yb in batches:
        if setup.recipe.step is not None:
            setup.recipe.step(xb, yb)
            continue
        out = setup.model(setup.augment(xb) if setup.augment is not None else xb)
        loss = setup.loss_fn(out, yb)
        setup.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        setup.optimizer.step()
    with pytest.raises(HostRead):  # the guard works: reading the parts is the report's one sync
        setup.recipe.window_parts()
