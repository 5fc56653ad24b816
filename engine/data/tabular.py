"""Datasets from your own files: a CSV table or an .npz archive of arrays.

CSV: a header row, then one sample per row. Feature columns must be numbers;
the target column (by name, default the last) may hold numbers or text. With
``task="auto"`` text targets or whole numbers with few distinct values become
classes (sorted, names kept in ``class_names``), anything else is regression.
Rows of the wrong length, non-numeric features and empty targets are a
`DatasetError` naming the line. Parsed with the csv module and numpy.

NPZ: arrays ``x`` (N, ...) and ``y`` (N,) or (N, k) (key names configurable).
Integer labels that are all non-negative are used as class indices as they are;
other labels are mapped through their sorted distinct values. uint8 inputs are
scaled to [0, 1]; ``input_dtype="int64"`` keeps integer inputs as token ids.

Standardisation (when asked) is done by the loader from training-split
statistics only, never here.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.errors import DatasetError
from engine.data.kind import FILES, DatasetKindInfo
from engine.data.labels import encode_classes, first_bad_number, looks_like_classes, parse_numbers
from engine.data.paths import existing_file
from engine.data.source import CLASSIFICATION, REGRESSION, SourceData
from engine.layers.spec import Param

if TYPE_CHECKING:  # tensors only when data loads: listing kinds must not import torch
    import torch

DELIMITERS = {"auto": "", ",": ",", ";": ";", "tab": "\t", "|": "|"}
TASKS = ("auto", "classification", "regression")


class _Table:
    """The header and data rows of a CSV file, with the line number of each row."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path = path
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.lines: list[int] = []
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as err:
            raise DatasetError(f"{path} is not UTF-8 text: {err}") from err
        except OSError as err:
            raise DatasetError(f"{path} could not be read: {err}") from err
        self._read(text, delimiter or self._sniff(text))

    @staticmethod
    def _sniff(text: str) -> str:
        try:
            return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            return ","

    def _read(self, text: str, delimiter: str) -> None:
        reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if not self.header:
                    self.header = [cell.strip() for cell in row]
                elif len(row) != len(self.header):
                    raise self.error(reader.line_num, f"{len(row)} values, but the header has "
                                     f"{len(self.header)} columns")
                else:
                    self.rows.append(row)
                    self.lines.append(reader.line_num)
        except csv.Error as err:
            raise self.error(reader.line_num, str(err)) from err
        if not self.header:
            raise DatasetError(f"{self.path} is empty")
        if not self.rows:
            raise DatasetError(f"{self.path} has a header but no data rows")

    def error(self, line: int, message: str) -> DatasetError:
        return DatasetError(f"{self.path.name}, line {line}: {message}")

    def column(self, name: str) -> int:
        if not name:
            return len(self.header) - 1
        if name not in self.header:
            raise DatasetError(f"{self.path.name} has no column {name!r}; its columns are "
                               f"{', '.join(map(repr, self.header))}")
        return self.header.index(name)

    def numbers(self, columns: list[int]) -> np.ndarray:
        """The given columns as float64 (rows, columns), or an error naming the first bad cell."""
        cells = [[row[c] for c in columns] for row in self.rows]
        values = parse_numbers(cells)
        if values is not None:
            return values
        for row, line in zip(cells, self.lines):
            bad = first_bad_number(row)
            if bad is not None:
                raise self.error(line, f"column {self.header[columns[bad]]!r} holds {row[bad].strip()!r}, "
                                 "which is not a number")
        raise AssertionError("parse_numbers failed but no cell is bad")


def _csv_target(table: _Table, column: int, task: str) -> tuple[np.ndarray, str, list[str]]:
    cells = [row[column].strip() for row in table.rows]
    for cell, line in zip(cells, table.lines):
        if not cell:
            raise table.error(line, f"the target column {table.header[column]!r} is empty")
    numbers = parse_numbers(cells)
    if task == REGRESSION or (task == "auto" and numbers is not None and not looks_like_classes(numbers)):
        values = table.numbers([column])  # raises, naming the line, when a target is not a number
        return values.astype(np.float32), REGRESSION, []
    y, names = encode_classes(numbers if numbers is not None else np.array(cells))
    return y, CLASSIFICATION, names


def load_csv(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    import torch
    path = existing_file(params["path"], base, "CSV")
    table = _Table(path, DELIMITERS[params["delimiter"]])
    target = table.column(params["target_column"])
    ignored = {name.strip() for name in params["ignore_columns"].split(",") if name.strip()}
    for name in ignored:
        table.column(name)
    features = [i for i, name in enumerate(table.header) if i != target and name not in ignored]
    if not features:
        raise DatasetError(f"{path.name} has no feature columns besides the target {table.header[target]!r}")
    x = table.numbers(features).astype(np.float32)
    y, task, names = _csv_target(table, target, params["task"])
    return SourceData(path.stem, torch.from_numpy(x), torch.from_numpy(y), task=task, class_names=names,
                      standardize=params["standardize"])


def _npz_arrays(path: Path, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path} is not a readable .npz file (numpy.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            for key in (x_key, y_key):
                if key not in keys:
                    raise DatasetError(f"{path.name} has no array {key!r}; it holds "
                                       f"{', '.join(map(repr, keys)) or 'no arrays'}")
            return archive[x_key], archive[y_key]
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{path} is not a readable .npz file: {err}") from err
    except ValueError as err:  # object arrays would need pickle, which is never allowed
        raise DatasetError(f"{path.name} could not be read safely: it holds Python objects rather than plain "
                           f"numbers or text ({err})") from err


def _npz_inputs(path: Path, x: np.ndarray, dtype: str) -> tuple[torch.Tensor, int | None]:
    import torch
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"'x' in {path.name} holds {x.dtype} values; it must hold numbers")
    if dtype == "int64":
        if (x.dtype.kind == "f" and not np.all(x == np.round(x))) or (x.size and x.min() < 0):
            raise DatasetError(f"'x' in {path.name} must hold non-negative whole numbers to be token ids")
        tokens = x.astype(np.int64)
        return torch.from_numpy(tokens), int(tokens.max()) + 1 if tokens.size else 1
    scaled = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(scaled)), None


def _npz_targets(path: Path, y: np.ndarray, task: str) -> tuple[torch.Tensor, str, list[str]]:
    import torch
    if y.dtype.kind not in "biufUS":
        raise DatasetError(f"'y' in {path.name} holds {y.dtype} values; it must hold numbers or text")
    if task == REGRESSION or (task == "auto" and y.dtype.kind == "f"):
        if y.dtype.kind not in "biuf":
            raise DatasetError(f"'y' in {path.name} holds text, which cannot be a regression target")
        values = y.astype(np.float32)
        return torch.from_numpy(values.reshape(len(y), -1)), REGRESSION, []
    if y.ndim != 1:
        raise DatasetError(f"'y' in {path.name} has shape {y.shape}; class labels need one value per sample")
    if y.dtype.kind in "biu" and (y.size == 0 or y.min() >= 0):
        labels = y.astype(np.int64)
        names = [str(i) for i in range(int(labels.max(initial=0)) + 1)]
        return torch.from_numpy(labels), CLASSIFICATION, names
    labels, names = encode_classes(y)
    return torch.from_numpy(labels), CLASSIFICATION, names


def load_npz(params: Mapping[str, Any], seed: int, base: Path | None) -> SourceData:
    path = existing_file(params["path"], base, ".npz")
    x_raw, y_raw = _npz_arrays(path, params["x_key"], params["y_key"])
    if x_raw.ndim == 0 or y_raw.ndim == 0:
        raise DatasetError(f"'x' and 'y' in {path.name} must be arrays with one entry per sample")
    if len(x_raw) != len(y_raw):
        raise DatasetError(f"'x' in {path.name} holds {len(x_raw)} samples but 'y' holds {len(y_raw)}; "
                           "they must match")
    x, vocab = _npz_inputs(path, x_raw, params["input_dtype"])
    y, task, names = _npz_targets(path, y_raw, params["task"])
    return SourceData(path.stem, x, y, task=task, class_names=names, vocab_size=vocab,
                      standardize=params["standardize"] and vocab is None)


def _task() -> Param:
    return Param("task", "choice", "auto", help="auto: text or few whole-number targets are classes, other "
                 "numbers are regression.", choices=TASKS)


KINDS = [
    DatasetKindInfo(
        "csv", "CSV table", FILES,
        "A CSV file with a header row: numeric feature columns and one target column.",
        (Param("path", "str", "", help="The CSV file."),
         Param("target_column", "str", "", help="Name of the target column (empty: the last column)."),
         Param("ignore_columns", "str", "", help="Comma-separated names of columns to leave out "
               "(ids, notes)."),
         _task(),
         Param("standardize", "bool", True, help="Scale each feature to mean 0 and standard deviation 1, "
               "using statistics of the training split only."),
         Param("delimiter", "choice", "auto", help="The character between values (auto: guess).",
               choices=tuple(DELIMITERS))),
        load_csv, {"path": "file"}),
    DatasetKindInfo(
        "npz", "NumPy arrays (.npz)", FILES,
        "An .npz archive (numpy.savez) with an input array and a target array of equal length.",
        (Param("path", "str", "", help="The .npz file."),
         Param("x_key", "str", "x", help="Name of the input array."),
         Param("y_key", "str", "y", help="Name of the target array."),
         _task(),
         Param("input_dtype", "choice", "float32", help="float32 for measurements or images (uint8 is scaled "
               "to [0, 1]); int64 for token ids.", choices=("float32", "int64")),
         Param("standardize", "bool", False, help="Scale each input value to mean 0 and standard deviation "
               "1, using statistics of the training split only.")),
        load_npz, {"path": "file"}),
]
