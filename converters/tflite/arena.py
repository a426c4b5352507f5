"""TFLite-Micro's tensor arena for an exported .tflite: sized from the file, or measured with TFLM.

The C arrays (c_array.py) carry the arena a firmware must reserve. Only TFLM's own allocator
knows it, so the converter measures it with TFLM's Python interpreter (the `tflite-micro` extra;
without it the arena is left unmeasured), as converters/c measures Cortex-M7 sizes with the
toolchain. The TFLM runtime (namx.runtimes.tflm) opens its interpreters here too.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile

import numpy as np

from namx.errors import NamxError

from .builder import S

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


def open_interpreter(model_bytes: bytes, arena: int | None = None):
    """(TFLM interpreter, its arena size): `arena` bytes exactly, or sized from the model."""
    from tflite_micro import runtime
    size = arena or arena_size(model_bytes)
    for attempt in range(ARENA_TRIES + 1):
        try:
            return runtime.Interpreter.from_bytes(model_bytes, arena_size=size), size
        except RuntimeError:
            if arena or attempt == ARENA_TRIES:
                raise NamxError(f"TFLM could not allocate the model in a {size}-byte arena") from None
            size *= 2


def measured_arena(model_bytes: bytes) -> int | None:
    """The arena bytes TFLM's own allocator uses for this model, as its recording allocator reports
    them (`print_allocations`, on this 64-bit host); None when tflite-micro is not installed.

    A 16-byte-aligned arena of exactly this size allocates the model (spec §10.6).
    """
    try:
        import tflite_micro  # noqa: F401  (the optional extra)
    except ImportError:
        return None
    it = open_interpreter(model_bytes)[0]
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
