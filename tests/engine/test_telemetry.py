"""Telemetry frames: round trip of plain data and arrays, refusal of anything else, and no pickle anywhere."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import torch

from engine import telemetry as t


def test_typed_messages_become_plain_dicts():
    maps = np.zeros((4, 8, 8), dtype=np.float16)
    message = t.FeatureMaps("run-1", "conv1", 12, maps, [4, 8, 8]).to_dict()
    assert message["type"] == "feature_maps" and message["run_id"] == "run-1"
    assert message["node_id"] == "conv1"
    assert isinstance(message["time"], float)
    error = t.Error("run-1", "boom", node_id="fc2", kind="non_finite").to_dict()
    assert error["type"] == "error" and error["node_id"] == "fc2"
    assert t.GradStats("r", "fc1", 1, {}).to_dict()["type"] == "grad_stats"


def test_round_trip_keeps_numbers_text_and_arrays():
    arrays = {str(d): (np.arange(24) % 7).astype(d).reshape(2, 3, 4) for d in
              (np.float16, np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_)}
    message = {"type": "x", "run_id": "r", "n": 3, "f": 0.5, "nan": float("nan"), "none": None, "flag": True,
               "text": "π ≈ 3.14", "nested": {"list": [1, 2.5, "a", np.int64(4), np.float32(0.25)]},
               "arrays": arrays, "empty": np.zeros((0, 3), np.float32)}
    frame = t.encode(message)
    back = t.decode(frame)
    assert back["n"] == 3 and back["f"] == 0.5 and np.isnan(back["nan"]) and back["none"] is None
    assert back["text"] == "π ≈ 3.14" and back["nested"]["list"] == [1, 2.5, "a", 4, 0.25]
    for key, arr in arrays.items():
        assert back["arrays"][key].dtype == arr.dtype and np.array_equal(back["arrays"][key], arr)
    assert back["empty"].shape == (0, 3)
    back["arrays"]["<class 'numpy.float16'>"][0, 0, 0] = 1  # decoded arrays are ordinary, writable arrays


def test_non_contiguous_and_big_endian_arrays_round_trip():
    arr = np.arange(20, dtype=np.float32).reshape(4, 5).T
    swapped = np.arange(6, dtype=">i4")
    back = t.decode(t.encode({"type": "x", "a": arr, "b": swapped}))
    assert np.array_equal(back["a"], arr) and np.array_equal(back["b"], swapped)


@pytest.mark.parametrize("value", [torch.zeros(2), object(), np.array([object()]), {1: "int key"},
                                   np.array(["text"]), {"__array__": 0}])
def test_anything_but_plain_data_is_refused(value):
    with pytest.raises(t.TelemetryError):
        t.encode({"type": "x", "value": value})


def test_no_pickle_is_used_to_encode_or_decode(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must not be used on the wire")

    monkeypatch.setattr(pickle, "dumps", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Pickler", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    frame = t.encode(t.FeatureMaps("r", "conv1", 1, np.ones((2, 4, 4), np.float16), [2, 4, 4]))
    assert frame.startswith(t.MAGIC) and b"\x80\x04" not in frame[:2]
    assert t.decode(frame)["maps"].shape == (2, 4, 4)


def test_a_pickled_payload_is_not_a_frame():
    with pytest.raises(t.TelemetryError):
        t.decode(pickle.dumps({"type": "x"}))


def frame_with_header(header: bytes, tail: bytes = b"") -> bytes:
    return struct.pack("<4sI", t.MAGIC, len(header)) + header + tail


@pytest.mark.parametrize("frame", [
    b"",
    b"LLT1",
    frame_with_header(b"{not json"),
    frame_with_header(b'{"m": {"type": "x", "a": {"__array__": 0}}, "a": [["<f4", [4], 0]]}', b"\0" * 8),
    frame_with_header(b'{"m": {"type": "x", "a": {"__array__": 0}}, "a": [["|O", [1], 0]]}', b"\0" * 8),
    frame_with_header(b'{"m": {"type": "x", "a": {"__array__": 3}}, "a": []}'),
    frame_with_header(b'{"m": [1, 2], "a": []}'),
    frame_with_header(b'{"m": {"type": "x"}, "a": [["<f4", [-1], 0]]}'),
])
def test_malformed_frames_raise_telemetry_error(frame):
    with pytest.raises(t.TelemetryError):
        t.decode(frame)


def test_a_fifty_kilobyte_feature_map_frame_is_compact():
    maps = np.random.default_rng(0).standard_normal((6, 64, 64)).astype(np.float16)  # 48 KiB
    frame = t.encode(t.FeatureMaps("r", "conv1", 10, maps, [6, 64, 64]))
    assert len(frame) < maps.nbytes + 400
