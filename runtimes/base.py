"""The streaming interface every runtime implements.

A Streamer plays one model on mono audio, block by block, at one width level at a time:

    s = open_streamer("numpy", model, width="8")
    y = s.process(block)        # any block length >= 1; output has the same length (a block longer
                                # than namx.limits' block_size runs as several calls)
    s.width = "3"               # takes effect at the next block
    s.reset()                   # back to the initial (prewarmed) state

A streamer is single-threaded: it holds one stream's state, so two threads sharing one would mix
their streams. Use one streamer per thread; a call while another thread is inside process(),
reset() or set_width() of the same streamer raises NamxError instead of corrupting the state.

Width-change rule (spec, streaming section): when the width changes, the newly active width
starts from its own initial state, as NeuralAmpModelerCore does when a slim change rebuilds
and prewarms the model. Setting the width that is already active changes nothing.
"""
from __future__ import annotations

import contextlib
import threading
import weakref
from abc import ABC, abstractmethod

import numpy as np

from namx.errors import NamxError
from namx.limits import current as current_limits
from namx.model import Model
from namx.widths import WidthLevel, select


_CONVERSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def converted(model: Model, key: tuple, make):
    """make(): what a runtime converts `model` to (an ONNX graph, a TFLite file, a C library), made
    once per model and key while the model lives. The conformance suite opens a new streamer for
    every stream, and converting costs more than most streams; a model never changes (frozen)."""
    per_model = _CONVERSIONS.setdefault(model, {})
    if key not in per_model:
        per_model[key] = make()
    return per_model[key]


def forget_conversions(model: Model) -> None:
    """Drop `model`'s conversions now (a caller done with the model that still holds it)."""
    _CONVERSIONS.pop(model, None)


class LevelRunner(ABC):
    """One plain model (one width level) in one runtime."""

    @abstractmethod
    def reset(self) -> None:
        """Return to the initial (prewarmed) state."""

    @abstractmethod
    def process(self, x: np.ndarray) -> np.ndarray:
        """Process a 1-D block; return a 1-D block of the same length."""


class Streamer(ABC):
    runtime = "?"
    # What the conformance suite reports (namx.conformance): the tolerance class of spec §8.3 the
    # runtime claims ("float32" or "float64"), and the Python distribution that does the arithmetic
    # (its version goes into reports; None when namx's own code does it).
    precision = "float32"
    backend: str | None = None

    def __init__(self, model: Model, width=None, *, slim: float | None = None):
        if model.in_channels != 1 or model.out_channels != 1:
            raise NamxError(f"{model.source}: model has {model.in_channels} input and {model.out_channels} output "
                            "channels; namx streams mono (1 in, 1 out) models only")
        self.model = model
        self._busy = threading.Lock()  # held while the streamer works: detects use from two threads
        self.max_block = current_limits().block_size
        self.levels = model.widths()
        self._runners: dict[int, LevelRunner] = {}
        self._level = select(model, width, slim=slim)
        self._runner = self._activate(self._level)

    @abstractmethod
    def _open(self, level: WidthLevel) -> LevelRunner:
        """Build the runner for one level (called once per level; the streamer caches it)."""

    def _activate(self, level: WidthLevel) -> LevelRunner:
        runner = self._runners.get(level.index)
        if runner is None:
            runner = self._runners[level.index] = self._open(level)
        runner.reset()
        return runner

    @property
    def level(self) -> WidthLevel:
        return self._level

    @property
    def width(self) -> str:
        return self._level.label

    @width.setter
    def width(self, width) -> None:
        self.set_width(width)

    def set_width(self, width=None, *, slim: float | None = None) -> None:
        level = select(self.model, width, slim=slim)
        if level.index != self._level.index:
            with self._exclusive():
                self._level, self._runner = level, self._activate(level)

    def reset(self) -> None:
        with self._exclusive():
            self._runner.reset()

    @contextlib.contextmanager
    def _exclusive(self):
        if not self._busy.acquire(blocking=False):
            raise NamxError("a streamer is single-threaded: it was used from two threads at once "
                            "(open one streamer per thread)")
        try:
            yield
        finally:
            self._busy.release()

    def process(self, block) -> np.ndarray:
        with self._exclusive():
            return self._process(block)

    def _process(self, block) -> np.ndarray:
        x = np.asarray(block)
        if x.ndim != 1 or x.size == 0:
            raise NamxError(f"a block must be a non-empty 1-D array of samples (got shape {x.shape})")
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise NamxError(f"a block must hold real numbers (got {x.dtype})")
        n = self.max_block
        if x.size <= n:
            return self._runner.process(x)
        return np.concatenate([self._runner.process(x[i:i + n]) for i in range(0, x.size, n)])
