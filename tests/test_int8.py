"""The int8 backend's Linear layer (infer/int8.py)."""

import warnings

import pytest
import torch
from torch import nn

from infer import int8
from infer.int8 import Int8Linear, quantize_linears


def test_exact_when_inputs_and_weights_sit_on_the_int8_grids():
    # Weights whose rows reach +-127 have scale 1; rows of x spanning exactly 255 from their
    # minimum have step 1. Then quantizing loses nothing, and any slip in the zero-point
    # algebra (the row sums of the weights, the 128 offset) shows as an exact mismatch.
    g = torch.Generator().manual_seed(0)
    weight = torch.randint(-127, 128, (8, 16), generator=g).float()
    weight[:, 0] = 127
    low = torch.tensor([[-3.0], [0.0], [10.0], [-128.0], [-1.0]])
    x = low + torch.randint(0, 256, (5, 16), generator=g).float()
    x[:, 0], x[:, 1] = low[:, 0], low[:, 0] + 255
    bias = torch.arange(8).float()
    layer = Int8Linear(weight, bias)
    assert torch.equal(layer(x), x @ weight.T + bias)


def test_close_to_the_float_layer_on_random_input():
    torch.manual_seed(0)
    linear = nn.Linear(64, 48)
    x = torch.randn(3, 7, 64)
    out, ref = Int8Linear.from_linear(linear)(x), linear(x)
    assert out.shape == ref.shape == (3, 7, 48)
    assert (out - ref).abs().max() < 0.02 * ref.abs().max()


def test_a_row_does_not_depend_on_its_batch():
    torch.manual_seed(1)
    layer = Int8Linear.from_linear(nn.Linear(32, 16))
    x = torch.randn(9, 32)
    x[4] *= 50  # a loud row must not coarsen the others' grid
    batch = layer(x)
    for i in range(len(x)):
        assert torch.equal(batch[i], layer(x[i : i + 1])[0])


def test_constant_rows_and_bf16_inputs():
    layer = Int8Linear.from_linear(nn.Linear(8, 4))
    zeros = layer(torch.zeros(2, 8))
    assert torch.equal(zeros, layer.bias.expand(2, 4))
    out = layer(torch.randn(3, 8).bfloat16())
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_quantize_linears_replaces_every_linear():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))
    quantize_linears(model)
    assert [type(m).__name__ for m in model.modules() if "Linear" in type(m).__name__] == [
        "Int8Linear", "Int8Linear"]


def test_a_failed_compile_falls_back_to_the_plain_function(monkeypatch):
    def broken(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(int8.torch, "compile", lambda fn, **kwargs: broken)
    fused = int8._Fused(lambda a: a + 1)
    with pytest.warns(RuntimeWarning, match="running unfused"):
        assert fused(1) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, not one per call
        assert fused(2) == 3
