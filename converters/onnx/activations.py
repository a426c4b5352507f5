"""Activations as ONNX ops: ACTIVATIONS, the ONNX column of namx.activations.ACTIVATIONS (namx.backends)."""
from __future__ import annotations

import numpy as np

from namx.activations import FASTTANH, Activation

from .builder import Builder


def _fasttanh(b: Builder, x):
    ax = b.op("Abs", x)
    x2 = b.op("Mul", x, x)
    c0, c1, c2, c3, c4 = (b.f32(v) for v in FASTTANH)
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


def _prelu(b: Builder, params, a: Activation, x, name: str):
    if not a.slopes:
        return b.op("LeakyRelu", x, alpha=a.param("negative_slope"))
    return b.op("PRelu", x, params.tensor(f"{name}.slopes", np.asarray(a.slopes, np.float32).reshape(-1, 1)))


# activation name -> build(b, params, a, x, name)
ACTIVATIONS = {
    "Tanh": lambda b, P, a, x, n: b.op("Tanh", x),
    "Fasttanh": lambda b, P, a, x, n: _fasttanh(b, x),
    "Hardtanh": lambda b, P, a, x, n: b.op("Clip", x, b.f32(-1.0), b.f32(1.0)),
    "ReLU": lambda b, P, a, x, n: b.op("Relu", x),
    "LeakyReLU": lambda b, P, a, x, n: b.op("LeakyRelu", x, alpha=a.param("negative_slope")),
    "PReLU": _prelu,
    "Sigmoid": lambda b, P, a, x, n: b.op("Sigmoid", x),
    "SiLU": lambda b, P, a, x, n: b.op("Mul", x, b.op("Sigmoid", x)),
    "Hardswish": lambda b, P, a, x, n: b.op("HardSwish", x),
    "LeakyHardtanh": lambda b, P, a, x, n: _leaky_hardtanh(b, a, x),
    "Softsign": lambda b, P, a, x, n: b.op("Softsign", x),
}


def apply(b: Builder, params, a: Activation, x, name: str):
    """a(x) for x of shape [1, rows, T]; per-channel PReLU slopes come through `params` (slicing)."""
    return ACTIVATIONS[a.name](b, params, a, x, name)
