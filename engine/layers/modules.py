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

from engine.layers.catalog.arithmetic import SCALAR_OPS


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
        # One mean over the positions (not flatten, then mean): exported as one op (ONNX ReduceMean over
        # them), which the importers read back as a GlobalAvgPool.
        return x.mean(dim=tuple(range(2, x.dim())))


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


class MultiheadSelfAttention(RecordsInit, nn.MultiheadAttention):
    """`nn.MultiheadAttention` as self-attention over a (N, L, E) sequence, returning only the output.

    A subclass rather than a wrapper, so its state-dict keys are torch's own
    (``in_proj_weight``, ``out_proj.weight``), as in torchvision's ViT.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        nn.MultiheadAttention.__init__(self, embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return nn.MultiheadAttention.forward(self, x, x, x, need_weights=False)[0]


class LayerNorm2d(RecordsInit, nn.LayerNorm):
    """LayerNorm over the channels of a (N, C, H, W) map at each position (ConvNeXt's)."""

    def __init__(self, channels: int, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
        nn.LayerNorm.__init__(self, channels, eps=eps, elementwise_affine=elementwise_affine, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.LayerNorm.forward(self, x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class StochasticDepth(RecordsInit, nn.Module):
    """While training, drop whole samples ("row") or the whole batch with probability p; else identity.

    The same arithmetic as torchvision.ops.StochasticDepth: survivors are scaled by 1/(1-p).
    """

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if mode not in ("row", "batch"):
            raise ValueError(f"unknown StochasticDepth mode {mode!r}")
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise = noise / survival
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


class Transpose(RecordsInit, nn.Module):
    """Swap two dimensions (batch counted as 0)."""

    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dim0 = dim0
        self.dim1 = dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class Slice(RecordsInit, nn.Module):
    """``x[..., start:end:step, ...]`` along `dim` (batch counted as 0)."""

    def __init__(self, dim: int, start: int, end: int | None, step: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.start = start
        self.end = end
        self.step = step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * (self.dim % x.dim()) + [slice(self.start, self.end, self.step)]
        return x[tuple(index)]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, end={self.end}, step={self.step}"


class Select(RecordsInit, nn.Module):
    """``x.select(dim, index)``: one position along `dim`, which disappears (ViT's class token)."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim = dim
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class Reduce(RecordsInit, nn.Module):
    """Mean, sum, max or min over `dims` (batch counted as 0)."""

    def __init__(self, op: str, dims: tuple[int, ...], keepdim: bool = False) -> None:
        super().__init__()
        if op not in ("mean", "sum", "amax", "amin"):
            raise ValueError(f"unknown reduction {op!r}")
        self.op = op
        self.dims = tuple(dims)
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.op)(x, dim=self.dims, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"op={self.op!r}, dims={self.dims}, keepdim={self.keepdim}"


class ScalarOp(RecordsInit, nn.Module):
    """One arithmetic operation between every element and a constant number."""

    def __init__(self, op: str, value: float) -> None:
        super().__init__()
        if op not in SCALAR_OPS:
            raise ValueError(f"unknown scalar operation {op!r}")
        self.op = op
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        op, v = self.op, self.value
        if op == "add":
            return x + v
        if op == "subtract":
            return x - v
        if op == "multiply":
            return x * v
        if op == "divide":
            return x / v
        if op == "power":
            return x ** v
        if op == "reverse_subtract":
            return v - x
        return v / x

    def extra_repr(self) -> str:
        return f"op={self.op!r}, value={self.value}"


class Subtract(RecordsInit, nn.Module):
    """The first input minus the others (broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out - x
        return out


class Divide(RecordsInit, nn.Module):
    """The first input divided by the others (broadcasting)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out / x
        return out


class LearnedTensor(RecordsInit, nn.Module):
    """A learned tensor (class token, positional embedding, layer scale), repeated over the batch.

    The input only gives the batch size. The tensor is stored as `shape`, or as
    (1, *shape) with `leading_one`, exactly as PyTorch code keeps such a
    parameter on its owner module. Its state-dict key is therefore the layer's
    own name (``encoder.pos_embedding``), not ``pos_embedding.weight``, so the
    weights of imported models load under their source names.
    """

    def __init__(self, shape: tuple[int, ...], leading_one: bool = True, init: str = "normal") -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.leading_one = leading_one
        stored = (1, *self.shape) if leading_one else self.shape
        self.weight = nn.Parameter(torch.zeros(stored))
        if init == "normal":
            nn.init.normal_(self.weight, std=0.02)
        elif init == "ones":
            nn.init.ones_(self.weight)
        elif init != "zeros":
            raise ValueError(f"unknown LearnedTensor init {init!r}")

    def forward(self, like: torch.Tensor) -> torch.Tensor:
        value = self.weight if self.leading_one else self.weight.unsqueeze(0)
        return value.expand(like.shape[0], *self.shape)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        destination[prefix[:-1] or "weight"] = self.weight if keep_vars else self.weight.detach()

    def extra_repr(self) -> str:
        return f"shape={self.shape}, leading_one={self.leading_one}"



class Sampling(RecordsInit, nn.Module):
    """The VAE's reparameterisation trick: mu + exp(logvar / 2) · eps while training, mu when evaluating.

    With `keep_kl` on (the VAE recipe turns it on; built and exported networks leave it off, so
    they stay pure functions) every call also keeps the batch's mean KL divergence of
    N(mu, exp(logvar)) from N(0, 1), summed over the latent dimensions, in `kl`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.keep_kl = False
        self.kl: torch.Tensor | None = None

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if self.keep_kl:
            terms = 1 + logvar - mu.square() - logvar.exp()
            self.kl = -0.5 * terms.flatten(1).sum(1).mean()
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

def keep_learned_tensor_names(owner: nn.Module) -> None:
    """Let `owner` load its LearnedTensor children's weights under their own names.

    A child's `load_state_dict` only sees keys under ``name.``; this hook on the
    owner renames ``name`` to ``name.weight`` before the children read theirs.
    """
    names = [name for name, child in owner.named_children() if isinstance(child, LearnedTensor)]
    if not names:
        return

    def rename(state_dict: Any, prefix: str, *args: Any) -> None:
        for name in names:
            key = prefix + name
            if key in state_dict:
                state_dict[f"{key}.weight"] = state_dict.pop(key)

    owner._register_load_state_dict_pre_hook(rename)
