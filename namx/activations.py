"""Activation functions, exactly as NeuralAmpModelerCore defines them (NAM/activations.h).

One table, ACTIVATIONS, lists every name the core accepts with its parameters and defaults.
Parameters are rounded to float32 because the core stores them as `float`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32

# name -> {parameter: default}. "LeakyHardTanh" is the core's alias of "LeakyHardtanh".
ACTIVATIONS: dict[str, dict[str, float | None]] = {
    "Tanh": {},
    "Fasttanh": {},
    "Hardtanh": {},  # min_val/max_val in the JSON are ignored by the core: always clamp to [-1, 1]
    "ReLU": {},
    "LeakyReLU": {"negative_slope": 0.01},
    "PReLU": {"negative_slope": 0.01},  # or a per-channel list "negative_slopes"
    "Sigmoid": {},
    "SiLU": {},
    "Hardswish": {},
    "LeakyHardtanh": {"min_val": -1.0, "max_val": 1.0, "min_slope": 0.01, "max_slope": 0.01},
    "Softsign": {},
}
ALIASES = {"LeakyHardTanh": "LeakyHardtanh"}

# Fasttanh's rational approximation (the core's NAM/activations.h fast_tanh), the one copy every
# backend builds from: f(x) = x*(c0 + c0|x| + (c1 + c2|x|)x^2) / (c3 + (c3 + x^2)|x + c4*x|x||).
FASTTANH = (2.45550750702956, 0.893229853513558, 0.821226666969744, 2.44506634652299, 0.814642734961073)


@dataclass(frozen=True)
class Activation:
    """An activation with its (float32-rounded) parameters.

    `slopes` holds PReLU's per-channel negative slopes (one per row it is applied to); every other
    parameter lives in `params` as sorted (name, value) pairs.
    """

    name: str
    params: tuple[tuple[str, float], ...] = ()
    slopes: tuple[float, ...] = ()

    def param(self, key: str) -> float:
        return dict(self.params)[key]

    def to_json(self):
        """The activation as a .nam config value (a plain string when it has no parameters)."""
        if not self.params and not self.slopes:
            return self.name
        out = {"type": self.name, **dict(self.params)}
        if self.slopes:
            out.pop("negative_slope", None)
            out["negative_slopes"] = list(self.slopes)
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply to x of shape (channels, time) in x's dtype."""
        return _FUNCTIONS[self.name](self, x)


def _f32(v) -> float:
    return float(F32(v))


def make(name: str, **params) -> Activation:
    """Build an activation by canonical name, filling defaults like the core does."""
    name = ALIASES.get(name, name)
    slopes = tuple(_f32(s) for s in params.pop("negative_slopes", ()) or ())
    defaults = ACTIVATIONS[name]
    values = {k: _f32(params.get(k, d)) for k, d in defaults.items()}
    if slopes:
        values.pop("negative_slope", None)
    return Activation(name, tuple(sorted(values.items())), slopes)


def _leaky(x, slope):
    return np.where(x > 0, x, x * slope)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _fasttanh(x):
    # The core's rational approximation (NAM/activations.h fast_tanh).
    ax = np.abs(x)
    x2 = x * x
    c = [x.dtype.type(v) for v in FASTTANH]
    return (x * (c[0] + c[0] * ax + (c[1] + c[2] * ax) * x2)) / (c[3] + (c[3] + x2) * np.abs(x + c[4] * x * ax))


def _prelu(a: Activation, x):
    if a.slopes:
        return _leaky(x, np.asarray(a.slopes, dtype=x.dtype)[:, None])
    return _leaky(x, x.dtype.type(a.param("negative_slope")))


def _leaky_hardtanh(a: Activation, x):
    t = x.dtype.type
    lo, hi = t(a.param("min_val")), t(a.param("max_val"))
    return np.where(x < lo, (x - lo) * t(a.param("min_slope")) + lo,
                    np.where(x > hi, (x - hi) * t(a.param("max_slope")) + hi, x))


def _hardswish(x):
    t = x.dtype.type
    return x * np.clip(x + t(3), t(0), t(6)) * t(1.0 / 6.0)


_FUNCTIONS = {
    "Tanh": lambda a, x: np.tanh(x),
    "Fasttanh": lambda a, x: _fasttanh(x),
    "Hardtanh": lambda a, x: np.clip(x, x.dtype.type(-1), x.dtype.type(1)),
    "ReLU": lambda a, x: np.where(x > 0, x, x.dtype.type(0)),
    "LeakyReLU": lambda a, x: _leaky(x, x.dtype.type(a.param("negative_slope"))),
    "PReLU": _prelu,
    "Sigmoid": lambda a, x: _sigmoid(x),
    "SiLU": lambda a, x: x * _sigmoid(x),
    "Hardswish": lambda a, x: _hardswish(x),
    "LeakyHardtanh": _leaky_hardtanh,
    "Softsign": lambda a, x: x / (x.dtype.type(1) + np.abs(x)),
}
