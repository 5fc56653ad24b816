"""Does the network's Input node fit the dataset?

`check_input_shape` compares what the dataset gives (from its summary) with an
Input node's shape and dtype and returns None when they fit, else one sentence
that says what differs and how to fix it. It accepts the dtype words of the
Input node ("float", "token_ids") as well as tensor dtype names.
"""

from __future__ import annotations

from engine.data.config import DatasetSummary, shape_text

_DTYPES = {"float": "float32", "float32": "float32", "token_ids": "int64", "int64": "int64", "long": "int64"}


def _input_words(shape: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in shape)


def check_input_shape(summary: DatasetSummary, input_shape: tuple[int, ...], input_dtype: str,
                      node_name: str = "input") -> str | None:
    """None if an Input node of this shape and dtype fits the dataset, else a message for the user."""
    shape = tuple(int(s) for s in input_shape)
    node = f"the Input node '{node_name}'"
    if shape != summary.input_shape:
        message = (f"the dataset gives samples of {shape_text(summary.input_shape)} but {node} expects "
                   f"{shape_text(shape)}; set its shape to {_input_words(summary.input_shape)}")
        if _numel(shape) == _numel(summary.input_shape):
            message += " (the number of values matches, so a Reshape after the Input would also do)"
        return message
    wanted = _DTYPES.get(input_dtype)
    if wanted is None:
        return f"{node} has an unknown dtype {input_dtype!r}; use float or token_ids"
    if wanted != summary.input_dtype:
        if summary.input_dtype == "int64":
            return (f"the dataset gives token ids (int64) but {node} expects float values; set its dtype to "
                    "token_ids and follow it with an Embedding")
        return (f"the dataset gives float values but {node} expects token ids; set its dtype to float")
    return None


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for s in shape:
        total *= s
    return total
