"""WaveNet: its IR, parse, write, sizes and slicing (a channel-sliced WaveNet offers widths).

The IR: `WaveNet` holds layer arrays (`LayerArray`: a 1x1 rechannel, `Layer`s, a head-rechannel
conv), an optional post-stack head and an optional condition_dsp (a complete nested model).
Slicing (`slice_net`) is the one place a WaveNet's weights are cut to a width (spec §6.3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from ..activations import Activation
from .base import CONV_COST, Architecture, Sizes, Slimming, Span
from .conv import Conv
from .reading import Reader, Weights, join, rate_text, show

if TYPE_CHECKING:  # (annotations only)
    from ..model import Model
    from ..widths import WidthLevel

GATING_MODES = ("none", "gated", "blended")
SLIM_METHOD = "slice_channels_uniform"

# The eight FiLM slots of a WaveNet layer, in the order the core consumes their weights.
FILM_SLOTS = (
    "conv_pre_film",
    "conv_post_film",
    "input_mixin_pre_film",
    "input_mixin_post_film",
    "activation_pre_film",
    "activation_post_film",
    "layer1x1_post_film",
    "head1x1_post_film",
)


def film_dims(channels: int, bottleneck: int, gating: str, condition_size: int,
              head1x1_out: int | None) -> dict[str, int | None]:
    """The channels each FiLM slot modulates (its conv has that many rows, twice with shift)."""
    bg = gated_rows(bottleneck, gating)
    return {"conv_pre_film": channels, "conv_post_film": bg, "input_mixin_pre_film": condition_size,
            "input_mixin_post_film": bg, "activation_pre_film": bg, "activation_post_film": bottleneck,
            "layer1x1_post_film": channels, "head1x1_post_film": head1x1_out}


def gated_rows(bottleneck: int, gating: str) -> int:
    """Rows of a layer's dilated conv: gated/blended stack [primary; gate]."""
    return bottleneck * (1 if gating == "none" else 2)


@dataclass(frozen=True, eq=False)
class Film:
    """Feature-wise linear modulation: [scale; shift] = conv(condition); out = x*scale (+ shift)."""

    conv: Conv
    shift: bool

    @property
    def dim(self) -> int:
        return self.conv.out_channels // (2 if self.shift else 1)


@dataclass(frozen=True, eq=False)
class Layer:
    """One WaveNet layer: dilated conv + input mixin -> activation (gated/blended) -> 1x1s."""

    conv: Conv
    mixin: Conv
    activation: Activation
    gating: str = "none"
    secondary: Activation | None = None
    layer1x1: Conv | None = None
    head1x1: Conv | None = None
    films: dict[str, Film] = field(default_factory=dict)

    @property
    def bottleneck(self) -> int:
        return self.conv.out_channels // gated_rows(1, self.gating)

    @property
    def head_out(self) -> int:
        """Rows this layer adds to its array's head accumulator."""
        return self.head1x1.out_channels if self.head1x1 is not None else self.bottleneck

    def convs(self) -> list[Conv]:
        return [self.conv, self.mixin, *(c for c in (self.layer1x1, self.head1x1) if c is not None),
                *(self.films[s].conv for s in FILM_SLOTS if s in self.films)]


@dataclass(frozen=True, eq=False)
class LayerArray:
    """A stack of layers between a 1x1 rechannel and a causal head-rechannel conv."""

    rechannel: Conv
    layers: tuple[Layer, ...]
    head: Conv
    allowed_channels: tuple[int, ...] | None = None  # set for slimmable (slice_channels_uniform) arrays

    @property
    def channels(self) -> int:
        return self.rechannel.out_channels

    @property
    def input_size(self) -> int:
        return self.rechannel.in_channels

    @property
    def condition_size(self) -> int:
        return self.layers[0].mixin.in_channels

    @property
    def head_size(self) -> int:
        return self.head.out_channels

    def convs(self) -> list[Conv]:
        return [self.rechannel, *(c for layer in self.layers for c in layer.convs()), self.head]


@dataclass(frozen=True, eq=False)
class PostHead:
    """The post-stack head: for each conv, y = conv(activation(y)) (activation first, every time)."""

    convs: tuple[Conv, ...]
    activation: Activation


@dataclass(frozen=True, eq=False)
class WaveNet:
    arrays: tuple[LayerArray, ...]
    head_scale: float
    post_head: PostHead | None = None
    condition: Model | None = None  # condition_dsp: a complete nested model
    in_channels: int = 1

    @property
    def out_channels(self) -> int:
        return self.post_head.convs[-1].out_channels if self.post_head else self.arrays[-1].head_size

    @property
    def slimmable(self) -> bool:
        return any(a.allowed_channels is not None for a in self.arrays)

    def convs(self) -> list[Conv]:
        return [c for a in self.arrays for c in a.convs()] + list(self.post_head.convs if self.post_head else ())


# ---- parse ---------------------------------------------------------------------------------------

def parse(r: Reader, c: dict, path: str, w: Weights, rate: float | None, depth: int) -> WaveNet:
    in_channels = r.int_(c.get("in_channels", 1), join(path, "in_channels"))
    r.num(r.get(c, "head_scale", path), join(path, "head_scale"))  # the last weight is what counts
    condition = _condition(r, c, path, rate, depth, in_channels)
    cond = (condition.out_channels, "condition_dsp outputs") if condition else (in_channels, "the model has input channels")
    layers = r.list_(r.get(c, "layers", path), join(path, "layers"))
    arrays: list[LayerArray] = []
    for i, lc in enumerate(layers):
        apath = f"{path}.layers[{i}]"
        arrays.append(_array(r, r.obj(lc, apath), apath, w, f"arrays[{i}]", arrays[-1] if arrays else None,
                             in_channels, cond))
    post_head = None
    if c.get("head") is not None:
        post_head = _post_head(r, r.obj(c["head"], join(path, "head")), join(path, "head"), arrays[-1].head_size, w)
    head_scale = float(w.take("head_scale", 1)[0])
    net = WaveNet(tuple(arrays), head_scale, post_head, condition, in_channels)
    if net.slimmable:
        _check_slimmable(r, net, path)
    return net


def _condition(r: Reader, c: dict, path: str, rate: float | None, depth: int, in_channels: int) -> Model | None:
    if c.get("condition_dsp") is None:
        return None
    cpath = join(path, "condition_dsp")
    condition = r.model(c["condition_dsp"], cpath, depth + 1)
    if condition.architecture == "SlimmableContainer":  # (it has widths; a condition has none)
        r.fail(cpath, "a condition_dsp cannot be a SlimmableContainer")
    inner_rate = c["condition_dsp"].get("sample_rate")
    if inner_rate != rate:
        r.problem(cpath, f"sample rate {rate_text(inner_rate)} differs from the model's {rate_text(rate)}")
    if condition.in_channels != in_channels:
        r.problem(cpath, f"takes {condition.in_channels} input channels but the model has {in_channels}")
    return condition


class _Head(NamedTuple):
    out_channels: int
    kernel_size: int
    bias: bool
    dilation: int


class _OneByOne(NamedTuple):
    """A layer's layer1x1 or head1x1 as the config gives it."""

    active: bool
    out_channels: int
    groups: int


@dataclass(frozen=True)
class _ArrayConfig:
    """One layer array's config, read and checked before any of its weights is taken."""

    input_size: int
    condition_size: int
    channels: int
    bottleneck: int
    groups_input: int
    groups_mixin: int
    head: _Head
    dilations: list[int]
    kernels: list[int]
    gatings: list[str]
    secondaries: list[tuple[Any, str]]  # (value, JSON path) per layer
    layer1x1: _OneByOne
    head1x1: _OneByOne
    films: dict[str, tuple[bool, int]]  # active slot -> (shift, groups), in FILM_SLOTS order
    allowed: tuple[int, ...] | None

    @property
    def head_in(self) -> int:
        return self.head1x1.out_channels if self.head1x1.active else self.bottleneck


def _array(r: Reader, lc: dict, path: str, w: Weights, name: str, prev: LayerArray | None, in_channels: int,
           cond: tuple[int, str]) -> LayerArray:
    """One layer array: its config, then its weights in the core's order."""
    a = _array_config(r, lc, path, prev, in_channels, cond)
    rechannel = w.conv(f"{name}.rechannel", a.input_size, a.channels, bias=False)
    acts = r.per_layer(r.get(lc, "activation", path), len(a.dilations), join(path, "activation"))
    layers = tuple(_layer(r, a, li, act, path, w, f"{name}.layers[{li}]") for li, act in enumerate(acts))
    head = w.conv(f"{name}.head_rechannel", a.head_in, a.head.out_channels, a.head.kernel_size, bias=a.head.bias,
                  dilation=a.head.dilation)
    return LayerArray(rechannel, layers, head, a.allowed)


def _array_config(r: Reader, lc: dict, path: str, prev: LayerArray | None, in_channels: int,
                  cond: tuple[int, str]) -> _ArrayConfig:
    p = lambda key: join(path, key)  # noqa: E731
    input_size = r.int_(r.get(lc, "input_size", path), p("input_size"))
    condition_size = r.int_(r.get(lc, "condition_size", path), p("condition_size"))
    channels = r.int_(r.get(lc, "channels", path), p("channels"))
    bottleneck = r.int_(lc.get("bottleneck", channels), p("bottleneck"))
    groups_input = r.int_(lc.get("groups_input", 1), p("groups_input"))
    groups_mixin = r.int_(lc.get("groups_input_mixin", 1), p("groups_input_mixin"))
    _check_chain(r, path, prev, in_channels, cond, input_size, condition_size, channels)
    head = _array_head(r, lc, path)
    dilations = r.ints(r.get(lc, "dilations", path), p("dilations"))
    kernels = _kernels(r, lc, path, len(dilations))
    gatings, secondaries = _gating(r, lc, path, len(dilations))
    layer1x1 = _layer1x1(r, lc, path, channels)
    if not layer1x1.active and bottleneck != channels:
        r.problem(p("bottleneck"), f"must equal channels ({channels}) when layer1x1 is inactive")
    head1x1 = _head1x1(r, lc, path, channels)
    films = _films(r, lc, path, layer1x1.active, head1x1.active)
    allowed = _slimmable(r, lc, path, channels)
    a = _ArrayConfig(input_size, condition_size, channels, bottleneck, groups_input, groups_mixin, head,
                     dilations, kernels, gatings, secondaries, layer1x1, head1x1, films, allowed)
    if prev and a.head_in != prev.head_size:
        r.problem(path, f"layer head outputs have {a.head_in} channels but the previous array's head "
                        f"passes {prev.head_size}")
    return a


def _check_chain(r: Reader, path: str, prev: LayerArray | None, in_channels: int, cond: tuple[int, str],
                 input_size: int, condition_size: int, channels: int):
    """An array's sizes agree with what feeds it: the previous array (or the input) and the condition."""
    expected_input = prev.channels if prev else in_channels
    if input_size != expected_input:
        what = "the previous array's channels" if prev else "the model's input channels"
        r.problem(join(path, "input_size"), f"is {input_size} but {what} is {expected_input}")
    if condition_size != cond[0]:
        r.problem(join(path, "condition_size"), f"is {condition_size} but {cond[1]} {cond[0]}")
    if prev and channels != prev.head_size:
        r.problem(join(path, "channels"), f"is {channels} but the previous array's head size is {prev.head_size}")


def _array_head(r: Reader, lc: dict, path: str) -> _Head:
    """The head rechannel of the accumulated layer outputs: (out_channels, kernel_size, bias, dilation).
    Legacy keys are typed even when superseded."""
    p = lambda key: join(path, key)  # noqa: E731
    legacy_size = r.int_(lc["head_size"], p("head_size")) if "head_size" in lc else None
    legacy_bias = r.bool_(lc["head_bias"], p("head_bias")) if "head_bias" in lc else None
    if lc.get("head") is not None:
        head = r.obj(lc["head"], p("head"))
        return _Head(r.int_(r.get(head, "out_channels", p("head")), p("head.out_channels")),
                     r.int_(r.get(head, "kernel_size", p("head")), p("head.kernel_size")),
                     r.bool_(r.get(head, "bias", p("head")), p("head.bias")),
                     r.int_(head.get("head_dilation", 1), p("head.head_dilation")))
    if legacy_size is not None:
        if legacy_bias is None:
            r.fail(p("head_bias"), "required key is missing")
        return _Head(legacy_size, 1, legacy_bias, 1)
    r.fail(path, "needs a 'head' object (out_channels, kernel_size, bias) or legacy 'head_size' + 'head_bias'")


def _kernels(r: Reader, lc: dict, path: str, n: int) -> list[int]:
    if "kernel_size" in lc and "kernel_sizes" in lc:
        r.fail(path, "give either kernel_size or kernel_sizes, not both")
    if "kernel_sizes" in lc:
        kernels = r.ints(lc["kernel_sizes"], join(path, "kernel_sizes"))
        if len(kernels) != n:
            r.problem(join(path, "kernel_sizes"), f"has {len(kernels)} entries but the array has {n} layers (dilations)")
            kernels = (kernels * n)[:n]
        return kernels
    if "kernel_size" in lc:
        return [r.int_(lc["kernel_size"], join(path, "kernel_size"))] * n
    r.fail(path, "needs kernel_size (one for all layers) or kernel_sizes (one per layer)")


def _gating(r: Reader, lc: dict, path: str, n: int):
    """Per-layer gating modes and secondary activations (with their JSON paths)."""
    p = lambda key: join(path, key)  # noqa: E731
    sec_raw = lc.get("secondary_activation")
    if "gated" in lc:  # legacy, superseded by gating_mode, but typed either way
        r.bool_(lc["gated"], p("gated"))
    if "gating_mode" in lc:
        modes = []
        for value, mpath in r.per_layer(lc["gating_mode"], n, p("gating_mode")):
            if value not in GATING_MODES:
                r.fail(mpath, f"must be one of {', '.join(GATING_MODES)} (got {show(value)})")
            modes.append(value)
        if "secondary_activation" in lc:
            secs = r.per_layer(sec_raw, n, p("secondary_activation"))
        else:
            secs = [("Sigmoid", p("secondary_activation"))] * n
    elif "gated" in lc:
        gated = r.bool_(lc["gated"], p("gated"))
        modes = ["gated" if gated else "none"] * n
        secs = [("Sigmoid", p("gated"))] * n
    else:
        modes, secs = ["none"] * n, [(None, "")] * n
    return modes, secs


def _layer1x1(r: Reader, lc: dict, path: str, channels: int) -> _OneByOne:
    if "layer1x1" not in lc:
        return _OneByOne(True, channels, 1)
    p = join(path, "layer1x1")
    l1 = r.obj(lc["layer1x1"], p)
    return _OneByOne(r.bool_(r.get(l1, "active", p), join(p, "active")), channels,
                     r.int_(r.get(l1, "groups", p), join(p, "groups")))


def _head1x1(r: Reader, lc: dict, path: str, channels: int) -> _OneByOne:
    if "head1x1" not in lc:
        return _OneByOne(False, channels, 1)
    p = join(path, "head1x1")
    h1 = r.obj(lc["head1x1"], p)
    return _OneByOne(r.bool_(r.get(h1, "active", p), join(p, "active")),
                     r.int_(r.get(h1, "out_channels", p), join(p, "out_channels")),
                     r.int_(r.get(h1, "groups", p), join(p, "groups")))


def _films(r: Reader, lc: dict, path: str, layer1x1_active: bool, head1x1_active: bool) -> dict[str, tuple[bool, int]]:
    films = {slot: _film(r, lc, slot, path) for slot in FILM_SLOTS}
    films = {k: v for k, v in films.items() if v is not None}
    if "layer1x1_post_film" in films and not layer1x1_active:
        r.problem(join(path, "layer1x1_post_film"), "cannot be active when layer1x1 is inactive")
    if "head1x1_post_film" in films and not head1x1_active:
        r.problem(join(path, "head1x1_post_film"), "cannot be active when head1x1 is inactive")
    return films


def _film(r: Reader, lc: dict, slot: str, path: str) -> tuple[bool, int] | None:
    value = lc.get(slot, False)
    if value is False:
        return None
    fpath = join(path, slot)
    f = r.obj(value, fpath)
    active = r.bool_(f.get("active", True), join(fpath, "active"))
    shift = r.bool_(f.get("shift", True), join(fpath, "shift"))  # the core reads all three
    groups = r.int_(f.get("groups", 1), join(fpath, "groups"))
    return (shift, groups) if active else None


def _slimmable(r: Reader, lc: dict, path: str, channels: int) -> tuple[int, ...] | None:
    s = lc.get("slimmable")
    if s is None:
        return None
    spath = join(path, "slimmable")
    s = r.obj(s, spath)
    method = s.get("method", "")
    if method != SLIM_METHOD:
        r.fail(join(spath, "method"), f"unsupported slimming method {show(method)} (supported: {SLIM_METHOD})")
    kwargs = r.obj(s.get("kwargs", {}), join(spath, "kwargs"))
    if "allowed_channels" not in kwargs:
        return tuple(range(1, channels + 1))
    apath = join(spath, "kwargs.allowed_channels")
    allowed = r.ints(kwargs["allowed_channels"], apath)
    if any(b <= a for a, b in zip(allowed, allowed[1:])):
        r.problem(apath, f"must be strictly ascending (got {allowed})")
    if allowed[-1] != channels:
        r.problem(apath, f"must end at the array's channels ({channels}), got {allowed}")
    return tuple(allowed)


def _layer(r: Reader, a: _ArrayConfig, li: int, act: tuple[Any, str], path: str, w: Weights, name: str) -> Layer:
    """One layer's activations and weights, in the core's order."""
    p = lambda key: join(path, key)  # noqa: E731
    gating, (sec_value, sec_path) = a.gatings[li], a.secondaries[li]
    b = a.bottleneck
    bg = gated_rows(b, gating)
    activation = r.activation(*act, rows=b)
    secondary = r.activation(sec_value, sec_path, rows=b) if gating != "none" else None
    r.divisible(a.channels, bg, a.groups_input, p("groups_input"))
    r.divisible(a.condition_size, bg, a.groups_mixin, p("groups_input_mixin"))
    conv = w.conv(f"{name}.conv", a.channels, bg, a.kernels[li], bias=True, dilation=a.dilations[li],
                  groups=a.groups_input)
    mixin = w.conv(f"{name}.input_mixin", a.condition_size, bg, bias=False, groups=a.groups_mixin)
    layer1x1 = _one_by_one(r, w, f"{name}.layer1x1", b, a.layer1x1, p("layer1x1.groups"))
    head1x1 = _one_by_one(r, w, f"{name}.head1x1", b, a.head1x1, p("head1x1.groups"))
    dims = film_dims(a.channels, b, gating, a.condition_size, a.head1x1.out_channels)
    films = {}
    for slot, (shift, groups) in a.films.items():
        out = dims[slot] * (2 if shift else 1)
        r.divisible(a.condition_size, out, groups, p(f"{slot}.groups"))
        films[slot] = Film(w.conv(f"{name}.{slot}", a.condition_size, out, bias=True, groups=groups), shift)
    return Layer(conv, mixin, activation, gating, secondary, layer1x1, head1x1, films)


def _one_by_one(r: Reader, w: Weights, name: str, bottleneck: int, one: _OneByOne, groups_path: str) -> Conv | None:
    """A layer's layer1x1 or head1x1 (from the bottleneck), if it is active."""
    if not one.active:
        return None
    r.divisible(bottleneck, one.out_channels, one.groups, groups_path)
    return w.conv(name, bottleneck, one.out_channels, bias=True, groups=one.groups)


def _post_head(r: Reader, h: dict, path: str, in_channels: int, w: Weights) -> PostHead:
    if h.get("in_channels") is not None:
        legacy = r.int_(h["in_channels"], join(path, "in_channels"))
        if legacy != in_channels:
            r.problem(join(path, "in_channels"), f"is {legacy} but the last array's head size is {in_channels}")
    channels = r.int_(r.get(h, "channels", path), join(path, "channels"))
    out_channels = r.int_(r.get(h, "out_channels", path), join(path, "out_channels"))
    kernels = r.ints(r.get(h, "kernel_sizes", path), join(path, "kernel_sizes"))
    act_value = r.get(h, "activation", path)
    convs, cin = [], in_channels
    for i, k in enumerate(kernels):
        cout = out_channels if i == len(kernels) - 1 else channels
        act = r.activation(act_value, join(path, "activation"), rows=cin)
        convs.append(w.conv(f"head.convs[{i}]", cin, cout, k, bias=True))
        cin = cout
    return PostHead(tuple(convs), act)


def _check_slimmable(r: Reader, net: WaveNet, path: str):
    if net.post_head is not None:
        r.problem(join(path, "head"), "a channel-sliced (slimmable) WaveNet cannot have a post-stack head")
    for i, a in enumerate(net.arrays):
        apath = f"{path}.layers[{i}]"
        if a.head.kernel_size != 1:
            r.problem(join(apath, "head.kernel_size"), "must be 1 in a channel-sliced (slimmable) WaveNet")
        if any(c.groups != 1 for c in a.convs()):
            r.problem(apath, "groups must all be 1 in a channel-sliced (slimmable) WaveNet")


# ---- write ---------------------------------------------------------------------------------------

def write(net: WaveNet, to_json: Callable[[Model], dict]) -> tuple[dict, list[float]]:
    config = {"layers": [_array_json(a) for a in net.arrays], "head": None,
              "head_scale": float(np.float32(net.head_scale))}
    if net.post_head is not None:
        convs = net.post_head.convs
        config["head"] = {"channels": convs[0].out_channels if len(convs) > 1 else convs[-1].out_channels,
                          "out_channels": convs[-1].out_channels, "kernel_sizes": [c.kernel_size for c in convs],
                          "activation": net.post_head.activation.to_json()}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.condition is not None:
        config["condition_dsp"] = to_json(net.condition)
    weights = [w for c in net.convs() for w in c.to_floats()] + [float(np.float32(net.head_scale))]
    return config, weights


def _one_or_list(values: list):
    return values[0] if all(v == values[0] for v in values) else values


def _array_json(a: LayerArray) -> dict:
    first = a.layers[0]
    cfg = {"input_size": a.input_size, "condition_size": a.condition_size, "channels": a.channels,
           "bottleneck": first.bottleneck,
           "dilations": [layer.conv.dilation for layer in a.layers]}
    kernels = [layer.conv.kernel_size for layer in a.layers]
    if len(set(kernels)) == 1:
        cfg["kernel_size"] = kernels[0]
    else:
        cfg["kernel_sizes"] = kernels
    cfg["activation"] = _one_or_list([layer.activation.to_json() for layer in a.layers])
    gatings = [layer.gating for layer in a.layers]
    if any(g != "none" for g in gatings):
        cfg["gating_mode"] = _one_or_list(gatings)
        cfg["secondary_activation"] = _one_or_list(
            [None if layer.secondary is None else layer.secondary.to_json() for layer in a.layers])
    if first.conv.groups != 1:
        cfg["groups_input"] = first.conv.groups
    if first.mixin.groups != 1:
        cfg["groups_input_mixin"] = first.mixin.groups
    cfg["layer1x1"] = {"active": first.layer1x1 is not None,
                       "groups": first.layer1x1.groups if first.layer1x1 is not None else 1}
    h1 = first.head1x1
    # (out_channels is unused when inactive; NAM's trainer writes its default, 1)
    cfg["head1x1"] = {"active": h1 is not None, "out_channels": h1.out_channels if h1 is not None else 1,
                      "groups": h1.groups if h1 is not None else 1}
    for slot in FILM_SLOTS:
        if slot in first.films:
            film = first.films[slot]
            cfg[slot] = {"active": True, "shift": film.shift, "groups": film.conv.groups}
    head = {"out_channels": a.head_size, "kernel_size": a.head.kernel_size, "bias": a.head.bias is not None}
    if a.head.dilation != 1:
        head["head_dilation"] = a.head.dilation
    cfg["head"] = head
    if a.allowed_channels is not None:
        cfg["slimmable"] = {"method": SLIM_METHOD, "kwargs": {"allowed_channels": list(a.allowed_channels)}}
    return cfg


# ---- sizes ---------------------------------------------------------------------------------------

# What no condition_dsp adds: the sizes of a wire (the input passed on as the condition).
_NO_CONDITION = Sizes(receptive_field=1, prewarm=1, state=0, weights=0, macs=0, work=0)


def sizes(net: WaveNet, sample_rate: float, nested: Callable[[Model], Sizes]) -> Sizes:
    """Prewarm: (condition_dsp's count, or 1) + every conv's lookback; the rest add up."""
    cond = nested(net.condition) if net.condition else _NO_CONDITION
    convs = net.convs()
    lookback = (sum(layer.conv.history for a in net.arrays for layer in a.layers)
                + sum(a.head.history for a in net.arrays)
                + (sum(c.history for c in net.post_head.convs) if net.post_head else 0))
    return Sizes(
        receptive_field=None if cond.receptive_field is None else cond.receptive_field + lookback,
        prewarm=cond.prewarm + lookback,
        state=sum(c.in_channels * c.history for c in convs) + cond.state,
        weights=sum(c.num_weights for c in convs) + 1 + cond.weights,  # (+1: head_scale)
        macs=sum(c.macs for c in convs) + cond.macs,
        work=sum(c.macs + CONV_COST for c in convs) + cond.work,
    )


# ---- widths: slicing a channel-sliced WaveNet ------------------------------------------------------

def _breakpoints(net: WaveNet) -> set[float]:
    """The slim values inside (0, 1) where a channel-sliced WaveNet changes level."""
    return {i / len(a.allowed_channels) for a in net.arrays if a.allowed_channels
            for i in range(1, len(a.allowed_channels))}


def _spans(net: WaveNet) -> list[Span]:
    """With n allowed channel counts, level i serves [i/n, (i+1)/n); arrays with different n split
    at every breakpoint. A level is labelled by the first sliced array's channels."""
    bounds = [0.0, *sorted(_breakpoints(net)), 1.0]
    first = next(i for i, a in enumerate(net.arrays) if a.allowed_channels)
    spans = []
    for lo, hi in zip(bounds, bounds[1:]):
        channels = tuple(sliced_channels(net, (lo + hi) / 2))
        spans.append(Span(lo, hi, channels, str(channels[first])))
    return spans


def sliced_channels(net: WaveNet, v: float) -> list[int]:
    """Channels per array for slim value v: allowed[min(floor(v*n), n-1)] (core: ratio_to_channels)."""
    out = []
    for a in net.arrays:
        allowed = a.allowed_channels
        out.append(allowed[min(math.floor(v * len(allowed)), len(allowed) - 1)] if allowed else a.channels)
    return out


def _at(model: Model, level: WidthLevel) -> Model:
    return replace(model, net=slice_net(model.net, sliced_channels(model.net, level.slim)))


def slice_net(net: WaveNet, channels: list[int]) -> WaveNet:
    """Take the leading rows/columns of every tensor, exactly as the core's slimmable WaveNet does.

    Gated/blended convs keep the first 2B' rows of the full [primary; gate] stack, and FiLMs the
    first (2 if shift else 1)*D' rows of [scale; shift]: not B' (D') rows from each half.
    """
    arrays = []
    for i, a in enumerate(net.arrays):
        last = i == len(net.arrays) - 1
        c = channels[i]
        cin = a.input_size if i == 0 else channels[i - 1]
        head_size = a.head_size if last else channels[i + 1]
        b = max(1, a.layers[0].bottleneck * c // a.channels) if a.layers[0].layer1x1 is not None else c
        layers = tuple(_slice_layer(layer, c, b) for layer in a.layers)
        head_in = a.layers[0].head1x1.out_channels if a.layers[0].head1x1 is not None else b
        arrays.append(LayerArray(
            rechannel=a.rechannel.sliced(c, cin),
            layers=layers,
            head=a.head.sliced(head_size, head_in, keep_bias=last),
            allowed_channels=None,
        ))
    return replace(net, arrays=tuple(arrays))


def _slice_layer(layer: Layer, c: int, b: int) -> Layer:
    """A layer at c channels and bottleneck b (the condition's and head1x1's sizes do not change)."""
    bg = gated_rows(b, layer.gating)
    h1 = layer.head1x1
    dims = film_dims(c, b, layer.gating, layer.mixin.in_channels, None if h1 is None else h1.out_channels)
    films = {slot: Film(f.conv.sliced((2 if f.shift else 1) * dims[slot], f.conv.in_channels), f.shift)
             for slot, f in layer.films.items()}
    return Layer(
        conv=layer.conv.sliced(bg, c),
        mixin=layer.mixin.sliced(bg, layer.mixin.in_channels),
        activation=_slice_activation(layer.activation, b),
        gating=layer.gating,
        secondary=None if layer.secondary is None else _slice_activation(layer.secondary, b),
        layer1x1=None if layer.layer1x1 is None else layer.layer1x1.sliced(c, b),
        head1x1=None if h1 is None else h1.sliced(h1.out_channels, b),
        films=films,
    )


def _slice_activation(act: Activation, rows: int) -> Activation:
    """PReLU's per-channel slopes follow the rows they apply to."""
    return replace(act, slopes=act.slopes[:rows]) if act.slopes else act


ARCH = Architecture(
    name="WaveNet", net=WaveNet, parse=parse, write=write, sizes=sizes,
    channels=lambda net: tuple(a.channels for a in net.arrays),
    slimming=Slimming(slimmable=lambda net: net.slimmable, count=lambda net: len(_breakpoints(net)) + 1,
                      spans=_spans, at=_at),
)
