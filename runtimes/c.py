"""The generated C engine (`namx convert --to c`), compiled with the system C compiler and called
through ctypes, one shared library per width level (cached by content hash; see converters/c/build).

Options:
  cflags  compiler flags (default ["-O2"]: a portable build); e.g. ["-O3", "-march=x86-64-v3"]
"""
from __future__ import annotations

import ctypes

import numpy as np

from namx.converters.c.build import compiler, shared_library
from namx.converters.c.generate import generate
from namx.errors import NamxError
from namx.widths import WidthLevel

from .base import LevelRunner, Streamer, converted

NAME = "namx_engine"


def unavailable() -> str | None:
    """Why this runtime cannot run here (conformance lists it as not installed), or None."""
    try:
        compiler()
    except NamxError as e:
        return str(e)
    return None


class CStreamer(Streamer):
    runtime = "c"
    backend = None  # namx's own generated code does the arithmetic

    def __init__(self, model, width=None, *, slim=None, cflags: list[str] | None = None):
        self.cflags = cflags
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel) -> LevelRunner:
        flags = None if self.cflags is None else tuple(self.cflags)
        library = converted(self.model, ("c", level.index, flags), lambda: _library(self.model, level, self.cflags))
        return CRunner(library)


def _library(model, level: WidthLevel, cflags):
    """The compiled engine of one level (a shared library)."""
    header, source, _ = generate(model.at(level), NAME, f"{NAME}.h", level.label, level.index)
    return shared_library({f"{NAME}.h": header, f"{NAME}.c": source}, cflags)


class CRunner(LevelRunner):
    def __init__(self, library):
        lib = ctypes.CDLL(str(library))
        lib.namx_engine_state_bytes.restype = ctypes.c_size_t
        self._process = lib.namx_engine_process
        # plain addresses: ctypes' pointer objects cost more per call than a 64-sample block does
        self._process.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self._process.restype = None
        size = lib.namx_engine_state_bytes()
        self._state = ctypes.create_string_buffer(size)
        self._address = ctypes.addressof(self._state)
        lib.namx_engine_init(self._state)
        self._initial = self._state.raw  # reset copies this back instead of prewarming again

    def reset(self) -> None:
        ctypes.memmove(self._state, self._initial, len(self._initial))

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        y = np.empty(x.size, np.float32)
        self._process(self._address, x.__array_interface__["data"][0], y.__array_interface__["data"][0], x.size)
        return y
