"""Load .nam files (JSON) into the typed model, with NeuralAmpModelerCore's rules.

Every rejection is a ModelError naming the file and the JSON path of the problem, e.g.
`amp.nam: config.layers[0].dilations[3]: must be an integer >= 1 (got -2)`. Weights are consumed
in the core's order (spec §4), each tensor under a name (`weight_layout` lists them), and their
count is checked exactly.

`check()` runs the same checks but collects every problem it can instead of stopping at the
first: checks that relate values to each other (channel chains, groups, counts, ordering) are
recorded and parsing goes on; a value that cannot be read or used (a missing key, a wrong type, a
per-layer list of the wrong length) still ends the parse. `namx validate` pairs this with the JSON Schema (spec/a2/1.0).
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import activations
from .errors import ModelError
from .inputs import NotReadable, open_regular
from .limits import Limits, count
from .widths import level_count
from .limits import current as current_limits
from .model import (
    DEFAULT_SAMPLE_RATE, FILM_SLOTS, GATING_MODES, LSTM, BatchNorm, Container, Conv, ConvNet, Film, Layer,
    LayerArray, Linear, LSTMCell, Model, PostHead, WaveNet,
)
from .stats import CELL_COST, CONV_COST, prewarm_samples, receptive_field, state_size, work_per_sample

EARLIEST_VERSION = (0, 5, 0)
LATEST_VERSION = (0, 7, 0)
ARCHITECTURES = ("WaveNet", "LSTM", "ConvNet", "Linear", "SlimmableContainer")
SLIM_METHOD = "slice_channels_uniform"
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


@dataclass(frozen=True)
class Tensor:
    """One named tensor in a model's flat `weights`: `size` floats from `offset`, read as `shape`."""

    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


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


class _Weights:
    """Hands out the flat weight list in consumption order, recording each tensor's name.

    A config that needs more weights than the limit (namx.limits) ends the parse at once, before
    anything that large is made.
    """

    def __init__(self, values: np.ndarray, limits: Limits, source: str, path: str, rate: float):
        self.values, self.pos = values, 0
        self.limits, self.source, self.path, self.rate = limits, source, path, rate
        self.dense = 0  # weights with grouped convolutions expanded, as the runtimes hold them
        self.work = 0   # stats.work_per_sample of what was read so far: a model over the work limit
                        # ends the parse here, before its (possibly very many) layers are all built
        self.layout: list[Tensor] = []

    def add_work(self, work: int) -> None:
        self.work += work
        if self.work * self.rate > self.limits.work_per_second:
            raise ModelError(self.source, work_exceeded(self.limits, self.work * self.rate), self.path)

    def _over(self, what: str):
        raise ModelError(self.source, self.limits.exceeded("weights", what), self.path)

    def take(self, name: str, *shape: int) -> np.ndarray:
        n = math.prod(shape)
        if self.pos + n > self.limits.weights:
            self._over(f"the config needs at least {count(self.pos + n)} weights")
        self.layout.append(Tensor(name, self.pos, shape))
        chunk = self.values[self.pos:self.pos + n]
        self.pos += n
        if chunk.size < n:  # too few weights: keep going to learn the expected total
            chunk = np.broadcast_to(np.float32(0), (n,))
        return chunk.reshape(shape)

    def conv(self, name: str, cin: int, cout: int, kernel: int = 1, *, bias: bool, dilation: int = 1,
             groups: int = 1) -> Conv:
        """PyTorch's (out, in/groups, kernel) weight, then the bias (out) if there is one."""
        w = self.take(f"{name}.weight", cout, cin // groups, kernel)
        self.dense += cout * cin * kernel  # (past take's check, only grouping can make this the larger count)
        if self.dense > self.limits.weights:
            self._over(f"with grouped convolutions expanded, the config needs at least {count(self.dense)} weights")
        b = self.take(f"{name}.bias", cout) if bias else None
        conv = Conv(w, b, dilation, groups)
        self.add_work(conv.macs + CONV_COST)
        return conv


class _Parser:
    def __init__(self, source: str, check_count: bool = True, collect: bool = False, limits: Limits | None = None):
        self.source, self.check_count, self.collect = source, check_count, collect
        self.limits = limits or current_limits()
        self.notes: list[str] = []
        self.layout: list[Tensor] = []
        self.problems: list[ModelError] = []
        self.seen: set[str] = set()  # the problems' messages (a set: checking is linear in their number)

    def fail(self, path: str, problem: str):
        """A problem parsing cannot go on after (a value it cannot read or use): raise."""
        raise ModelError(self.source, problem, path)

    def problem(self, path: str, problem: str):
        """A rule the file breaks while its values can still be read: raise, or record and go on."""
        error = ModelError(self.source, problem, path)
        if not self.collect:
            raise error
        if str(error) not in self.seen:  # e.g. one activation shared by all layers
            self.seen.add(str(error))
            self.problems.append(error)

    # ---- typed access -------------------------------------------------------------------
    def get(self, obj: dict, key: str, path: str, default: Any = ...):
        if key in obj:
            return obj[key]
        if default is ...:
            self.fail(_join(path, key), "required key is missing")
        return default

    def int_(self, value: Any, path: str, minimum: int = 1) -> int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):
            self.fail(path, f"must be an integer (got {_show(value)})")
        if value < minimum:
            self.fail(path, f"must be an integer >= {minimum} (got {_show(value)})")
        if value > 2**31 - 1:
            self.fail(path, f"is too large (got {_show(value)})")
        return int(value)

    def num(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            self.fail(path, f"must be a finite number (got {_show(value)})")
        return float(value)

    def float32(self, value: Any, path: str) -> float:
        """A number the core stores as a float: it must stay finite in float32."""
        number = self.num(value, path)
        with np.errstate(over="ignore"):
            if not np.isfinite(np.float32(number)):
                self.problem(path, f"is not a finite float32 (got {_show(value)})")
                return 0.0
        return number

    def bool_(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false (got {_show(value)})")
        return value

    def obj(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object (got {_show(value)})")
        return value

    def list_(self, value: Any, path: str, nonempty: bool = True) -> list:
        if not isinstance(value, list):
            self.fail(path, f"must be a list (got {_show(value)})")
        if nonempty and not value:
            self.fail(path, "must not be empty")
        return value

    def ints(self, value: Any, path: str, minimum: int = 1) -> list[int]:
        return [self.int_(v, f"{path}[{i}]", minimum) for i, v in enumerate(self.list_(value, path))]

    def per_layer(self, value: Any, n: int, path: str) -> list[tuple[Any, str]]:
        """A value given once for all layers or as a list with one entry per layer."""
        if isinstance(value, list):
            if len(value) != n:
                self.fail(path, f"has {len(value)} entries but the array has {n} layers (dilations)")
            return [(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return [(value, path)] * n

    # ---- the file -----------------------------------------------------------------------
    def model(self, obj: Any, path: str, depth: int) -> Model:
        if depth > MAX_NESTING:
            self.fail(path, f"models nested more than {MAX_NESTING} deep (condition_dsp/submodels)")
        obj = self.obj(obj, path or "(top level)")
        version = self.version(self.get(obj, "version", path), _join(path, "version"))
        arch = self.get(obj, "architecture", path)
        if arch not in ARCHITECTURES:
            self.fail(_join(path, "architecture"),
                      f"unknown architecture {_show(arch)} (known: {', '.join(ARCHITECTURES)})")
        config = self.obj(self.get(obj, "config", path), _join(path, "config"))
        rate = obj.get("sample_rate")
        if rate is not None:
            rate = self.num(rate, _join(path, "sample_rate"))
            if not SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]:
                self.problem(_join(path, "sample_rate"), f"must be from {SAMPLE_RATES[0]:g} to {SAMPLE_RATES[1]:g} Hz "
                                                         f"(got {_show(obj['sample_rate'])})")
                rate = DEFAULT_SAMPLE_RATE  # (collecting: go on as if it were the usual rate)
        metadata = obj.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            self.fail(_join(path, "metadata"), f"must be an object (got {_show(metadata)})")
        if metadata:
            self.unicode(metadata, _join(path, "metadata"))
        for key in LEVEL_METADATA:  # the fields the core reads: a number, or null for unknown
            value = (metadata or {}).get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not _finite(value)):
                self.problem(_join(path, f"metadata.{key}"), f"must be a finite number or null (got {_show(value)})")
        weights = self.weights(self.get(obj, "weights", path), _join(path, "weights"))
        known_problems = len(self.problems)
        cpath = _join(path, "config")
        w = _Weights(weights, self.limits, self.source, cpath, DEFAULT_SAMPLE_RATE if rate is None else rate)
        if arch == "WaveNet":
            net = self.wavenet(config, cpath, w, rate, depth)
        elif arch == "LSTM":
            net = self.lstm(config, cpath, w)
        elif arch == "ConvNet":
            net = self.convnet(config, cpath, w)
        elif arch == "Linear":
            net = self.linear(config, cpath, w)
        else:
            net = self.container(config, cpath, rate, depth)
        if depth == 0:
            self.layout = w.layout
        # (with problems in the config already, its weight count says nothing more)
        if w.pos != weights.size and (self.check_count or depth > 0) and len(self.problems) == known_problems:
            self.problem(_join(path, "weights"), f"{arch} config needs {w.pos} weights but the file has {weights.size}")
        if rate is None and depth == 0:
            self.notes.append(f"no sample_rate in the file: assuming {DEFAULT_SAMPLE_RATE:.0f} Hz")
        model = Model(net=net, version=version, architecture=arch,
                      sample_rate=DEFAULT_SAMPLE_RATE if rate is None else rate,
                      sample_rate_assumed=rate is None, metadata=dict(metadata or {}), source=self.source,
                      notes=tuple(self.notes) if depth == 0 else (), raw=obj)
        if arch != "SlimmableContainer":  # (each submodel is checked on its own)
            self.check_limits(model, path)
        return model

    def check_limits(self, model: Model, path: str):
        """What a runtime allocates and runs for this model stays within namx's limits."""
        limits, cpath = self.limits, _join(path, "config")
        rf, prewarm = receptive_field(model), prewarm_samples(model)
        if rf is not None and rf > limits.receptive_field:
            self.fail(cpath, limits.exceeded("receptive_field", f"the receptive field is {count(rf)} samples"))
        if prewarm > limits.receptive_field:
            where = _join(path, "sample_rate") if isinstance(model.net, LSTM) else cpath
            self.fail(where, limits.exceeded("receptive_field", f"the prewarm is {count(prewarm)} samples"))
        state = state_size(model)
        if state > limits.state:
            self.fail(cpath, limits.exceeded("state", f"the streaming state is {count(state)} floats"))
        work = work_per_sample(model)
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
            self.fail(path, f"must be a version string MAJOR.MINOR.PATCH (got {_show(value)})")
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
                    self.fail(f"{path}[{i}]", f"must be a number (got {_show(v)})")
        try:
            with np.errstate(over="ignore"):
                arr = np.asarray(value, dtype=np.float64).astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(arr))
        except OverflowError:  # an integer beyond float64; the problem below ends loading (or is recorded)
            arr = np.zeros(len(value), np.float32)
            bad = [next(i for i, v in enumerate(value) if not _finite(v))]
        if len(bad):
            self.problem(f"{path}[{bad[0]}]", f"is not a finite float32 (got {_show(value[bad[0]])})"
                         + (f"; {len(bad) - 1} more weights are not either" if len(bad) > 1 else ""))
        return arr

    # ---- activations --------------------------------------------------------------------
    def activation(self, value: Any, path: str, rows: int | None = None) -> activations.Activation:
        if isinstance(value, str):
            name, params = value, {}
        elif isinstance(value, dict):
            name = self.get(value, "type", path)
            params = {k: v for k, v in value.items() if k != "type"}
        else:
            self.fail(path, f"must be an activation name or object (got {_show(value)})")
        if not isinstance(name, str):
            self.fail(_join(path, "type") if isinstance(value, dict) else path,
                      f"must be an activation name (got {_show(name)})")
        canonical = activations.ALIASES.get(name, name)
        if canonical not in activations.ACTIVATIONS:
            self.fail(path, f"unknown activation {_show(name)} (known: {', '.join(activations.ACTIVATIONS)})")
        kwargs = {}
        for key in activations.ACTIVATIONS[canonical]:
            if key in params:
                kwargs[key] = self.float32(params[key], _join(path, key))
        if canonical in ("Hardtanh", "LeakyHardtanh"):  # (Hardtanh's are ignored, but an inverted range is an error)
            bounds = [self.float32(params.get(k, d), _join(path, k)) for k, d in (("min_val", -1.0), ("max_val", 1.0))]
            if bounds[0] > bounds[1]:
                self.problem(_join(path, "min_val"), f"must not exceed max_val (got {bounds[0]:g} > {bounds[1]:g})")
        if canonical == "PReLU" and "negative_slopes" in params:
            slopes = self.list_(params["negative_slopes"], _join(path, "negative_slopes"))
            slopes = [self.float32(s, f"{path}.negative_slopes[{i}]") for i, s in enumerate(slopes)]
        # PReLU: a scalar negative_slope wins over a per-channel negative_slopes (the core's order)
        if canonical == "PReLU" and "negative_slope" not in params and "negative_slopes" in params:
            kwargs["negative_slopes"] = slopes
            if rows is not None and len(slopes) != rows:
                self.problem(_join(path, "negative_slopes"),
                          f"has {len(slopes)} slopes but is applied to {rows} channels")
        return activations.make(canonical, **kwargs)

    # ---- WaveNet ------------------------------------------------------------------------
    def wavenet(self, c: dict, path: str, w: _Weights, rate: float | None, depth: int) -> WaveNet:
        in_channels = self.int_(c.get("in_channels", 1), _join(path, "in_channels"))
        self.num(self.get(c, "head_scale", path), _join(path, "head_scale"))  # the last weight is what counts
        condition = None
        if c.get("condition_dsp") is not None:
            cpath = _join(path, "condition_dsp")
            condition = self.model(c["condition_dsp"], cpath, depth + 1)
            if condition.architecture == "SlimmableContainer":  # (it has widths; a condition has none)
                self.fail(cpath, "a condition_dsp cannot be a SlimmableContainer")
            inner_rate = c["condition_dsp"].get("sample_rate")
            if inner_rate != rate:
                self.problem(cpath, f"sample rate {_rate(inner_rate)} differs from the model's {_rate(rate)}")
            if condition.in_channels != in_channels:
                self.problem(cpath, f"takes {condition.in_channels} input channels but the model has {in_channels}")
        cond_size = condition.out_channels if condition else in_channels
        cond_what = "condition_dsp outputs" if condition else "the model has input channels"
        layers = self.list_(self.get(c, "layers", path), _join(path, "layers"))
        arrays: list[LayerArray] = []
        for i, lc in enumerate(layers):
            apath = f"{path}.layers[{i}]"
            arrays.append(self.layer_array(self.obj(lc, apath), apath, w, f"arrays[{i}]",
                                           arrays[-1] if arrays else None, in_channels, cond_size, cond_what))
        post_head = None
        if c.get("head") is not None:
            post_head = self.post_head(self.obj(c["head"], _join(path, "head")), _join(path, "head"),
                                       arrays[-1].head_size, w)
        head_scale = float(w.take("head_scale", 1)[0])
        net = WaveNet(tuple(arrays), head_scale, post_head, condition, in_channels)
        if net.slimmable:
            self.check_slimmable(net, path)
        return net

    def layer_array(self, lc: dict, path: str, w: _Weights, name: str, prev: LayerArray | None, in_channels: int,
                    cond_size: int, cond_what: str) -> LayerArray:
        p = lambda key: _join(path, key)  # noqa: E731
        input_size = self.int_(self.get(lc, "input_size", path), p("input_size"))
        condition_size = self.int_(self.get(lc, "condition_size", path), p("condition_size"))
        channels = self.int_(self.get(lc, "channels", path), p("channels"))
        bottleneck = self.int_(lc.get("bottleneck", channels), p("bottleneck"))
        groups_input = self.int_(lc.get("groups_input", 1), p("groups_input"))
        groups_mixin = self.int_(lc.get("groups_input_mixin", 1), p("groups_input_mixin"))
        expected_input = prev.channels if prev else in_channels
        if input_size != expected_input:
            what = "the previous array's channels" if prev else "the model's input channels"
            self.problem(p("input_size"), f"is {input_size} but {what} is {expected_input}")
        if condition_size != cond_size:
            self.problem(p("condition_size"), f"is {condition_size} but {cond_what} {cond_size}")
        if prev and channels != prev.head_size:
            self.problem(p("channels"), f"is {channels} but the previous array's head size is {prev.head_size}")

        # head (rechannel of the accumulated layer outputs); legacy keys are typed even when superseded
        legacy_size = self.int_(lc["head_size"], p("head_size")) if "head_size" in lc else None
        legacy_bias = self.bool_(lc["head_bias"], p("head_bias")) if "head_bias" in lc else None
        if lc.get("head") is not None:
            head = self.obj(lc["head"], p("head"))
            head_size = self.int_(self.get(head, "out_channels", p("head")), p("head.out_channels"))
            head_kernel = self.int_(self.get(head, "kernel_size", p("head")), p("head.kernel_size"))
            head_bias = self.bool_(self.get(head, "bias", p("head")), p("head.bias"))
            head_dilation = self.int_(head.get("head_dilation", 1), p("head.head_dilation"))
        elif legacy_size is not None:
            if legacy_bias is None:
                self.fail(p("head_bias"), "required key is missing")
            head_size, head_bias, head_kernel, head_dilation = legacy_size, legacy_bias, 1, 1
        else:
            self.fail(path, "needs a 'head' object (out_channels, kernel_size, bias) or legacy 'head_size' + 'head_bias'")

        dilations = self.ints(self.get(lc, "dilations", path), p("dilations"))
        n = len(dilations)
        if "kernel_size" in lc and "kernel_sizes" in lc:
            self.fail(path, "give either kernel_size or kernel_sizes, not both")
        if "kernel_sizes" in lc:
            kernels = self.ints(lc["kernel_sizes"], p("kernel_sizes"))
            if len(kernels) != n:
                self.problem(p("kernel_sizes"), f"has {len(kernels)} entries but the array has {n} layers (dilations)")
                kernels = (kernels * n)[:n]
        elif "kernel_size" in lc:
            kernels = [self.int_(lc["kernel_size"], p("kernel_size"))] * n
        else:
            self.fail(path, "needs kernel_size (one for all layers) or kernel_sizes (one per layer)")

        gatings, secondaries = self.gating(lc, path, n)

        layer1x1_active, layer1x1_groups = True, 1
        if "layer1x1" in lc:
            l1 = self.obj(lc["layer1x1"], p("layer1x1"))
            layer1x1_active = self.bool_(self.get(l1, "active", p("layer1x1")), p("layer1x1.active"))
            layer1x1_groups = self.int_(self.get(l1, "groups", p("layer1x1")), p("layer1x1.groups"))
        if not layer1x1_active and bottleneck != channels:
            self.problem(p("bottleneck"), f"must equal channels ({channels}) when layer1x1 is inactive")
        head1x1_active, head1x1_out, head1x1_groups = False, channels, 1
        if "head1x1" in lc:
            h1 = self.obj(lc["head1x1"], p("head1x1"))
            head1x1_active = self.bool_(self.get(h1, "active", p("head1x1")), p("head1x1.active"))
            head1x1_out = self.int_(self.get(h1, "out_channels", p("head1x1")), p("head1x1.out_channels"))
            head1x1_groups = self.int_(self.get(h1, "groups", p("head1x1")), p("head1x1.groups"))
        films = {slot: self.film(lc, slot, path) for slot in FILM_SLOTS}
        films = {k: v for k, v in films.items() if v is not None}
        if "layer1x1_post_film" in films and not layer1x1_active:
            self.problem(p("layer1x1_post_film"), "cannot be active when layer1x1 is inactive")
        if "head1x1_post_film" in films and not head1x1_active:
            self.problem(p("head1x1_post_film"), "cannot be active when head1x1 is inactive")

        allowed = self.slimmable(lc, path, channels)
        head_in = head1x1_out if head1x1_active else bottleneck
        if prev and head_in != prev.head_size:
            self.problem(path, f"layer head outputs have {head_in} channels but the previous array's head "
                            f"passes {prev.head_size}")

        # weights, in the core's order
        self.divisible(input_size, channels, 1, p("input_size"))
        rechannel = w.conv(f"{name}.rechannel", input_size, channels, bias=False)
        layers = []
        acts = self.per_layer(self.get(lc, "activation", path), n, p("activation"))
        for li, (k, d) in enumerate(zip(kernels, dilations)):
            gating, (sec_value, sec_path) = gatings[li], secondaries[li]
            bg = bottleneck * (1 if gating == "none" else 2)
            act_value, act_path = acts[li]
            act = self.activation(act_value, act_path, rows=bottleneck)
            sec = self.activation(sec_value, sec_path, rows=bottleneck) if gating != "none" else None
            self.divisible(channels, bg, groups_input, p("groups_input"))
            self.divisible(condition_size, bg, groups_mixin, p("groups_input_mixin"))
            lname = f"{name}.layers[{li}]"
            conv = w.conv(f"{lname}.conv", channels, bg, k, bias=True, dilation=d, groups=groups_input)
            mixin = w.conv(f"{lname}.input_mixin", condition_size, bg, bias=False, groups=groups_mixin)
            layer1x1 = head1x1 = None
            if layer1x1_active:
                self.divisible(bottleneck, channels, layer1x1_groups, p("layer1x1.groups"))
                layer1x1 = w.conv(f"{lname}.layer1x1", bottleneck, channels, bias=True, groups=layer1x1_groups)
            if head1x1_active:
                self.divisible(bottleneck, head1x1_out, head1x1_groups, p("head1x1.groups"))
                head1x1 = w.conv(f"{lname}.head1x1", bottleneck, head1x1_out, bias=True, groups=head1x1_groups)
            dims = {"conv_pre_film": channels, "conv_post_film": bg, "input_mixin_pre_film": condition_size,
                    "input_mixin_post_film": bg, "activation_pre_film": bg, "activation_post_film": bottleneck,
                    "layer1x1_post_film": channels, "head1x1_post_film": head1x1_out}
            layer_films = {}
            for slot in FILM_SLOTS:
                if slot in films:
                    shift, groups = films[slot]
                    out = dims[slot] * (2 if shift else 1)
                    self.divisible(condition_size, out, groups, p(f"{slot}.groups"))
                    layer_films[slot] = Film(w.conv(f"{lname}.{slot}", condition_size, out, bias=True, groups=groups),
                                             shift)
            layers.append(Layer(conv, mixin, act, gating, sec, layer1x1, head1x1, layer_films))
        head = w.conv(f"{name}.head_rechannel", head_in, head_size, head_kernel, bias=head_bias,
                      dilation=head_dilation)
        return LayerArray(rechannel, tuple(layers), head, allowed)

    def gating(self, lc: dict, path: str, n: int):
        """Per-layer gating modes and secondary activations (with their JSON paths)."""
        p = lambda key: _join(path, key)  # noqa: E731
        sec_raw = lc.get("secondary_activation")
        if "gated" in lc:  # legacy, superseded by gating_mode, but typed either way
            self.bool_(lc["gated"], p("gated"))
        if "gating_mode" in lc:
            modes = []
            for value, mpath in self.per_layer(lc["gating_mode"], n, p("gating_mode")):
                if value not in GATING_MODES:
                    self.fail(mpath, f"must be one of {', '.join(GATING_MODES)} (got {_show(value)})")
                modes.append(value)
            if "secondary_activation" in lc:
                secs = self.per_layer(sec_raw, n, p("secondary_activation"))
            else:
                secs = [("Sigmoid", p("secondary_activation"))] * n
        elif "gated" in lc:
            gated = self.bool_(lc["gated"], p("gated"))
            modes = ["gated" if gated else "none"] * n
            secs = [("Sigmoid", p("gated"))] * n
        else:
            modes, secs = ["none"] * n, [(None, "")] * n
        return modes, secs

    def film(self, lc: dict, slot: str, path: str):
        value = lc.get(slot, False)
        if value is False:
            return None
        fpath = _join(path, slot)
        f = self.obj(value, fpath)
        active = self.bool_(f.get("active", True), _join(fpath, "active"))
        shift = self.bool_(f.get("shift", True), _join(fpath, "shift"))  # the core reads all three
        groups = self.int_(f.get("groups", 1), _join(fpath, "groups"))
        return (shift, groups) if active else None

    def slimmable(self, lc: dict, path: str, channels: int) -> tuple[int, ...] | None:
        s = lc.get("slimmable")
        if s is None:
            return None
        spath = _join(path, "slimmable")
        s = self.obj(s, spath)
        method = s.get("method", "")
        if method != SLIM_METHOD:
            self.fail(_join(spath, "method"), f"unsupported slimming method {_show(method)} (supported: {SLIM_METHOD})")
        kwargs = self.obj(s.get("kwargs", {}), _join(spath, "kwargs"))
        if "allowed_channels" not in kwargs:
            return tuple(range(1, channels + 1))
        apath = _join(spath, "kwargs.allowed_channels")
        allowed = self.ints(kwargs["allowed_channels"], apath)
        if any(b <= a for a, b in zip(allowed, allowed[1:])):
            self.problem(apath, f"must be strictly ascending (got {allowed})")
        if allowed[-1] != channels:
            self.problem(apath, f"must end at the array's channels ({channels}), got {allowed}")
        return tuple(allowed)

    def check_slimmable(self, net: WaveNet, path: str):
        if net.post_head is not None:
            self.problem(_join(path, "head"), "a channel-sliced (slimmable) WaveNet cannot have a post-stack head")
        for i, a in enumerate(net.arrays):
            apath = f"{path}.layers[{i}]"
            if a.head.kernel_size != 1:
                self.problem(_join(apath, "head.kernel_size"), "must be 1 in a channel-sliced (slimmable) WaveNet")
            if any(c.groups != 1 for c in a.convs()):
                self.problem(apath, "groups must all be 1 in a channel-sliced (slimmable) WaveNet")

    def divisible(self, cin: int, cout: int, groups: int, path: str):
        if cin % groups or cout % groups:
            self.problem(path, f"{groups} groups must divide both {cin} input and {cout} output channels")

    def post_head(self, h: dict, path: str, in_channels: int, w: _Weights) -> PostHead:
        if h.get("in_channels") is not None:
            legacy = self.int_(h["in_channels"], _join(path, "in_channels"))
            if legacy != in_channels:
                self.problem(_join(path, "in_channels"), f"is {legacy} but the last array's head size is {in_channels}")
        channels = self.int_(self.get(h, "channels", path), _join(path, "channels"))
        out_channels = self.int_(self.get(h, "out_channels", path), _join(path, "out_channels"))
        kernels = self.ints(self.get(h, "kernel_sizes", path), _join(path, "kernel_sizes"))
        act_value = self.get(h, "activation", path)
        convs, cin = [], in_channels
        for i, k in enumerate(kernels):
            cout = out_channels if i == len(kernels) - 1 else channels
            act = self.activation(act_value, _join(path, "activation"), rows=cin)
            convs.append(w.conv(f"head.convs[{i}]", cin, cout, k, bias=True))
            cin = cout
        return PostHead(tuple(convs), act)

    # ---- the other architectures ----------------------------------------------------------
    def lstm(self, c: dict, path: str, w: _Weights) -> LSTM:
        p = lambda key: _join(path, key)  # noqa: E731
        input_size = self.int_(self.get(c, "input_size", path), p("input_size"))
        hidden = self.int_(self.get(c, "hidden_size", path), p("hidden_size"))
        num_layers = self.int_(self.get(c, "num_layers", path), p("num_layers"))
        in_channels = self.int_(c.get("in_channels", 1), p("in_channels"))
        out_channels = self.int_(c.get("out_channels", 1), p("out_channels"))
        if input_size != in_channels:
            self.problem(p("input_size"), f"is {input_size} but in_channels is {in_channels}")
        cells = []
        for i in range(num_layers):
            cin = input_size if i == 0 else hidden
            cell = f"cells[{i}]"
            w.add_work(4 * hidden * (cin + hidden) + CELL_COST)
            cells.append(LSTMCell(w.take(f"{cell}.weight", 4 * hidden, cin + hidden),
                                  w.take(f"{cell}.bias", 4 * hidden),
                                  w.take(f"{cell}.h0", hidden), w.take(f"{cell}.c0", hidden)))
        return LSTM(tuple(cells), w.take("head.weight", out_channels, hidden), w.take("head.bias", out_channels),
                    in_channels)

    def convnet(self, c: dict, path: str, w: _Weights) -> ConvNet:
        p = lambda key: _join(path, key)  # noqa: E731
        channels = self.int_(self.get(c, "channels", path), p("channels"))
        dilations = self.ints(self.get(c, "dilations", path), p("dilations"))
        batchnorm = self.bool_(self.get(c, "batchnorm", path), p("batchnorm"))
        act = self.activation(self.get(c, "activation", path), p("activation"), rows=channels)
        groups = self.int_(c.get("groups", 1), p("groups"))
        in_channels = self.int_(c.get("in_channels", 1), p("in_channels"))
        out_channels = self.int_(c.get("out_channels", 1), p("out_channels"))
        blocks, norms = [], []
        for i, d in enumerate(dilations):
            cin = in_channels if i == 0 else channels
            self.divisible(cin, channels, groups, p("groups"))
            blocks.append(w.conv(f"blocks[{i}].conv", cin, channels, 2, bias=not batchnorm, dilation=d, groups=groups))
            if batchnorm:
                bn = f"blocks[{i}].batchnorm"
                norms.append(BatchNorm(*(w.take(f"{bn}.{part}", channels)
                                         for part in ("running_mean", "running_var", "weight", "bias")),
                                       float(w.take(f"{bn}.eps", 1)[0])))
        return ConvNet(tuple(blocks), tuple(norms) if batchnorm else None, act,
                       w.take("head.weight", out_channels, channels), w.take("head.bias", out_channels), in_channels)

    def linear(self, c: dict, path: str, w: _Weights) -> Linear:
        p = lambda key: _join(path, key)  # noqa: E731
        rf = self.int_(self.get(c, "receptive_field", path), p("receptive_field"))
        bias = self.bool_(self.get(c, "bias", path), p("bias"))
        impl = c.get("implementation", "auto")
        if impl not in ("auto", "direct", "fft"):
            self.fail(p("implementation"), f"must be auto, direct or fft (got {_show(impl)})")
        in_channels = self.int_(c.get("in_channels", 1), p("in_channels"))
        out_channels = self.int_(c.get("out_channels", 1), p("out_channels"))
        taps = w.take("taps", rf)
        return Linear(taps, float(w.take("bias", 1)[0]) if bias else None, in_channels, out_channels)

    def container(self, c: dict, path: str, rate: float | None, depth: int) -> Container:
        spath = _join(path, "submodels")
        entries = self.list_(self.get(c, "submodels", path), spath)
        if len(entries) > self.limits.widths:
            self.fail(spath, self.limits.exceeded("widths", f"the container offers {count(len(entries))} widths"))
        subs = []
        for i, e in enumerate(entries):
            epath = f"{spath}[{i}]"
            e = self.obj(e, epath)
            max_value = self.num(self.get(e, "max_value", epath), _join(epath, "max_value"))
            if max_value < 0:
                self.problem(_join(epath, "max_value"), f"must be >= 0, a slim value (got {_show(max_value)})")
            if subs and max_value <= subs[-1][0]:
                self.problem(_join(epath, "max_value"), f"must be greater than the previous max_value {subs[-1][0]}")
            sub = self.model(self.get(e, "model", epath), _join(epath, "model"), depth + 1)
            inner_rate = e["model"].get("sample_rate")
            if rate is not None and inner_rate is not None and inner_rate != rate:
                self.problem(_join(epath, "model.sample_rate"),
                             f"is {_rate(inner_rate)} but the container's is {_rate(rate)}")
            if sub.in_channels != 1 or sub.out_channels != 1:
                self.problem(_join(epath, "model"), "a container submodel must have one input and one output channel")
            subs.append((max_value, sub))
        if subs[-1][0] < 1.0:
            self.problem(f"{spath}[{len(subs) - 1}].max_value", f"the last max_value must be >= 1 (got {subs[-1][0]})")
        return Container(tuple(subs))


def work_exceeded(limits: Limits, per_second: float) -> str:
    return limits.exceeded("work_per_second", f"one second of audio takes {count(int(per_second))} work "
                                              "(multiply-adds and per-operation costs)")


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _rate(rate) -> str:
    return "unknown" if rate is None else f"{rate:g} Hz"


def _show(value: Any) -> str:
    try:
        text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    except ValueError:  # an integer too long to print (Python's 4300-digit limit)
        text = f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
