"""int8 Linear layers for CPU inference: per-token activations, per-channel weights.

The `int8` backend swaps every `nn.Linear` of the encoder for an `Int8Linear`. Weights are
quantized once, symmetrically per output channel. Activations are quantized on every call,
per token, between the row's own minimum and maximum: one loud token never coarsens the grid
of the others (so a row's result does not depend on its batch), and GELU outputs, almost all
>= 0, use all 256 levels. The product runs in `torch._int_mm` (int8 x int8 -> int32, VNNI on
x86); quantizing the input and rescaling the output are elementwise functions fused by
`torch.compile`, because unfused they cost as much as the int8 matmul saves.

Why not torch.ao's `quantize_dynamic` (one range per batch tensor: far more labels changed) or
torchao's `Int8DynamicActivationInt8WeightConfig` (slower than bf16 on the CPU it was tried
on): README, Speed, has the measurements.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn

LEVELS = 255  # int8 steps between a row's minimum (-128) and maximum (127)


def _quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """int8 codes q of a 2-D input, with x ~= low + step * (q + 128), row by row."""
    x = x.float()
    low = x.amin(-1, keepdim=True)
    step = (x.amax(-1, keepdim=True) - low).clamp(min=1e-8) / LEVELS
    return (torch.round((x - low) / step) - 128).to(torch.int8), step, low


def _rescale(acc: torch.Tensor, step: torch.Tensor, low: torch.Tensor, weight_scale: torch.Tensor,
             weight_sums: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # x @ W.T with x = low + step * (q + 128) and W = weight_scale * Wq, expanded:
    # weight_scale * (step * (q @ Wq.T) + (low + 128 * step) * (row sums of Wq)) + bias.
    out = (acc.float() * step + (low + 128 * step) * weight_sums) * weight_scale + bias
    return out.to(dtype)


class _Fused:
    """`fn` compiled by torch.compile on first use; if compiling fails (no C++ compiler, say),
    `fn` itself, with one warning: the same results, only slower."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.run: Callable | None = None  # compiled lazily: importing infer stays fast

    def __call__(self, *args):
        if self.run is None:
            self.run = torch.compile(self.fn, dynamic=True)
        try:
            return self.run(*args)
        except Exception as error:  # noqa: BLE001 - any compile failure has the same remedy
            if self.run is self.fn:
                raise
            warnings.warn(f"int8 backend: torch.compile failed ({type(error).__name__}: "
                          f"{error}); running unfused, slower", RuntimeWarning, stacklevel=2)
            self.run = self.fn
            return self.fn(*args)


quantize_rows = _Fused(_quantize_rows)
rescale = _Fused(_rescale)


class Int8Linear(nn.Module):
    """A frozen `nn.Linear` computed in int8. Build it with `Int8Linear.from_linear(linear)`."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        weight = weight.detach().float()
        scale = weight.abs().amax(1).clamp(min=1e-8) / 127
        codes = torch.round(weight / scale[:, None]).to(torch.int8)
        self.register_buffer("weight", codes)  # (out, in), as nn.Linear's
        self.register_buffer("weight_scale", scale)
        self.register_buffer("weight_sums", codes.sum(1, dtype=torch.int32).float())
        self.register_buffer("bias", torch.zeros(len(codes)) if bias is None
                             else bias.detach().float())

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        return cls(linear.weight, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        codes, step, low = quantize_rows(rows)
        acc = torch._int_mm(codes, self.weight.t())
        out = rescale(acc, step, low, self.weight_scale, self.weight_sums, self.bias, x.dtype)
        return out.reshape(*x.shape[:-1], -1)


def quantize_linears(module: nn.Module) -> nn.Module:
    """Replace every `nn.Linear` inside `module` by an `Int8Linear`, in place."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear.from_linear(child))
    return module
