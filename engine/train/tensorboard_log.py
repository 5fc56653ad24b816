"""TensorBoard event files for a run: a training callback, on when ``tensorboard.enabled`` is set.

`TensorBoardLogger` writes (with the ``tensorboard`` package, the optional extra
``layerloom[tensorboard]``) into ``<folder>/<project>/<run id>``:

- ``step/loss``, ``step/lr``, ``step/samples_per_s`` at every progress report (about 10 a second,
  where the trainer already brings the loss to the host: no extra sync, nothing per step);
- ``<metric>/train`` and ``<metric>/val`` (loss, accuracy, ...), ``epoch/lr`` and ``epoch/seconds``
  each epoch, and ``<metric>/test`` after the last, with the epoch number as the step;
- ``weights/<parameter>`` and ``gradients/<parameter>`` histograms at the end of each epoch
  (the gradients of the epoch's last step), unless ``tensorboard.histograms`` is off; an epoch's are
  skipped when (by the last ones' cost) they would take histograms past `HISTOGRAM_BUDGET` of the
  run's epochs' time so far, and the run's end always has them (the final weights);
- the run's declared settings (flattened paths such as ``optimizer.lr``) as hparams, with the
  epoch metrics as the hparams metrics, so TensorBoard's HParams view compares runs.

The folder is ``tensorboard.log_dir`` (relative to the project's folder), or ``tensorboard``
beside the project when empty; `run_log_dir` names it, never reusing a folder that holds another
run's events. `tensorboard_problems` is the pre-flight check: a missing package is a clear problem
before the run starts, never a traceback.

What the training loop does is kept to appending numbers: a report, an epoch's record, or a histogram
counted with torch where the weights live. Every `HANDOVER_SECONDS` (and at the run's end) the held
numbers go, as one message on a pipe, to a writer process of the run's own
(`engine.train.tensorboard_writer`), which builds the protobufs and writes the file on another core;
the training process never imports the tensorboard package, and has no writer thread to share its
interpreter lock with. Each event keeps the wall time of the moment it was held. The run's end waits for
the writer to finish the file. A writer that fails turns the logs off with a message in the run's log;
logging never ends a run. Importing this module imports neither torch nor the tensorboard package.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine.diff.settings_diff import flat_settings
from engine.train.callbacks import Callback, EpochRecord, Progress
from engine.train.tensorboard_writer import WriterFailed, WriterProcess

if TYPE_CHECKING:
    from engine.train.settings import TrainingSettings
    from engine.train.trainer import Trainer

DEFAULT_FOLDER = "tensorboard"
HISTOGRAM_BUDGET = 0.002  # histograms may take at most this share of the epochs' time
FLUSH_SECONDS = 10.0  # how often the writer process writes its events out (and at the run's end)
HISTOGRAM_BINS = 30  # each event is checksummed byte by byte in Python by the writer: keep them small
HANDOVER_SECONDS = 5.0  # how often held events go to the writer process (and at the run's end)
INSTALL_HINT = 'pip install "layerloom[tensorboard]"'
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def tensorboard_installed() -> bool:
    """Whether the tensorboard package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):  # a module set to None, or one without a spec, is not usable
        return False


def tensorboard_problems(settings: TrainingSettings) -> list[str]:
    """Why TensorBoard logs cannot be written (empty when they are off or can be)."""
    if settings.tensorboard.enabled and not tensorboard_installed():
        return ["TensorBoard logs are switched on (tensorboard.enabled) but the tensorboard package is not "
                f"installed: {INSTALL_HINT}, or switch the logs off"]
    return []


def log_root(settings: TrainingSettings, base_dir: Path | None) -> Path:
    """The folder TensorBoard is pointed at (``tensorboard --logdir``)."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    chosen = settings.tensorboard.log_dir.strip()
    if not chosen:
        return base / DEFAULT_FOLDER
    folder = Path(chosen).expanduser()
    return folder if folder.is_absolute() else base / folder


def run_log_dir(root: Path, project_name: str, run_id: str) -> Path:
    """``root/<project>/<run id>``, or with ``-2``, ``-3``... when another run's events are there."""
    project = _UNSAFE.sub("_", project_name).strip("._") or "project"
    folder = root / project / run_id
    n = 2
    while folder.exists() and any(folder.iterdir()):
        folder = root / project / f"{run_id}-{n}"
        n += 1
    return folder


def hparam_values(settings: Mapping[str, Any]) -> dict[str, float | str | bool]:
    """The declared settings as hparams: numbers, text and flags (lists joined, none as text)."""
    out: dict[str, float | str | bool] = {}
    for path, value in flat_settings(settings).items():
        if isinstance(value, bool | str):
            out[path] = value
        elif isinstance(value, int | float):
            out[path] = float(value)
        elif isinstance(value, list):
            out[path] = ",".join(map(str, value))
        else:
            out[path] = "none" if value is None else str(value)
    return out


def histogram_numbers(tag: str, values: Any, bins: int = HISTOGRAM_BINS) -> dict[str, Any] | None:
    """A TensorBoard histogram of a tensor's finite values in `bins` equal buckets, as numbers the writer process
    turns into a summary (`tensorboard_writer.histogram_summary`); counted with `torch.histc` where the tensor
    lives (about 50 times cheaper than numpy's histogram over TensorFlow's 1,500 exponential buckets, which
    `SummaryWriter.add_histogram` uses). None when no value is finite."""
    import torch

    flat = values.detach().float().flatten()
    finite = flat[torch.isfinite(flat)]
    if finite.numel() == 0:
        return None
    low, high = finite.min(), finite.max()
    counts = torch.histc(finite, bins=bins, min=float(low), max=float(high)) if high > low else None
    low_f, high_f, total, squares = torch.stack([low, high, finite.sum(), finite.square().sum()]).tolist()
    if counts is None:  # every value the same: one bucket
        limits, buckets = [high_f], [float(finite.numel())]
    else:
        width = (high_f - low_f) / bins
        limits = [low_f + width * (i + 1) for i in range(bins)]
        buckets = counts.tolist()
    return {"tag": tag, "min": low_f, "max": high_f, "num": float(finite.numel()), "sum": total,
            "sum_squares": squares, "limits": limits, "buckets": buckets}


def held_scalars(content: Progress | EpochRecord | Mapping[str, float]) -> dict[str, float]:
    """The scalars of a held report, epoch record or set of scalars, by tag."""
    if isinstance(content, Progress):
        return {"step/loss": content.loss, "step/lr": content.lr, "step/samples_per_s": content.samples_per_s}
    if isinstance(content, EpochRecord):
        values = {f"{key}/{split}": value for split, metrics in (("train", content.train), ("val", content.val))
                  for key, value in metrics.items()}
        return {**values, "epoch/lr": content.lr, "epoch/seconds": content.seconds}
    return dict(content)


@dataclass(frozen=True, slots=True)
class Histogram:
    """A histogram counted in the loop, held until the hand-over (held scalars are reports, records or mappings)."""

    numbers: dict[str, Any]


def event(content: Any, step: int, wall: float) -> list[Any]:
    """A held event as the writer process reads it: a histogram's numbers, or scalars of one moment."""
    if isinstance(content, Histogram):
        return ["histogram", step, wall, content.numbers]
    return ["scalars", step, wall, held_scalars(content)]


Hook = TypeVar("Hook", bound=Callable[..., None])


def _never_fails(hook: Hook) -> Hook:
    """Logging must never end a run: a hook that raises (a full disk, a broken package) turns the logs off
    for the rest of the run and says so in the run's log."""

    @functools.wraps(hook)
    def guarded(self: TensorBoardLogger, trainer: Trainer, *args: Any) -> None:
        try:
            hook(self, trainer, *args)
        except Exception as exc:
            self.stop(trainer, f"TensorBoard logs stopped for this run: {type(exc).__name__}: {exc}")

    return guarded  # type: ignore[return-value]


class TensorBoardLogger(Callback):
    """Writes a run's scalars, histograms and settings as TensorBoard events (rank 0 only), through a writer
    process (`engine.train.tensorboard_writer`)."""

    def __init__(self, log_dir: Path, settings: Mapping[str, Any], metrics: list[str],
                 histograms: bool = True) -> None:
        self.log_dir = Path(log_dir)
        self.settings = dict(settings)
        self.metrics = ["loss", *metrics]
        self.histograms = histograms
        self.writer: WriterProcess | None = None
        self.writer_report: dict[str, Any] = {}  # the writer's own account at the run's end (events, cpu_seconds)
        self.spent_on_histograms = 0.0
        self.spent_in_loop = 0.0  # seconds inside the hooks the training loop waits for (the bench reports it)
        self.cpu_in_loop = 0.0  # the same hooks' CPU seconds (what they cost, however busy the machine)
        self.histograms_written = 0
        self.histograms_skipped = 0
        self._histogram_cost = 0.0  # what the last histograms took (before any: an estimate made at the start)
        self._histogram_step = -1
        self._trained = 0.0  # seconds of the epochs so far (their own time: never waiting between them)
        # (what to write: a report, an epoch's record, scalars by tag or a histogram; step; wall time)
        self._pending: list[tuple[Any, int, float]] = []
        self._next_handover = 0.0

    @_never_fails
    def on_run_start(self, trainer: Trainer) -> None:
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.writer = WriterProcess(self.log_dir, FLUSH_SECONDS)
        except OSError as exc:
            trainer.log(f"TensorBoard logs are off for this run: cannot write to {self.log_dir} ({exc})", "warning")
            return
        metric_tags = [f"{m}/{split}" for m in self.metrics for split in ("train", "val")]
        self.writer.send({"hparams": hparam_values(self.settings), "metrics": metric_tags, "start": time.time()})
        if self.histograms:
            self._histogram_cost = self._estimate_histograms(trainer)
        self.writer.wait_ready()
        trainer.log(f"TensorBoard: writing to {self.log_dir} (tensorboard --logdir {self.log_dir.parent.parent})")

    def _estimate_histograms(self, trainer: Trainer) -> float:
        """What one epoch's histograms will take, from one of the largest weight (its first calls paid here,
        before training, not in the loop), for every weight and gradient."""
        import torch

        histogram_numbers("warm-up", torch.arange(4.0))
        parameters = list(trainer.module.parameters())
        if not parameters:
            return 0.0
        largest = max(parameters, key=lambda p: p.numel())
        start = time.perf_counter()
        histogram_numbers("estimate", largest)
        return (time.perf_counter() - start) * 2 * len(parameters)

    def writer_cpu(self) -> float:
        """CPU seconds the writer process has used so far (0.0 when there is none, or where the platform cannot
        say): with `cpu_in_loop`, all the work the logs add to a run, which the bench accounts for."""
        if self.writer_report:
            return float(self.writer_report.get("cpu_seconds", 0.0))
        return self.writer.cpu_seconds() if self.writer is not None else 0.0

    def stop(self, trainer: Trainer, message: str) -> None:
        """Turn the logs off (after a failure), keeping what was written."""
        writer, self.writer = self.writer, None
        self._pending.clear()
        if writer is not None:
            reason = writer.abandon()
            if reason and reason not in message:
                message = f"{message} ({reason})"
        trainer.log(message, "warning")

    def write_scalars(self, values: Mapping[str, float], step: int) -> None:
        """Several scalars of one moment, held as numbers; they become one event at the hand-over."""
        self._hold(values, step)

    def _hold(self, content: Any, step: int) -> None:
        """Hold an event; they go to the writer process together every `HANDOVER_SECONDS`: the loop does no more
        than append numbers (a protobuf built between two training steps, with the loop's working set in the
        caches, costs about five times one built among a batch of others)."""
        now = time.time()
        self._pending.append((content, step, now))
        if now >= self._next_handover:
            self._hand_over()

    def _hand_over(self) -> None:
        assert self.writer is not None
        events = [event(content, step, wall) for content, step, wall in self._pending]
        self._pending.clear()
        self.writer.send({"events": events})
        self._next_handover = time.time() + HANDOVER_SECONDS

    @_never_fails
    def on_progress(self, trainer: Trainer, progress: Progress) -> None:
        if self.writer is None:
            return
        start, cpu = time.perf_counter(), time.thread_time()
        self._hold(progress, progress.step)
        self.spent_in_loop += time.perf_counter() - start
        self.cpu_in_loop += time.thread_time() - cpu

    @_never_fails
    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        if self.writer is None:
            return
        start, cpu = time.perf_counter(), time.thread_time()
        self._hold(record, record.epoch + 1)
        self._trained += record.seconds
        if self.histograms:
            self._histograms(trainer, record.epoch + 1)
        self.spent_in_loop += time.perf_counter() - start
        self.cpu_in_loop += time.thread_time() - cpu

    def _histograms(self, trainer: Trainer, step: int, final: bool = False) -> None:
        """Every weight and gradient, when (by the last one's cost) they keep within their share of the epochs'
        time; `final` (the run's end, off the training loop) always writes them, once per step."""
        if step == self._histogram_step:
            return
        if not final and self.spent_on_histograms + self._histogram_cost > HISTOGRAM_BUDGET * self._trained:
            self.histograms_skipped += 1
            return
        start = time.perf_counter()
        for name, parameter in trainer.module.named_parameters():
            self._hold_histogram(f"weights/{name}", parameter, step)
            if parameter.grad is not None:
                self._hold_histogram(f"gradients/{name}", parameter.grad, step)
        self._histogram_step = step
        self.histograms_written += 1
        self._histogram_cost = time.perf_counter() - start
        self.spent_on_histograms += self._histogram_cost

    def _hold_histogram(self, tag: str, values: Any, step: int) -> None:
        numbers = histogram_numbers(tag, values)
        if numbers is not None:
            self._hold(Histogram(numbers), step)

    @_never_fails
    def on_test_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if self.writer is None:
            return
        self.write_scalars({f"{key}/test": value for key, value in metrics.items()}, trainer.epoch + 1)

    @_never_fails
    def on_run_end(self, trainer: Trainer, status: str) -> None:
        if self.writer is None:
            return
        if self.histograms and trainer.step:  # the final weights, off the loop, if the last epoch had none
            self._histograms(trainer, trainer.epoch + 1, final=True)
        self._hand_over()
        writer, self.writer = self.writer, None
        try:
            self.writer_report = writer.close()  # waits until the events file is complete
        except WriterFailed as exc:
            trainer.log(f"TensorBoard logs may be incomplete: {exc}", "warning")


def tensorboard_callbacks(settings: TrainingSettings, base_dir: Path | None, project_name: str,
                          run_id: str) -> list[Callback]:
    """The run's TensorBoard logger, when the settings ask for one (else none)."""
    if not settings.tensorboard.enabled or not tensorboard_installed():
        return []
    folder = run_log_dir(log_root(settings, base_dir), project_name, run_id)
    return [TensorBoardLogger(folder, settings.to_json(), list(settings.metrics), settings.tensorboard.histograms)]
