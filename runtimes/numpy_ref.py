"""The NumPy reference runtime: namx.reference (what a .nam file computes) as a Streamer.

Each width level runs the reference's ModelRunner on `model.at(level)`, in float64 by default
(float32 on request).
"""
from __future__ import annotations

import numpy as np

from namx.errors import NamxError
from namx.model import Model
from namx.reference import ModelRunner
from namx.widths import WidthLevel

from .base import LevelRunner, Streamer

LevelRunner.register(ModelRunner)  # the reference's runner is a LevelRunner (the core cannot import runtimes)


class NumpyStreamer(Streamer):
    runtime = "numpy"
    backend = "numpy"

    def __init__(self, model: Model, width=None, *, slim=None, precision: str = "float64"):
        if precision not in ("float64", "float32"):
            raise NamxError(f"precision must be float64 or float32 (got {precision!r})")
        self.dtype, self.precision = np.dtype(precision), precision
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel) -> LevelRunner:
        return ModelRunner(self.model.at(level), self.dtype)
