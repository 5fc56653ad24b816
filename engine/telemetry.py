"""Telemetry: the small typed messages a training run sends, and their wire format.

Each message is a dataclass that becomes a plain dict (`to_dict`) holding only numbers, strings,
None, lists, dicts with text keys and numpy arrays: never torch tensors, never pickled objects.
Every dict carries ``type``, ``run_id`` and ``time`` (seconds since the epoch); messages about
one node also carry ``node_id``.

Types: run_started, step (throttled to about 10 a second), epoch, feature_maps, weight_stats,
grad_stats, activation_stats, confusion_matrix, sample_predictions, reconstructions,
generated_samples, latent_points, explanation (recipes and explanations), status (paused, running,
stopping), lr_changed (a rate set by hand while training), lr_find_points and lr_find_suggestion (the
learning-rate finder), weights_carried (a forked run's report), log, error, finished. `from_dict`
turns a decoded dict back into its dataclass (the studio's run controller hands panels these, never
dicts). No torch, no Qt.

Wire format (`encode` / `decode`), one message per frame::

    b"LLT1" | uint32 header length | header (UTF-8 JSON) | raw array buffers

The JSON header holds the message with each array replaced by ``{"__array__": i}`` plus a table
of (dtype, shape, offset) for the buffers. `decode` accepts only a fixed list of numeric dtypes
and rebuilds plain dicts, lists and ndarrays; nothing in a frame can name code to run.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

MAGIC = b"LLT1"
_HEADER = struct.Struct("<4sI")
_DTYPES = frozenset({"|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f2", "<f4", "<f8"})
HEAVY_TYPES = frozenset({"feature_maps", "weight_stats", "grad_stats", "activation_stats",
                         "sample_predictions", "reconstructions", "generated_samples", "latent_points",
                         "explanation"})


class TelemetryError(ValueError):
    """A frame could not be encoded or decoded."""


@dataclass
class Message:
    """Base of all messages: what run it belongs to and when it was made."""

    run_id: str
    time: float = field(default_factory=time.time, kw_only=True)
    TYPE = "message"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE}
        for f in fields(self):
            out[f.name] = getattr(self, f.name)
        return out


@dataclass
class RunStarted(Message):
    settings: dict[str, Any]
    device: str
    parameter_count: int
    dataset: dict[str, Any]
    epochs: int
    steps_per_epoch: int
    probes: list[str]
    network: dict[str, Any] = field(default_factory=dict)
    TYPE = "run_started"


@dataclass
class Step(Message):
    step: int
    epoch: int
    loss: float
    lr: float
    samples_per_s: float
    epoch_fraction: float
    # Named loss terms of a recipe (reconstruction, kl, generator, discriminator); empty for supervised.
    parts: dict[str, float] = field(default_factory=dict)
    TYPE = "step"


@dataclass
class Epoch(Message):
    epoch: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    seconds: float
    best: bool
    eta_s: float
    TYPE = "epoch"


@dataclass
class FeatureMaps(Message):
    node_id: str
    step: int
    maps: np.ndarray  # float16 (channels ≤ 32, height ≤ 64, width ≤ 64) for the first probe sample
    shape: list[int]  # the node's full output shape per sample
    TYPE = "feature_maps"


@dataclass
class ParamStats(Message):
    node_id: str
    step: int
    params: dict[str, dict[str, Any]]  # name -> {norm, mean, std, min, max, hist (float32), edges (lo, hi)}
    TYPE = "weight_stats"


@dataclass
class GradStats(ParamStats):
    TYPE = "grad_stats"


@dataclass
class ActivationStats(Message):
    node_id: str
    step: int
    mean: float
    std: float
    dead_fraction: float | None  # ReLU outputs: units that are zero for every probe sample
    TYPE = "activation_stats"


@dataclass
class ConfusionMatrix(Message):
    split: str
    epoch: int
    matrix: np.ndarray  # int64 (true class, predicted class)
    class_names: list[str]
    TYPE = "confusion_matrix"


@dataclass
class SamplePredictions(Message):
    epoch: int
    inputs: np.ndarray  # uint8 thumbnails (N, H, W, C) for images, else float32 (N, features)
    true: list[Any]
    predicted: list[Any]
    class_names: list[str]
    TYPE = "sample_predictions"


@dataclass
class Reconstructions(Message):
    """Autoencoder recipes: validation inputs beside what the network made of them."""

    epoch: int
    inputs: np.ndarray  # uint8 thumbnails (N, H, W, C): the clean inputs
    outputs: np.ndarray  # uint8 thumbnails (N, H, W, C): the reconstructions
    noisy: np.ndarray | None = None  # uint8 (N, H, W, C): what a denoising autoencoder was given
    TYPE = "reconstructions"


@dataclass
class GeneratedSamples(Message):
    """GAN and VAE recipes: samples decoded from one fixed noise batch, so epochs compare."""

    epoch: int
    images: np.ndarray  # uint8 thumbnails (N, H, W, C)
    TYPE = "generated_samples"


@dataclass
class LatentPoints(Message):
    """A 2-D view of a latent space or of a node's activations (PCA), coloured by class."""

    epoch: int
    points: np.ndarray  # float32 (N, 2)
    labels: np.ndarray  # int64 (N,), -1 where there is no class
    class_names: list[str]
    node_id: str | None = None  # the node whose activations were projected; None: the VAE's latent mean
    method: str = "latent"  # latent (first two latent dimensions) or pca
    TYPE = "latent_points"


@dataclass
class Explanation(Message):
    """An attribution map of one sample for one node (Grad-CAM refreshed each epoch while training)."""

    epoch: int
    sample_index: int
    method: str  # saliency, grad_cam, integrated_gradients
    node_id: str | None
    input: np.ndarray  # uint8 thumbnail (H, W, C)
    heatmap: np.ndarray  # float32 (H, W), scaled to [0, 1]
    target: int  # the class explained
    split: str = "val"  # the split sample_index counts in (train, val, test)
    probability: float | None = None  # the network's softmax probability of `target`
    true: int | None = None  # the sample's own class, where it has one
    TYPE = "explanation"


@dataclass
class LRChanged(Message):
    """The learning rate was set by hand while training; it holds from the step after `step` on."""

    step: int  # completed steps when the change took effect
    epoch: int
    epoch_fraction: float
    lr: float  # what was asked for
    previous: float
    applied: list[float]  # the optimiser's parameter groups' rates, read back after the change
    TYPE = "lr_changed"


@dataclass
class LRFindPoints(Message):
    """New points of a learning-rate sweep: rates, raw batch losses and the smoothed loss."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    TYPE = "lr_find_points"


@dataclass
class LRFindSuggestion(Message):
    """The end of a learning-rate sweep: the suggested rate and how it was chosen."""

    suggestion: float | None
    method: str  # valley, minimum/10, none
    valley: list[int] | None  # first and last point index of the valley
    stop_reason: str  # completed, diverged, stopped
    points: int
    TYPE = "lr_find_suggestion"


@dataclass
class WeightsCarried(Message):
    """A forked run started from another run's weights: what was carried and what was not."""

    parent: str  # the run the weights came from
    epoch: str  # "3" (1-based), "best" or "last"
    carried: list[str]  # state keys copied unchanged
    new: list[str]  # keys of the edited network the parent did not have
    reshaped: list[dict[str, Any]]  # {key, parent_shape, shape}
    dropped: list[str]  # keys of the parent the edited network no longer has
    TYPE = "weights_carried"


@dataclass
class Status(Message):
    state: str  # running, paused, stopping
    TYPE = "status"


@dataclass
class Log(Message):
    text: str
    level: str = "info"
    TYPE = "log"


@dataclass
class Error(Message):
    message: str
    node_id: str | None = None
    traceback: str = ""
    kind: str = "error"  # non_finite, out_of_memory, shape, settings, data, worker_died, error
    problems: list[dict[str, Any]] = field(default_factory=list)  # pre-flight: {message, node_id, section}
    TYPE = "error"


@dataclass
class Finished(Message):
    status: str  # completed, stopped, failed
    epochs: int
    best: dict[str, float]
    last: dict[str, float]
    test: dict[str, float]
    weights: dict[str, str]  # "best"/"last" -> path of a safetensors file
    record_dir: str | None = None
    TYPE = "finished"


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (RunStarted, Step, Epoch, FeatureMaps, ParamStats, GradStats, ActivationStats,
                              ConfusionMatrix, SamplePredictions, Reconstructions, GeneratedSamples,
                              LatentPoints, Explanation, LRChanged, LRFindPoints, LRFindSuggestion,
                              WeightsCarried, Status, Log, Error, Finished)
}


def from_dict(data: dict[str, Any]) -> Message:
    """The typed message a decoded dict holds (keys it does not know are ignored, for newer workers);
    raises TelemetryError for an unknown type or a missing field."""
    cls = MESSAGE_TYPES.get(str(data.get("type")))
    if cls is None:
        raise TelemetryError(f"unknown message type {data.get('type')!r}")
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise TelemetryError(f"malformed {cls.TYPE} message: {exc}") from None


# ---- wire format -------------------------------------------------------------------
def encode(message: dict[str, Any] | Message) -> bytes:
    """One frame for `message`; raises TelemetryError for anything but plain data and arrays."""
    data = message.to_dict() if isinstance(message, Message) else message
    arrays: list[np.ndarray] = []
    body = _strip(data, arrays, "message")
    table, offset = [], 0
    for arr in arrays:
        table.append([arr.dtype.str, list(arr.shape), offset])
        offset += arr.nbytes
    header = json.dumps({"m": body, "a": table}, separators=(",", ":")).encode("utf-8")
    return b"".join([_HEADER.pack(MAGIC, len(header)), header, *(a.tobytes() for a in arrays)])


def _strip(value: Any, arrays: list[np.ndarray], where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        arr = arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.byteorder == ">" else arr
        if arr.dtype.str not in _DTYPES:
            raise TelemetryError(f"{where}: arrays of {arr.dtype} cannot be sent")
        arrays.append(arr)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if "__array__" in value or not all(isinstance(k, str) for k in value):
            raise TelemetryError(f"{where}: dict keys must be text (and not '__array__')")
        return {k: _strip(v, arrays, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strip(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TelemetryError(f"{where}: a {type(value).__name__} cannot be sent; convert it to numbers or numpy")


def decode(frame: bytes) -> dict[str, Any]:
    """The message dict in `frame`; raises TelemetryError for anything malformed."""
    if len(frame) < _HEADER.size:
        raise TelemetryError("frame too short")
    magic, size = _HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise TelemetryError("not a telemetry frame")
    start = _HEADER.size
    try:
        header = json.loads(frame[start:start + size].decode("utf-8"))
        table = header["a"]
        body = header["m"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise TelemetryError("malformed telemetry header") from None
    buffers = memoryview(frame)[start + size:]
    arrays = [_array(entry, buffers) for entry in table]
    message = _restore(body, arrays)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise TelemetryError("a telemetry frame must hold a message object with a type")
    return message


def _array(entry: Any, buffers: memoryview) -> np.ndarray:
    try:
        dtype_str, shape, offset = entry
        dtype = np.dtype(dtype_str) if dtype_str in _DTYPES else None
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TelemetryError("malformed array entry") from None
    if dtype is None or any(s < 0 for s in shape) or not isinstance(offset, int) or offset < 0:
        raise TelemetryError(f"array entry {entry!r} is not allowed")
    count = int(np.prod(shape, dtype=np.int64))
    end = offset + count * dtype.itemsize
    if end > len(buffers):
        raise TelemetryError("array data runs past the end of the frame")
    return np.frombuffer(buffers[offset:end], dtype=dtype).reshape(shape).copy()


def _restore(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            index = value["__array__"]
            if not isinstance(index, int) or not 0 <= index < len(arrays):
                raise TelemetryError("array reference out of range")
            return arrays[index]
        return {k: _restore(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, arrays) for v in value]
    return value
