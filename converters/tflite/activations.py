"""Every NAM activation as builtin TFLite ops (one table; the NumPy reference is the semantics).

Where an activation has no builtin op of its own, it is composed so that each float operation
matches the reference's formula and order (namx/activations.py), so rounding agrees too.
"""
from __future__ import annotations

import numpy as np

from namx.activations import FASTTANH, Activation

from .builder import Graph


def apply(g: Graph, x: int, act: Activation, name: str) -> int:
    return ACTIVATIONS[act.name](g, x, act, name)


def _fasttanh(g: Graph, x: int, act: Activation, name: str) -> int:
    c0, c1, c2, c3, c4 = (g.scalar(v) for v in FASTTANH)
    ax = g.unary("ABS", x, f"{name}.abs")
    x2 = g.mul(x, x, f"{name}.x2")
    poly = g.add(g.add(c0, g.mul(c0, ax, f"{name}.n0"), f"{name}.n1"),
                 g.mul(g.add(c1, g.mul(c2, ax, f"{name}.n2"), f"{name}.n3"), x2, f"{name}.n4"), f"{name}.n5")
    num = g.mul(x, poly, f"{name}.num")
    inner = g.unary("ABS", g.add(x, g.mul(g.mul(c4, x, f"{name}.d0"), ax, f"{name}.d1"), f"{name}.d2"), f"{name}.d3")
    den = g.add(c3, g.mul(g.add(c3, x2, f"{name}.d4"), inner, f"{name}.d5"), f"{name}.den")
    return g.div(num, den, name)


def _prelu(g: Graph, x: int, act: Activation, name: str) -> int:
    if act.slopes:
        return g.prelu(x, np.asarray(act.slopes, np.float32), name)
    return g.leaky_relu(x, act.param("negative_slope"), name)


def _leaky_hardtanh(g: Graph, x: int, act: Activation, name: str) -> int:
    """clamp(x, lo, hi) + min(x-lo, 0)*min_slope + max(x-hi, 0)*max_slope.

    Exactly one of the three terms is non-zero (adding an exact 0 changes nothing), so each
    branch rounds as the reference's (x-lo)*slope + lo, x, or (x-hi)*slope + hi.
    """
    lo, hi = act.param("min_val"), act.param("max_val")
    clamp = g.minimum(g.maximum(x, g.scalar(lo), f"{name}.lo"), g.scalar(hi), f"{name}.clamp")
    below = g.mul(g.minimum(g.sub(x, g.scalar(lo), f"{name}.xlo"), g.scalar(0.0), f"{name}.neg"),
                  g.scalar(act.param("min_slope")), f"{name}.below")
    above = g.mul(g.maximum(g.sub(x, g.scalar(hi), f"{name}.xhi"), g.scalar(0.0), f"{name}.pos"),
                  g.scalar(act.param("max_slope")), f"{name}.above")
    return g.add(g.add(below, clamp, f"{name}.sum"), above, name)


# activation name -> build(g, x, act, name) (namx.backends)
ACTIVATIONS = {
    "Tanh": lambda g, x, a, n: g.unary("TANH", x, n),
    "Fasttanh": _fasttanh,
    "Hardtanh": lambda g, x, a, n: g.minimum(g.maximum(x, g.scalar(-1.0), f"{n}.lo"), g.scalar(1.0), n),
    "ReLU": lambda g, x, a, n: g.unary("RELU", x, n),
    "LeakyReLU": lambda g, x, a, n: g.leaky_relu(x, a.param("negative_slope"), n),
    "PReLU": _prelu,
    "Sigmoid": lambda g, x, a, n: g.unary("LOGISTIC", x, n),
    "SiLU": lambda g, x, a, n: g.mul(x, g.unary("LOGISTIC", x, f"{n}.sigmoid"), n),
    "Hardswish": lambda g, x, a, n: g.unary("HARD_SWISH", x, n),
    "LeakyHardtanh": _leaky_hardtanh,
    "Softsign": lambda g, x, a, n: g.div(x, g.add(g.scalar(1.0), g.unary("ABS", x, f"{n}.abs"), f"{n}.den"), n),
}
