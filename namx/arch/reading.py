"""Reading a .nam config: typed access with one-line errors, and the flat weights in order.

Every architecture's parser reads through a `Reader` (the loader's parser is one, adding the
file-level rules and `model()` for nested models) and takes its tensors from `Weights`.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import activations
from ..errors import ModelError
from ..limits import Limits, count
from ..limits import current as current_limits
from .base import CONV_COST
from .conv import Conv


@dataclass(frozen=True)
class Tensor:
    """One named tensor in a model's flat `weights`: `size` floats from `offset`, read as `shape`."""

    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Weights:
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


class Reader:
    """Typed access to a parsed .nam object: each value checked, each problem a ModelError naming
    the file and the JSON path. With `collect`, rules between readable values are recorded and
    reading goes on; a value that cannot be read or used still ends it."""

    def __init__(self, source: str, collect: bool = False, limits: Limits | None = None):
        self.source, self.collect = source, collect
        self.limits = limits or current_limits()
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

    def get(self, obj: dict, key: str, path: str, default: Any = ...):
        if key in obj:
            return obj[key]
        if default is ...:
            self.fail(join(path, key), "required key is missing")
        return default

    def int_(self, value: Any, path: str, minimum: int = 1) -> int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())):
            self.fail(path, f"must be an integer (got {show(value)})")
        if value < minimum:
            self.fail(path, f"must be an integer >= {minimum} (got {show(value)})")
        if value > 2**31 - 1:
            self.fail(path, f"is too large (got {show(value)})")
        return int(value)

    def num(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value):
            self.fail(path, f"must be a finite number (got {show(value)})")
        return float(value)

    def float32(self, value: Any, path: str) -> float:
        """A number the core stores as a float: it must stay finite in float32."""
        number = self.num(value, path)
        with np.errstate(over="ignore"):
            if not np.isfinite(np.float32(number)):
                self.problem(path, f"is not a finite float32 (got {show(value)})")
                return 0.0
        return number

    def bool_(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false (got {show(value)})")
        return value

    def obj(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object (got {show(value)})")
        return value

    def list_(self, value: Any, path: str, nonempty: bool = True) -> list:
        if not isinstance(value, list):
            self.fail(path, f"must be a list (got {show(value)})")
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

    def divisible(self, cin: int, cout: int, groups: int, path: str):
        if cin % groups or cout % groups:
            self.problem(path, f"{groups} groups must divide both {cin} input and {cout} output channels")

    def activation(self, value: Any, path: str, rows: int | None = None) -> activations.Activation:
        if isinstance(value, str):
            name, params = value, {}
        elif isinstance(value, dict):
            name = self.get(value, "type", path)
            params = {k: v for k, v in value.items() if k != "type"}
        else:
            self.fail(path, f"must be an activation name or object (got {show(value)})")
        if not isinstance(name, str):
            self.fail(join(path, "type") if isinstance(value, dict) else path,
                      f"must be an activation name (got {show(name)})")
        canonical = activations.ALIASES.get(name, name)
        if canonical not in activations.ACTIVATIONS:
            self.fail(path, f"unknown activation {show(name)} (known: {', '.join(activations.ACTIVATIONS)})")
        kwargs = {}
        for key in activations.ACTIVATIONS[canonical]:
            if key in params:
                kwargs[key] = self.float32(params[key], join(path, key))
        if canonical in ("Hardtanh", "LeakyHardtanh"):  # (Hardtanh's are ignored, but an inverted range is an error)
            bounds = [self.float32(params.get(k, d), join(path, k)) for k, d in (("min_val", -1.0), ("max_val", 1.0))]
            if bounds[0] > bounds[1]:
                self.problem(join(path, "min_val"), f"must not exceed max_val (got {bounds[0]:g} > {bounds[1]:g})")
        if canonical == "PReLU" and "negative_slopes" in params:
            slopes = self.list_(params["negative_slopes"], join(path, "negative_slopes"))
            slopes = [self.float32(s, f"{path}.negative_slopes[{i}]") for i, s in enumerate(slopes)]
        # PReLU: a scalar negative_slope wins over a per-channel negative_slopes (the core's order)
        if canonical == "PReLU" and "negative_slope" not in params and "negative_slopes" in params:
            kwargs["negative_slopes"] = slopes
            if rows is not None and len(slopes) != rows:
                self.problem(join(path, "negative_slopes"),
                          f"has {len(slopes)} slopes but is applied to {rows} channels")
        return activations.make(canonical, **kwargs)


def work_exceeded(limits: Limits, per_second: float) -> str:
    return limits.exceeded("work_per_second", f"one second of audio takes {count(int(per_second))} work "
                                              "(multiply-adds and per-operation costs)")


def finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def rate_text(rate) -> str:
    return "unknown" if rate is None else f"{rate:g} Hz"


def show(value: Any) -> str:
    try:
        text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    except ValueError:  # an integer too long to print (Python's 4300-digit limit)
        text = f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return text if len(text) <= 40 else text[:37] + "..."
