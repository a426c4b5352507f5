"""TFLite-Micro (the `tflite-micro` Python interpreter): the binding's exported files, as a device runs them.

Each block size is its own .tflite (TFLM runs subgraph 0 only and shapes are static); the state is
the graph's state inputs and outputs, carried by the host between calls as firmware does.
Options: block_size (see static_blocks), arena_size (bytes; default: sized from the model).
TFLM uses reference kernels: its output is bit-identical to LiteRT's with kernels="reference".
"""
from __future__ import annotations

import numpy as np

from namx.converters.tflite.arena import open_interpreter
from namx.converters.tflite.binding import StreamBinding
from namx.converters.tflite.export import MAX_UNROLLED_BLOCK, runtime_model, tensor_state, unrolled
from namx.widths import WidthLevel

from .base import Streamer, converted
from .static_blocks import StaticBlockRunner, check_block_size


class FileRunner:
    """One exported .tflite (io state) in TFLM: process exactly `binding.block_size` samples per call."""

    def __init__(self, model_bytes: bytes, binding: StreamBinding, arena: int | None = None):
        self._buf, self.binding = model_bytes, binding
        self.it, self.arena_size = open_interpreter(model_bytes, arena)
        self.reset()

    def reset(self) -> None:
        self.state = [self.binding.initial_state[n] for n in self.binding.state_names]

    def process(self, x: np.ndarray) -> np.ndarray:
        it, n = self.it, self.binding.block_size
        it.set_input(np.asarray(x, np.float32).reshape(1, n), 0)
        for k, s in enumerate(self.state):
            it.set_input(s, k + 1)
        it.invoke()
        self.state = [it.get_output(k + 1) for k in range(len(self.state))]
        return it.get_output(0).reshape(n)


class TFLMStreamer(Streamer):
    runtime = "tflm"

    def __init__(self, model, width=None, *, slim=None, block_size: int | None = None, arena_size: int | None = None):
        self.block_size, self.arena_size = check_block_size(block_size), arena_size
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel):
        return TFLMRunner(self.model, level, self.block_size, self.arena_size)


class TFLMRunner(StaticBlockRunner):
    """One FileRunner per block size; the host state passes from one to the next."""

    def __init__(self, model, level: WidthLevel, block_size, arena: int | None):
        super().__init__(block_size, MAX_UNROLLED_BLOCK if unrolled(model.at(level)) else None)
        self.model, self.level, self.arena = model, level, arena

    def _build(self, sizes: list[int]) -> None:
        self._state_values = converted(self.model, ("tflite state", self.level.index),
                                       lambda: tensor_state(self.model.at(self.level)))
        self._files = {}
        self._reset()

    def _file(self, size: int) -> FileRunner:
        if size not in self._files:  # built on first use: most streams need one or two sizes
            buf, (b,) = converted(self.model, ("tflite", self.level.index, (size,), "io"),
                                  lambda: runtime_model(self.model, self.level, [size], "io", self._state_values))
            self._files[size] = FileRunner(buf, b, self.arena)
        return self._files[size]

    def _reset(self) -> None:
        self.state = [self._state_values[n] for n in self._state_values]

    def _run(self, size: int, x: np.ndarray) -> np.ndarray:
        f = self._file(size)
        f.state = self.state
        y = f.process(x)
        self.state = f.state
        return y
