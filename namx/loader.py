"""Load .nam files (JSON) into the typed model, with NeuralAmpModelerCore's rules.

Every rejection is a ModelError naming the file and the JSON path of the problem, e.g.
`amp.nam: config.layers[0].dilations[3]: must be an integer >= 1 (got -2)`. Weights are consumed
in the core's order (spec §4), each tensor under a name (`weight_layout` lists them), and their
count is checked exactly. This module holds the file-level rules (version, sample rate, metadata,
weights, limits); each architecture's config is read by its module in namx.arch.

`check()` runs the same checks but collects every problem it can instead of stopping at the
first: checks that relate values to each other (channel chains, groups, counts, ordering) are
recorded and parsing goes on; a value that cannot be read or used (a missing key, a wrong type, a
per-layer list of the wrong length) still ends the parse. `namx validate` pairs this with the JSON Schema (spec/a2/1.0).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .arch import ARCHITECTURES as _BY_NAME
from .arch import of
from .arch.reading import Reader, Tensor, Weights, finite, join, show, work_exceeded  # (Tensor: re-exported)
from .arch.wavenet import SLIM_METHOD  # (re-exported)
from .errors import ModelError
from .inputs import NotReadable, open_regular
from .limits import Limits, count
from .limits import current as current_limits
from .model import DEFAULT_SAMPLE_RATE, Model
from .stats import sizes
from .widths import level_count

EARLIEST_VERSION = (0, 5, 0)
LATEST_VERSION = (0, 7, 0)
ARCHITECTURES = tuple(_BY_NAME)  # the names a file's "architecture" may have (namx.arch)
MAX_NESTING = 8  # condition_dsp / container submodels inside each other
SAMPLE_RATES = (8000.0, 384000.0)  # Hz: the sample rates a file may give (spec §3.3)
LEVEL_METADATA = ("loudness", "input_level_dbu", "output_level_dbu")  # metadata the core reads


def load(path: str | Path, limits: Limits | None = None) -> Model:
    """Read and validate a .nam file (`limits`: namx.limits, default from the environment)."""
    limits = limits or current_limits()
    return loads(read_file(path, str(path), limits), str(path), limits)


def loads(data: str | bytes, source: str = "<string>", limits: Limits | None = None) -> Model:
    """Parse .nam JSON text."""
    limits = limits or current_limits()
    return from_json(parse_json(data, source, limits), source, limits)


def from_json(obj: Any, source: str = "<json>", limits: Limits | None = None) -> Model:
    """Build a Model from a parsed .nam object."""
    return _Parser(source, limits=limits).model(obj, "", depth=0)


def read_file(path: str | Path, source: str, limits: Limits) -> bytes:
    """A regular file's bytes (namx.inputs); one over the size limit is refused before it is read."""
    try:
        with open_regular(path, ".nam file", source) as f:
            size = os.fstat(f.fileno()).st_size
            data = b"" if size > limits.file_bytes else f.read(limits.file_bytes + 1)  # +1: sizes stat can't tell
    except NotReadable as e:
        raise ModelError(source, e.problem) from None
    except OSError as e:
        raise ModelError(source, f"cannot read: {e.strerror or e}") from None
    size = max(size, len(data))
    if size > limits.file_bytes:
        raise ModelError(source, limits.exceeded("file_bytes", f"the file has {size} bytes"))
    return data


def parse_json(data: str | bytes, source: str, limits: Limits) -> Any:
    """JSON text (UTF-8 bytes or str) to Python objects, every failure a ModelError."""
    if len(data) > limits.file_bytes:
        raise ModelError(source, limits.exceeded("file_bytes", f"the text has {len(data)} characters"))
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ModelError(source, f"not UTF-8 text (byte {e.start}); a .nam file is JSON") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as e:
        raise ModelError(source, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ModelError(source, "invalid JSON: nested too deeply") from None
    except ValueError as e:  # an integer literal longer than Python's int conversion limit (4300 digits)
        raise ModelError(source, f"invalid JSON: {_first_line(e)}") from None


@dataclass(frozen=True)
class Check:
    """What `check` finds: every problem, whether the whole object was checked, and notes
    (things a user should know about a valid file, e.g. partial version support)."""

    problems: list[ModelError]
    complete: bool  # False: the check stopped at the last problem, a value it cannot read
    notes: tuple[str, ...] = ()


def check(obj: Any, source: str = "<json>", limits: Limits | None = None) -> Check:
    """Every problem the loader finds in a parsed .nam object (none: it loads).

    Problems between readable values are all collected; a value that cannot be read or used ends
    the check, and that problem comes last.
    """
    parser = _Parser(source, collect=True, limits=limits)
    try:
        parser.model(obj, "", depth=0)
    except ModelError as e:
        return Check(parser.problems + [e], False)
    return Check(parser.problems, True, tuple(parser.notes))


def weight_layout(obj: Any, source: str = "<json>") -> list[Tensor]:
    """The tensors a .nam object's config consumes from its own `weights`, in order (spec §4).

    The object's `weights` are ignored. Nested models (condition_dsp, container submodels) have
    their own `weights`: ask for their layouts separately.
    """
    parser = _Parser(source, check_count=False)
    parser.model({**obj, "weights": []}, "", depth=0)
    return parser.layout


def weights_needed(obj: Any, source: str = "<json>") -> int:
    """How many top-level weights a .nam object's config consumes (its own `weights` are ignored)."""
    return sum(t.size for t in weight_layout(obj, source))


class _Parser(Reader):
    """Reads a whole .nam object: the file-level rules here, each architecture's config in its
    namx.arch module (which calls `model` back for nested models)."""

    def __init__(self, source: str, check_count: bool = True, collect: bool = False, limits: Limits | None = None):
        super().__init__(source, collect, limits)
        self.check_count = check_count
        self.notes: list[str] = []
        self.layout: list[Tensor] = []

    # ---- the file -----------------------------------------------------------------------
    def model(self, obj: Any, path: str, depth: int) -> Model:
        if depth > MAX_NESTING:
            self.fail(path, f"models nested more than {MAX_NESTING} deep (condition_dsp/submodels)")
        obj = self.obj(obj, path or "(top level)")
        version = self.version(self.get(obj, "version", path), join(path, "version"))
        arch = self.get(obj, "architecture", path)
        if arch not in ARCHITECTURES:
            self.fail(join(path, "architecture"),
                      f"unknown architecture {show(arch)} (known: {', '.join(ARCHITECTURES)})")
        config = self.obj(self.get(obj, "config", path), join(path, "config"))
        rate = obj.get("sample_rate")
        if rate is not None:
            rate = self.num(rate, join(path, "sample_rate"))
            if not SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]:
                self.problem(join(path, "sample_rate"), f"must be from {SAMPLE_RATES[0]:g} to {SAMPLE_RATES[1]:g} Hz "
                                                         f"(got {show(obj['sample_rate'])})")
                rate = DEFAULT_SAMPLE_RATE  # (collecting: go on as if it were the usual rate)
        metadata = obj.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            self.fail(join(path, "metadata"), f"must be an object (got {show(metadata)})")
        if metadata:
            self.unicode(metadata, join(path, "metadata"))
        for key in LEVEL_METADATA:  # the fields the core reads: a number, or null for unknown
            value = (metadata or {}).get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not finite(value)):
                self.problem(join(path, f"metadata.{key}"), f"must be a finite number or null (got {show(value)})")
        weights = self.weights(self.get(obj, "weights", path), join(path, "weights"))
        known_problems = len(self.problems)
        cpath = join(path, "config")
        w = Weights(weights, self.limits, self.source, cpath, DEFAULT_SAMPLE_RATE if rate is None else rate)
        net = _BY_NAME[arch].parse(self, config, cpath, w, rate, depth)
        if depth == 0:
            self.layout = w.layout
        # (with problems in the config already, its weight count says nothing more)
        if w.pos != weights.size and (self.check_count or depth > 0) and len(self.problems) == known_problems:
            self.problem(join(path, "weights"), f"{arch} config needs {w.pos} weights but the file has {weights.size}")
        if rate is None and depth == 0:
            self.notes.append(f"no sample_rate in the file: assuming {DEFAULT_SAMPLE_RATE:.0f} Hz")
        model = Model(net=net, version=version, architecture=arch,
                      sample_rate=DEFAULT_SAMPLE_RATE if rate is None else rate,
                      sample_rate_assumed=rate is None, metadata=dict(metadata or {}), source=self.source,
                      notes=tuple(self.notes) if depth == 0 else (), raw=obj)
        if _BY_NAME[arch].sizes is not None:  # (a container: each submodel is checked on its own)
            self.check_limits(model, path)
        return model

    def check_limits(self, model: Model, path: str):
        """What a runtime allocates and runs for this model stays within namx's limits."""
        limits, cpath, size = self.limits, join(path, "config"), sizes(model)
        rf, prewarm, state, work = size.receptive_field, size.prewarm, size.state, size.work
        if rf is not None and rf > limits.receptive_field:
            self.fail(cpath, limits.exceeded("receptive_field", f"the receptive field is {count(rf)} samples"))
        if prewarm > limits.receptive_field:
            where = join(path, "sample_rate") if of(model.net).prewarm_follows_rate else cpath
            self.fail(where, limits.exceeded("receptive_field", f"the prewarm is {count(prewarm)} samples"))
        if state > limits.state:
            self.fail(cpath, limits.exceeded("state", f"the streaming state is {count(state)} floats"))
        if work * model.sample_rate > limits.work_per_second:
            self.fail(cpath, work_exceeded(limits, work * model.sample_rate))
        if work * prewarm > limits.prewarm_work:
            self.fail(cpath, limits.exceeded("prewarm_work", f"the prewarm ({count(prewarm)} samples) takes "
                                                             f"{count(work * prewarm)} work"))
        n = level_count(model)
        if n > limits.widths:
            self.fail(cpath, limits.exceeded("widths", f"the model offers {count(n)} widths"))

    def unicode(self, value: Any, path: str) -> None:
        """Text a file carries on (metadata) must be valid Unicode: JSON's \\u escapes can write a lone
        UTF-16 surrogate, which no UTF-8 file, ONNX string or terminal can hold."""
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            self.problem(path, "holds text that is not valid Unicode (a lone UTF-16 surrogate, e.g. \\ud800)")
        except (RecursionError, ValueError):
            self.fail(path, "is nested too deeply")

    def version(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}", value):
            self.fail(path, f"must be a version string MAJOR.MINOR.PATCH (got {show(value)})")
        v = tuple(int(p) for p in value.split("."))  # (each part at most 9 digits: see the pattern)
        latest = ".".join(map(str, LATEST_VERSION))
        if v < EARLIEST_VERSION or v[0] > LATEST_VERSION[0] or v[1] > LATEST_VERSION[1]:
            self.problem(path, f"unsupported file version {value} (supported: "
                            f"{'.'.join(map(str, EARLIEST_VERSION))} to {latest}; a newer patch loads with a warning)")
        if v > LATEST_VERSION:
            self.notes.append(f"file version {value} is newer than {latest}: loaded with partial support")
        return value

    def weights(self, value: Any, path: str) -> np.ndarray:
        self.list_(value, path, nonempty=False)
        if len(value) > self.limits.weights:
            self.fail(path, self.limits.exceeded("weights", f"has {len(value)} weights"))
        if not set(map(type, value)) <= {int, float}:  # (the fast check; the loop finds the culprit)
            for i, v in enumerate(value):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    self.fail(f"{path}[{i}]", f"must be a number (got {show(v)})")
        try:
            with np.errstate(over="ignore"):
                arr = np.asarray(value, dtype=np.float64).astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(arr))
        except OverflowError:  # an integer beyond float64; the problem below ends loading (or is recorded)
            arr = np.zeros(len(value), np.float32)
            bad = [next(i for i, v in enumerate(value) if not finite(v))]
        if len(bad):
            self.problem(f"{path}[{bad[0]}]", f"is not a finite float32 (got {show(value[bad[0]])})"
                         + (f"; {len(bad) - 1} more weights are not either" if len(bad) > 1 else ""))
        return arr


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
