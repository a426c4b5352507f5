"""Streaming runtimes behind one interface (see base.Streamer). Import is lazy per runtime.

One lookup (`find`) serves every command that takes a runtime name (`namx run`, `namx conform`):
namx's registry first, then the runtimes other packages install through the entry-point group
ENTRY_POINT_GROUP (the object is a base.Streamer subclass, or any callable
`(model, width, *, slim=None, **options) -> Streamer`).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Callable

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

ENTRY_POINT_GROUP = "namx.runtimes"

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


def entry_points() -> dict:
    """Runtimes other packages install: name -> importlib.metadata.EntryPoint (namx's names win)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name not in RUNTIMES}


def names() -> list[str]:
    """Every runtime name known here: namx's registry, then entry points."""
    return [*RUNTIMES, *entry_points()]


class Names:
    """The runtime names as an argparse `choices`: looked up when a name is checked, not at start-up."""

    def __contains__(self, name) -> bool:
        return name in RUNTIMES or name in entry_points()

    def __iter__(self):
        return iter(names())


class UnknownRuntime(NamxError):
    """A name neither namx nor an installed package offers as a runtime; `available` lists those offered."""

    def __init__(self, runtime: str, available: list[str]):
        super().__init__(f"unknown runtime {runtime!r} (available: {', '.join(available)})")
        self.available = available


@dataclass(frozen=True)
class Found:
    """A runtime by name: what makes its streamers, and where it comes from."""
    name: str
    factory: Callable
    kind: str                      # "namx" (the registry) or "entry point"
    distribution: str | None = None  # the package that installed an entry point


def find(runtime: str) -> Found:
    """The runtime named `runtime`: one-line NamxError when it is unknown or cannot load here."""
    if runtime in RUNTIMES:
        if why := missing(runtime):
            raise NamxError(why)
        module, cls = RUNTIMES[runtime].split(":")
        try:
            return Found(runtime, getattr(importlib.import_module(module), cls), "namx")
        except ImportError as e:
            raise NamxError(f"runtime {runtime!r} is not installed ({e})") from None
    eps = entry_points()
    if runtime not in eps:
        raise UnknownRuntime(runtime, [*RUNTIMES, *eps])
    ep = eps[runtime]
    try:
        factory = ep.load()
    except Exception as e:  # a third party's import failure: report it, don't crash
        raise NamxError(f"runtime {runtime!r} (entry point {ep.value}) does not load: {e}") from None
    if not callable(factory):
        raise NamxError(f"runtime {runtime!r} (entry point {ep.value}) is not a Streamer class or factory")
    return Found(runtime, factory, "entry point", ep.dist.name if ep.dist is not None else None)


def installed() -> tuple[list[str], dict[str, str]]:
    """Names of every runtime that can be opened here (namx's registry first, then entry points),
    and {name: why not} for namx's runtimes that cannot (an extra or a tool is missing)."""
    found, why_not = [], {}
    for name, target in RUNTIMES.items():
        if why := missing(name):
            why_not[name] = why
            continue
        try:
            module = importlib.import_module(target.split(":")[0])
        except ImportError as e:
            why_not[name] = f"not installed ({e})"
            continue
        # a runtime that needs more than its Python modules (runtime c: a C compiler) says why not
        if why := getattr(module, "unavailable", lambda: None)():
            why_not[name] = why
        else:
            found.append(name)
    return found + list(entry_points()), why_not


def open_streamer(runtime: str, model, width=None, *, slim=None, **options):
    """A Streamer for `model` in the named runtime (namx's or an entry point's)."""
    factory = find(runtime).factory
    params = inspect.signature(factory).parameters.values()
    valid = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "slim"]
    unknown = sorted(set(options) - set(valid))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params):  # (**options: the class checks them)
        raise NamxError(f"runtime {runtime!r} has no option {unknown[0]!r} (its options: {', '.join(valid) or 'none'})")
    return factory(model, width, slim=slim, **options)


def listing(as_json: bool = False) -> str:
    """`namx info --runtimes`: every runtime, and whether it is installed here (or why not)."""
    import json
    found, why_not = installed()
    status = {n: None for n in found} | why_not  # name -> None (installed) or why not
    if as_json:
        return json.dumps({n: {"installed": why is None, "reason": why} for n, why in status.items()}, indent=2)
    width = max(map(len, status))
    return "\n".join(f"{n:<{width}}  {'installed' if why is None else why}" for n, why in status.items())
