"""Streaming runtimes behind one interface (see base.Streamer). Import is lazy per runtime."""
from __future__ import annotations

import importlib

from namx.errors import NamxError

# runtime name -> "module:class"; the module is imported only when the runtime is used.
RUNTIMES = {
    "numpy": "namx.runtimes.numpy_ref:NumpyStreamer",
    "onnxruntime": "namx.runtimes.onnx_runtime:OnnxRuntimeStreamer",
    "onnxruntime-dynamic": "namx.runtimes.onnx_runtime:OnnxRuntimeDynamicStreamer",
    "litert": "namx.runtimes.litert:LiteRTStreamer",
    "tflm": "namx.runtimes.tflm:TFLMStreamer",
    "c": "namx.runtimes.c:CStreamer",
}


def open_streamer(runtime: str, model, width=None, *, slim=None, **options):
    """A Streamer for `model` in the named runtime."""
    if runtime not in RUNTIMES:
        raise NamxError(f"unknown runtime {runtime!r} (available: {', '.join(RUNTIMES)})")
    module, cls = RUNTIMES[runtime].split(":")
    return getattr(importlib.import_module(module), cls)(model, width, slim=slim, **options)
