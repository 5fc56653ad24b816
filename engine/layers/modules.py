"""Torch modules for layers that `torch.nn` has no single module for.

Each is small, exportable to ONNX and torch.export, and prints a readable repr.
Each records the arguments it was constructed with (`RecordsInit`), so that the
code exporter can write the constructor call back out. This module imports
torch; nothing in the catalog imports it at module level.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn


class RecordsInit:
    """Mixin: after `__init__`, `self.init_kwargs` holds every constructor argument by name."""

    init_kwargs: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        original = cls.__dict__.get("__init__")
        if original is None:
            return
        signature = inspect.signature(original)

        @functools.wraps(original)
        def __init__(self: Any, *args: Any, **kw: Any) -> None:
            original(self, *args, **kw)
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            self.__dict__["init_kwargs"] = {k: v for k, v in bound.arguments.items() if k != "self"}

        cls.__init__ = __init__  # type: ignore[method-assign]

    def __init__(self) -> None:  # classes without arguments record an empty dict
        super().__init__()
        self.__dict__.setdefault("init_kwargs", {})


class Add(RecordsInit, nn.Module):
    """Element-wise sum of all inputs (a residual join)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(RecordsInit, nn.Module):
    """Element-wise product of all inputs (a gate)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(RecordsInit, nn.Module):
    """Concatenation of all inputs along `dim` (batch counted as 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Reshape(RecordsInit, nn.Module):
    """Reshape each sample to `shape`, keeping the batch dimension."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(RecordsInit, nn.Module):
    """Reorder the per-sample dimensions; `dims` counts from 1 (the batch stays first)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class GlobalAvgPool(RecordsInit, nn.Module):
    """Average every channel over all its positions: (N, C, ...) becomes (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(-1)


class Recurrent(RecordsInit, nn.Module):
    """An RNN, LSTM or GRU (batch first) that returns one tensor.

    With `return_sequences` the output at every step, (N, L, H·dirs); otherwise the
    final state of each direction, (N, H·dirs): the forward direction's last step
    joined with the backward direction's first-position output (where it ends).
    """

    def __init__(self, rnn: nn.RNNBase, return_sequences: bool) -> None:
        super().__init__()
        self.rnn = rnn
        self.return_sequences = return_sequences
        self.hidden_size = rnn.hidden_size
        self.bidirectional = rnn.bidirectional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rnn(x)[0]
        if self.return_sequences:
            return out
        if not self.bidirectional:
            return out[:, -1]
        h = self.hidden_size
        return torch.cat((out[:, -1, :h], out[:, 0, h:]), dim=-1)

    def extra_repr(self) -> str:
        return f"return_sequences={self.return_sequences}"


def sinusoid_table(max_len: int, dim: int) -> torch.Tensor:
    """The (max_len, dim) sinusoidal position table of "Attention is all you need" (odd dim allowed)."""
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    rate = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    table = torch.zeros(max_len, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return table.to(torch.float32)


class PositionalEncoding(RecordsInit, nn.Module):
    """Add fixed sinusoidal position codes to a (N, L, D) sequence, then dropout.

    The table is a non-persistent buffer: it is rebuilt from (max_len, dim), so it
    never bloats saved weights.
    """

    def __init__(self, dim: int, max_len: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dim = dim
        self.max_len = max_len
        self.register_buffer("pe", sinusoid_table(max_len, dim), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # narrow, unlike slicing, refuses a sequence longer than the table instead of broadcasting
        return self.dropout(x + self.pe.narrow(0, 0, x.size(1)))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, max_len={self.max_len}"


class SelfAttention(RecordsInit, nn.Module):
    """Multi-head self-attention over a (N, L, E) sequence; returns only the output, (N, L, E).

    With `causal`, position i attends only to positions up to i.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 causal: bool = False) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.causal:
            n = x.size(1)
            mask = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]

    def extra_repr(self) -> str:
        return f"causal={self.causal}"


class SequencePool(RecordsInit, nn.Module):
    """Reduce a (N, L, D) sequence to (N, D): the mean, max, last or first step."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in ("mean", "max", "last", "first"):
            raise ValueError(f"unknown SequencePool mode {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "mean":
            return x.mean(1)
        if self.mode == "max":
            return x.amax(1)
        if self.mode == "last":
            return x[:, -1]
        return x[:, 0]

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
