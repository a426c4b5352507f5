"""TFLite-Micro (the `tflite-micro` Python interpreter): the binding's exported files, as a device runs them.

Each block size is its own .tflite (TFLM runs subgraph 0 only and shapes are static); the state is
the graph's state inputs and outputs, carried by the host between calls as firmware does.
Options: block_size (see static_blocks), arena_size (bytes; default: sized from the model).
TFLM uses reference kernels: its output is bit-identical to LiteRT's with kernels="reference".
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile

import numpy as np

from namx.converters.tflite.binding import StreamBinding
from namx.converters.tflite.builder import S
from namx.converters.tflite.export import MAX_UNROLLED_BLOCK, runtime_model, tensor_state, unrolled
from namx.errors import NamxError
from namx.widths import WidthLevel

from .base import Streamer, converted
from .static_blocks import StaticBlockRunner, check_block_size

# Per tensor and per operator, TFLM's arena holds bookkeeping (eval tensors, node structs, kernel
# data, planner records) on top of the tensor data; these bounds cover it with room to spare.
ARENA_PER_TENSOR, ARENA_PER_OP, ARENA_BASE = 256, 512, 64 * 1024
ARENA_TRIES = 4  # on an allocation failure, double the arena and retry this many times


def arena_size(model_bytes: bytes) -> int:
    """An arena that fits subgraph 0: every non-constant tensor unshared, plus bookkeeping."""
    m = S.Model.GetRootAsModel(model_bytes, 0)
    g = m.Subgraphs(0)
    data = 0
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        if m.Buffers(t.Buffer()).DataLength() == 0:  # not a constant
            data += -(-int(np.prod(t.ShapeAsNumpy()) if t.ShapeLength() else 1) * 4 // 16) * 16
    return ARENA_BASE + data + ARENA_PER_TENSOR * g.TensorsLength() + ARENA_PER_OP * g.OperatorsLength()


def measured_arena(model_bytes: bytes) -> int | None:
    """The arena bytes TFLM's own allocator uses for this model, as its recording allocator reports
    them (`print_allocations`, on this 64-bit host); None when tflite-micro is not installed.

    A 16-byte-aligned arena of exactly this size allocates the model (spec §10.6).
    """
    try:
        from tflite_micro import runtime
    except ImportError:
        return None
    it = FileRunner.open(runtime, model_bytes, None)[0]
    report = _c_stderr(it.print_allocations)
    found = re.search(r"Arena allocation total (\d+) bytes", report)
    if found is None:
        raise NamxError(f"TFLM did not report its arena use (it printed {report[:200]!r})")
    return int(found.group(1))


def _c_stderr(call) -> str:
    """What `call` prints to the process's standard error from C (TFLM's log goes to C's stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as f:
        try:
            os.dup2(f.fileno(), 2)
            call()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        return f.read().decode(errors="replace")


class FileRunner:
    """One exported .tflite (io state) in TFLM: process exactly `binding.block_size` samples per call."""

    def __init__(self, model_bytes: bytes, binding: StreamBinding, arena: int | None = None):
        from tflite_micro import runtime
        self._buf, self.binding = model_bytes, binding
        self.it, self.arena_size = self.open(runtime, model_bytes, arena)
        self.reset()

    @staticmethod
    def open(runtime, model_bytes: bytes, arena: int | None):
        """(TFLM interpreter, its arena size): `arena` bytes exactly, or sized from the model."""
        size = arena or arena_size(model_bytes)
        for attempt in range(ARENA_TRIES + 1):
            try:
                return runtime.Interpreter.from_bytes(model_bytes, arena_size=size), size
            except RuntimeError:
                if arena or attempt == ARENA_TRIES:
                    raise NamxError(f"TFLM could not allocate the model in a {size}-byte arena") from None
                size *= 2

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
