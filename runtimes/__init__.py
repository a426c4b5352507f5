"""Streaming runtimes behind one interface (see base.Streamer). Import is lazy per runtime."""
from __future__ import annotations

import importlib
import inspect

from namx.errors import NamxError

# runtime name -> "module:class"; the module is imported only when the runtime is used.
RUNTIMES = {
    "numpy": "namx.runtimes.numpy_ref:NumpyStreamer",
    "onnxruntime": "namx.runtimes.onnx_runtime:OnnxRuntimeStreamer",
    "onnxruntime-dynamic": "namx.runtimes.onnx_runtime:OnnxRuntimeDynamicStreamer",
    "litert": "namx.runtimes.litert:LiteRTStreamer",
    "tflm": "namx.runtimes.tflm:TFLMStreamer",
}


def open_streamer(runtime: str, model, width=None, *, slim=None, **options):
    """A Streamer for `model` in the named runtime."""
    if runtime not in RUNTIMES:
        raise NamxError(f"unknown runtime {runtime!r} (available: {', '.join(RUNTIMES)})")
    module, name = RUNTIMES[runtime].split(":")
    cls = getattr(importlib.import_module(module), name)
    params = inspect.signature(cls).parameters.values()
    valid = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "slim"]
    unknown = sorted(set(options) - set(valid))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params):  # (**options: the class checks them)
        raise NamxError(f"runtime {runtime!r} has no option {unknown[0]!r} (its options: {', '.join(valid) or 'none'})")
    return cls(model, width, slim=slim, **options)
