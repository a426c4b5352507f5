"""Activations as ONNX ops: one table, the ONNX column of namx.activations.ACTIVATIONS."""
from __future__ import annotations

import numpy as np

from namx.activations import Activation

from .builder import Builder


def _fasttanh(b: Builder, x):
    ax = b.op("Abs", x)
    x2 = b.op("Mul", x, x)
    c0, c1, c2, c3, c4 = (b.f32(v) for v in (2.45550750702956, 0.893229853513558, 0.821226666969744,
                                              2.44506634652299, 0.814642734961073))
    num = b.op("Mul", x, b.op("Add", b.op("Add", c0, b.op("Mul", c0, ax)),
                              b.op("Mul", b.op("Add", c1, b.op("Mul", c2, ax)), x2)))
    den = b.op("Add", c3, b.op("Mul", b.op("Add", c3, x2),
                               b.op("Abs", b.op("Add", x, b.op("Mul", b.op("Mul", c4, x), ax)))))
    return b.op("Div", num, den)


def _leaky_hardtanh(b: Builder, a: Activation, x):
    lo, hi = b.f32(a.param("min_val")), b.f32(a.param("max_val"))
    below = b.op("Mul", b.f32(a.param("min_slope")), b.op("Min", b.op("Sub", x, lo), b.f32(0.0)))
    above = b.op("Mul", b.f32(a.param("max_slope")), b.op("Max", b.op("Sub", x, hi), b.f32(0.0)))
    return b.op("Add", b.op("Add", b.op("Clip", x, lo, hi), below), above)


def apply(b: Builder, params, a: Activation, x, name: str):
    """a(x) for x of shape [1, rows, T]; per-channel PReLU slopes come through `params` (slicing)."""
    n = a.name
    if n == "Tanh":
        return b.op("Tanh", x)
    if n == "Fasttanh":
        return _fasttanh(b, x)
    if n == "Hardtanh":
        return b.op("Clip", x, b.f32(-1.0), b.f32(1.0))
    if n == "ReLU":
        return b.op("Relu", x)
    if n == "LeakyReLU" or (n == "PReLU" and not a.slopes):
        return b.op("LeakyRelu", x, alpha=a.param("negative_slope"))
    if n == "PReLU":
        slopes = params.tensor(f"{name}.slopes", np.asarray(a.slopes, np.float32).reshape(-1, 1))
        return b.op("PRelu", x, slopes)
    if n == "Sigmoid":
        return b.op("Sigmoid", x)
    if n == "SiLU":
        return b.op("Mul", x, b.op("Sigmoid", x))
    if n == "Hardswish":
        return b.op("HardSwish", x)
    if n == "LeakyHardtanh":
        return _leaky_hardtanh(b, a, x)
    if n == "Softsign":
        return b.op("Softsign", x)
    raise AssertionError(f"no ONNX form for activation {n}")

