"""Streaming runtimes behind one interface (see base.Streamer). Import is lazy per runtime."""
from __future__ import annotations

import importlib
import importlib.util
import inspect

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

# Runtimes whose package is an optional extra of namx (wheels exist only on some platforms):
# runtime name -> (the module it imports, the extra that installs it, where that extra installs it).
EXTRAS = {
    "litert": ("ai_edge_litert", "litert", "ai-edge-litert"),
    "tflm": ("tflite_micro", "tflm", "tflite-micro, Linux x86-64 only"),
}


def missing(runtime: str) -> str | None:
    """Why a namx runtime cannot run here (its optional package is not installed), or None."""
    if runtime not in EXTRAS:
        return None
    module, extra, what = EXTRAS[runtime]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a finder that refuses the module (as an environment without it does)
        found = False
    return None if found else f'runtime {runtime!r} is not installed: pip install "namx[{extra}]" ({what})'


def open_streamer(runtime: str, model, width=None, *, slim=None, **options):
    """A Streamer for `model` in the named runtime."""
    if runtime not in RUNTIMES:
        raise NamxError(f"unknown runtime {runtime!r} (available: {', '.join(RUNTIMES)})")
    if why := missing(runtime):
        raise NamxError(why)
    module, name = RUNTIMES[runtime].split(":")
    cls = getattr(importlib.import_module(module), name)
    params = inspect.signature(cls).parameters.values()
    valid = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "slim"]
    unknown = sorted(set(options) - set(valid))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params):  # (**options: the class checks them)
        raise NamxError(f"runtime {runtime!r} has no option {unknown[0]!r} (its options: {', '.join(valid) or 'none'})")
    return cls(model, width, slim=slim, **options)
