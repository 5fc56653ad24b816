"""TensorBoard event files of a real tiny run, read back with TensorBoard's own EventAccumulator: scalars per
step and per epoch, weight and gradient histograms, the settings as hparams; a missing package is a clear
pre-flight problem; the logger never runs per step."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from safetensors.torch import load as load_safetensors
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from engine.data import DatasetConfig
from engine.examples import mlp_document
from engine.train import TrainingJob, TrainingSettings, tensorboard_log, tensorboard_writer
from engine.train.callbacks import Callback, overrides
from engine.train.preflight import preflight
from engine.train.session import run_job
from engine.train.tensorboard_log import TensorBoardLogger, run_log_dir

EPOCHS = 3


def job(tmp_path, **tensorboard) -> TrainingJob:
    settings = TrainingSettings.from_json({
        "epochs": EPOCHS, "batch_size": 32, "cpu_threads": 1, "device": "cpu", "metrics": ["accuracy"],
        "optimizer": {"kind": "adam", "lr": 0.01}, "telemetry": {"enabled": False},
        "tensorboard": {"enabled": True, **tensorboard}})
    dataset = DatasetConfig("spirals", {"n_samples": 300})
    return TrainingJob(mlp_document(), dataset, settings, "run-1", tmp_path, "Spirals MLP")


def read_events(folder) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


def test_a_run_writes_scalars_histograms_and_hparams_that_tensorboard_reads(tmp_path, monkeypatch):
    # epochs of this tiny run take milliseconds: let histograms take their time, to see one per epoch
    monkeypatch.setattr(tensorboard_log, "HISTOGRAM_BUDGET", 10.0)
    result = run_job(job(tmp_path), lambda message: None)
    assert result.status == "completed", result.failure
    folder = tmp_path / "tensorboard" / "Spirals_MLP" / "run-1"  # beside the project, per project and run
    assert list(folder.glob("events.out.tfevents.*"))
    events = read_events(folder)
    tags = events.Tags()
    for tag in ("step/loss", "step/lr", "step/samples_per_s", "loss/train", "loss/val", "accuracy/train",
                "accuracy/val", "epoch/lr", "loss/test", "accuracy/test"):
        assert tag in tags["scalars"], (tag, tags["scalars"])
    epochs = result.record.epochs
    val_loss = events.Scalars("loss/val")
    assert [e.step for e in val_loss] == list(range(1, EPOCHS + 1))
    assert [e.value for e in val_loss] == pytest.approx([e["val"]["loss"] for e in epochs], rel=1e-6)
    steps = events.Scalars("step/loss")
    assert steps and steps[-1].step == result.trainer.step  # x is the global step
    for name in ("fc1.weight", "fc1.bias", "fc3.weight"):
        assert f"weights/{name}" in tags["histograms"] and f"gradients/{name}" in tags["histograms"]
    histogram = events.Histograms("weights/fc1.weight")
    assert len(histogram) == EPOCHS
    last = histogram[-1].histogram_value
    weights = load_safetensors(result.record.weights["last"])["fc1.weight"]  # the weights at the run's end
    assert last.num == weights.numel() == 2 * 64 and sum(last.bucket) == last.num  # every weight counted
    assert (last.min, last.max) == pytest.approx((float(weights.min()), float(weights.max())))
    assert last.sum == pytest.approx(float(weights.sum()), abs=1e-4)

    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["optimizer.lr"].number_value == pytest.approx(0.01)
    assert hparams["optimizer.kind"].string_value == "adam"
    assert hparams["batch_size"].number_value == 32 and hparams["tensorboard.enabled"].bool_value
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} >= {"loss/val", "accuracy/val"}
    types = {info.name: info.type for info in experiment.hparam_infos}  # so TensorBoard sorts and filters them
    assert (types["optimizer.lr"], types["optimizer.kind"], types["tensorboard.enabled"]) == (
        api_pb2.DATA_TYPE_FLOAT64, api_pb2.DATA_TYPE_STRING, api_pb2.DATA_TYPE_BOOL)


def test_a_second_run_with_the_same_id_gets_its_own_folder_and_a_chosen_folder_is_used(tmp_path):
    chosen = tmp_path / "logs"
    for _ in range(2):
        assert run_job(job(tmp_path, log_dir="logs", histograms=False), lambda m: None).status == "completed"
    runs = sorted(p.name for p in (chosen / "Spirals_MLP").iterdir())
    assert runs == ["run-1", "run-1-2"]
    assert "weights/fc1.weight" not in read_events(chosen / "Spirals_MLP" / "run-1").Tags()["histograms"]
    assert run_log_dir(chosen, "Spirals MLP", "run-3") == chosen / "Spirals_MLP" / "run-3"


def test_a_missing_tensorboard_package_is_a_start_problem_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    j = job(tmp_path)
    problems = preflight(j.document, j.dataset.to_json(), j.settings)
    [problem] = [p for p in problems if "tensorboard" in p.message]
    assert 'pip install "layerloom[tensorboard]"' in problem.message and problem.section == "training"
    messages = []
    result = run_job(j, messages.append)
    assert result.status == "failed" and result.trainer is None  # refused before anything trained
    [error] = [m for m in messages if m["type"] == "error"]
    assert "tensorboard package is not installed" in error["message"] and not error["traceback"]
    assert not (tmp_path / "tensorboard").exists()


def test_the_logger_stays_off_the_step_path_and_histograms_keep_to_their_budget(tmp_path, monkeypatch):
    logger = TensorBoardLogger(tmp_path, {}, ["accuracy"])
    assert not overrides(logger, "on_step_end")  # so the trainer's per-step callback list never holds it
    assert overrides(logger, "on_progress") and overrides(logger, "on_epoch_end")
    monkeypatch.setattr(tensorboard_log, "HISTOGRAM_BUDGET", 0.0)  # no time to spare in the loop
    result = run_job(job(tmp_path), lambda message: None)
    [logger] = [c for c in result.trainer.callbacks.callbacks if isinstance(c, TensorBoardLogger)]
    assert result.trainer.callbacks.step_callbacks == []
    assert (logger.histograms_written, logger.histograms_skipped) == (1, EPOCHS)  # only the run's end
    events = read_events(logger.log_dir)
    assert [e.step for e in events.Histograms("weights/fc1.weight")] == [EPOCHS]
    assert [e.step for e in events.Histograms("gradients/fc1.weight")] == [EPOCHS]
    assert len(events.Scalars("loss/val")) == EPOCHS  # scalars are never skipped


def test_a_log_folder_that_cannot_be_made_leaves_the_run_training_and_says_why(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    messages = []
    result = run_job(job(tmp_path, log_dir="taken"), messages.append)
    assert result.status == "completed"  # logging never ends a run
    logs = [m["text"] for m in messages if m["type"] == "log"]
    assert any("TensorBoard logs are off for this run: cannot write to" in text for text in logs), logs


def test_what_the_logs_add_to_the_benchs_step_time_is_under_one_percent(tmp_path):
    """The bench's tensorboard section on its MLP (steps of about half a millisecond, where any per-step cost
    shows): the CPU the logger's hooks spend over the timed epochs, and what its writer process spends, against
    the training process's CPU over them. CPU seconds, so another process beside the suite does not move it."""
    from studio.bench.networks import prepare_data
    from studio.bench.tensorboard_cost import tensorboard_run

    prepare_data(str(tmp_path))
    spec = {"network": "mlp", "threads": 1, "device": "cpu", "data_dir": str(tmp_path),
            "log_dir": str(tmp_path / "tensorboard"), "epochs": 12, "tensorboard": True}
    result = tensorboard_run(spec)
    assert result["steps"] == 12 * 29 and result["histogram_epochs"] >= 1  # it logged, histograms included
    assert 0.0 < result["accounted_share"] < 0.01, result
    assert tensorboard_run({**spec, "tensorboard": False})["accounted_share"] == 0.0


def test_the_loop_holds_numbers_and_hands_them_to_the_writer_process_in_batches(tmp_path, monkeypatch):
    """The loop only appends numbers; they go to the writer process as one message at each hand-over (here: the
    first report, then the run's end), each event with the step and the wall time of the moment it was held.
    The training process never imports the tensorboard package; the writer process never imports torch."""
    sent: list[dict] = []
    real = tensorboard_writer.WriterProcess.send
    monkeypatch.setattr(tensorboard_writer.WriterProcess, "send", lambda self, m: sent.append(m) or real(self, m))
    monkeypatch.setattr(tensorboard_log, "HANDOVER_SECONDS", 1e9)

    class Watch(Callback):
        def __init__(self) -> None:
            self.sent_at_epoch_end: list[int] = []
            self.held_at_epoch_end: list[int] = []

        def on_epoch_end(self, trainer, record) -> None:  # after the logger's own epoch end
            [logger] = [c for c in trainer.callbacks.callbacks if isinstance(c, TensorBoardLogger)]
            self.sent_at_epoch_end.append(len(sent))
            self.held_at_epoch_end.append(len(logger._pending))

    watch = Watch()
    result = run_job(job(tmp_path), lambda message: None, callbacks=[watch])
    assert result.status == "completed"
    assert watch.sent_at_epoch_end == [2] * EPOCHS  # the hparams and the first report, then nothing in the loop
    assert watch.held_at_epoch_end == sorted(watch.held_at_epoch_end) and watch.held_at_epoch_end[-1] >= EPOCHS
    assert len(sent) == 3 and "hparams" in sent[0]
    [logger] = [c for c in result.trainer.callbacks.callbacks if isinstance(c, TensorBoardLogger)]
    events = read_events(logger.log_dir)
    epochs = events.Scalars("loss/val")
    assert [e.step for e in epochs] == [1, 2, 3]
    assert all(a.wall_time < b.wall_time for a, b in itertools.pairwise(epochs))  # the moment held, not handed over
    assert [e.value for e in epochs] == pytest.approx([r.val["loss"] for r in result.trainer.history])
    held = sum(len(message.get("events", ())) for message in sent)
    assert logger.writer_report["events"] == held + 2  # every one written, and the two hparams summaries
    assert logger.writer_report["cpu_seconds"] > 0 and logger.writer_cpu() == logger.writer_report["cpu_seconds"]


def test_a_training_process_with_logs_never_imports_the_tensorboard_package(tmp_path):
    script = ("import sys\n"
              "from engine.data import DatasetConfig\n"
              "from engine.examples import mlp_document\n"
              "from engine.train import TrainingJob, TrainingSettings, run_job\n"
              "settings = TrainingSettings.from_json({'epochs': 1, 'batch_size': 32, 'device': 'cpu', "
              "'cpu_threads': 1, 'telemetry': {'enabled': False}, 'tensorboard': {'enabled': True}})\n"
              "job = TrainingJob(mlp_document(), DatasetConfig('spirals', {'n_samples': 100}), settings, 'r', "
              "sys.argv[1], 'p')\n"
              "assert run_job(job, lambda m: None).status == 'completed'\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorboard', 'google')))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
    assert read_events(tmp_path / "tensorboard" / "p" / "r").Scalars("loss/val")  # written all the same


def test_the_writer_process_never_imports_torch_and_a_bad_frame_is_its_clear_error(tmp_path):
    script = ("import sys, json; sys.argv[1:] = [sys.argv[1], '1']\n"
              "from engine.train.tensorboard_writer import main\n"
              "code = main(sys.argv[1:])\n"
              "print(json.dumps({'torch': 'torch' in sys.modules}), file=sys.stderr); sys.exit(code)")
    frames = tensorboard_writer.frame({"events": [["scalars", 1, 1.5, {"a/b": 0.25, "nan": float("nan")}]]})
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "good")], input=frames,
                          capture_output=True, check=True)
    assert done.stdout.splitlines()[0] == b"ready" and json.loads(done.stdout.splitlines()[-1])["events"] == 1
    assert json.loads(done.stderr) == {"torch": False}
    [value] = read_events(tmp_path / "good").Scalars("a/b")  # the non-finite one left out
    assert (value.step, value.wall_time, value.value) == (1, 1.5, 0.25)

    cut = frames + (10**9).to_bytes(4, "big") + b"{"  # a frame longer than any run sends
    failed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "bad")], input=cut, capture_output=True)
    assert failed.returncode == 1 and b"larger than" in failed.stderr.splitlines()[0]
    assert [v.value for v in read_events(tmp_path / "bad").Scalars("a/b")] == [0.25]  # what came first is kept


def test_a_writer_that_dies_turns_the_logs_off_with_its_reason_and_the_run_trains_on(tmp_path, monkeypatch):
    real = tensorboard_writer.WriterProcess.send

    def send_then_die(self, message):
        real(self, message)
        if "events" in message:  # the first hand-over: the writer is killed after it
            self.process.kill()
            self.process.wait()

    monkeypatch.setattr(tensorboard_writer.WriterProcess, "send", send_then_die)
    monkeypatch.setattr(tensorboard_log, "HANDOVER_SECONDS", 0.0)  # hand over at every report
    messages = []
    result = run_job(job(tmp_path), messages.append)
    assert result.status == "completed" and len(result.trainer.history) == EPOCHS
    logs = [m["text"] for m in messages if m["type"] == "log"]
    assert any("TensorBoard logs stopped for this run: WriterFailed" in text for text in logs), logs
