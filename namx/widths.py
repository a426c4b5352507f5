"""Widths: the levels a model offers and `at(width)`, the one place weights are sliced.

- SlimmableContainer: one level per submodel; submodel i serves slim values
  [max_value[i-1], max_value[i]) (the first from 0, the last up to and including 1).
- Channel-sliced WaveNet (`slimmable.method = slice_channels_uniform`): with n allowed channel
  counts, level i serves [i/n, (i+1)/n); arrays with different n split at every breakpoint.
- Anything else: one level.

A level's label is its channel count (first layer array's channels; LSTM hidden size; for a
sliced model the first sliced array's count). Where that is not meaningful (Linear) or labels
repeat, every level of the model is labelled `i<index>`; `i<index>` is accepted for any model.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from .errors import WidthError
from .model import LSTM, Container, ConvNet, Film, Layer, LayerArray, Model, WaveNet


@dataclass(frozen=True)
class WidthLevel:
    index: int
    label: str
    slim_lo: float
    slim_hi: float  # exclusive, except that the last level also serves 1.0
    channels: tuple[int, ...]  # per layer array (LSTM: hidden size; Linear: empty)

    @property
    def slim(self) -> float:
        """A slim value strictly inside the level (its midpoint)."""
        return (self.slim_lo + min(self.slim_hi, 1.0)) / 2


def levels(model: Model) -> list[WidthLevel]:
    net = model.net
    if isinstance(net, Container):
        spans, lo = [], 0.0
        for i, (max_value, sub) in enumerate(net.submodels):
            hi = max(max_value, 1.0) if i == len(net.submodels) - 1 else max_value
            spans.append((lo, hi, _channels(sub.at().net)))
            lo = max_value
    elif isinstance(net, WaveNet) and net.slimmable:
        bounds = [0.0, *sorted(_breakpoints(net)), 1.0]
        spans = [(lo, hi, tuple(_sliced_channels(net, (lo + hi) / 2))) for lo, hi in zip(bounds, bounds[1:])]
    else:
        spans = [(0.0, 1.0, _channels(net))]
    labels = [_label(net, ch) for _, _, ch in spans]
    if None in labels or len(set(labels)) != len(labels):
        labels = [f"i{i}" for i in range(len(spans))]
    return [WidthLevel(i, label, lo, hi, ch) for i, ((lo, hi, ch), label) in enumerate(zip(spans, labels))]


def level_count(model: Model) -> int:
    """len(levels(model)), without building the levels."""
    net = model.net
    if isinstance(net, Container):
        return len(net.submodels)
    return len(_breakpoints(net)) + 1 if isinstance(net, WaveNet) and net.slimmable else 1


def _breakpoints(net: WaveNet) -> set[float]:
    """The slim values inside (0, 1) where a channel-sliced WaveNet changes level."""
    return {i / len(a.allowed_channels) for a in net.arrays if a.allowed_channels
            for i in range(1, len(a.allowed_channels))}


def select(model: Model, width=None, *, slim: float | None = None) -> WidthLevel:
    """The level named by `width` (a label, `i<index>`, or an int), by a slim value, or the widest."""
    offered = levels(model)
    if width is not None and slim is not None:
        raise WidthError("give a width or a slim value, not both")
    if slim is not None:
        if not (isinstance(slim, (int, float)) and 0.0 <= slim <= 1.0):
            raise WidthError(f"slim value must be between 0 and 1 (got {slim})")
        return next((lv for lv in offered if slim < lv.slim_hi), offered[-1])
    if width is None:
        return offered[-1]
    text = str(width).strip()
    for lv in offered:
        if text == lv.label:
            return lv
    m = re.fullmatch(r"i(\d{1,9})", text)  # (a longer index is not offered: no model has 10^9 widths)
    if m and int(m.group(1)) < len(offered):
        return offered[int(m.group(1))]
    shown = text if len(text) <= 40 else text[:37] + "..."
    raise WidthError(f"{model.source}: width {shown} is not offered; this model offers "
                     f"{describe(offered)}")


def describe(offered: list[WidthLevel]) -> str:
    return ", ".join(lv.label for lv in offered) if len(offered) > 1 else f"only width {offered[0].label}"


def at(model: Model, width=None, *, slim: float | None = None) -> Model:
    """The plain model that runs at one level: a container's submodel, or sliced weights."""
    level = width if isinstance(width, WidthLevel) else select(model, width, slim=slim)
    net = model.net
    if isinstance(net, Container):
        sub = net.submodels[level.index][1].at()
        rate = model.sample_rate if sub.sample_rate_assumed else sub.sample_rate
        return replace(sub, metadata={**model.metadata, **sub.metadata}, source=model.source, notes=model.notes,
                       sample_rate=rate, sample_rate_assumed=sub.sample_rate_assumed and model.sample_rate_assumed)
    if isinstance(net, WaveNet) and net.slimmable:
        return replace(model, net=_slice(net, _sliced_channels(net, level.slim)))
    return model


def _label(net, channels: tuple[int, ...]) -> str | None:
    if not channels:
        return None
    if isinstance(net, WaveNet) and net.slimmable:
        first = next(i for i, a in enumerate(net.arrays) if a.allowed_channels)
        return str(channels[first])
    return str(channels[0])


def _channels(net) -> tuple[int, ...]:
    if isinstance(net, WaveNet):
        return tuple(a.channels for a in net.arrays)
    if isinstance(net, LSTM):
        return (net.hidden_size,)
    if isinstance(net, ConvNet):
        return (net.channels,)
    return ()  # Linear


def _sliced_channels(net: WaveNet, v: float) -> list[int]:
    """Channels per array for slim value v: allowed[min(floor(v*n), n-1)] (core: ratio_to_channels)."""
    out = []
    for a in net.arrays:
        allowed = a.allowed_channels
        out.append(allowed[min(math.floor(v * len(allowed)), len(allowed) - 1)] if allowed else a.channels)
    return out


def _slice(net: WaveNet, channels: list[int]) -> WaveNet:
    """Take the leading rows/columns of every tensor, exactly as the core's slimmable WaveNet does.

    Gated/blended convs keep the first 2B' rows of the full [primary; gate] stack, and FiLMs the
    first (2 if shift else 1)*D' rows of [scale; shift]: not B' (D') rows from each half.
    """
    arrays = []
    for i, a in enumerate(net.arrays):
        c = channels[i]
        cin = a.input_size if i == 0 else channels[i - 1]
        head_size = a.head_size if i == len(net.arrays) - 1 else channels[i + 1]
        layer1x1 = a.layers[0].layer1x1 is not None
        b_full = a.layers[0].bottleneck
        b = max(1, b_full * c // a.channels) if layer1x1 else c
        layers = []
        for layer in a.layers:
            bg = b if layer.gating == "none" else 2 * b
            dims = {"conv_pre_film": c, "conv_post_film": bg, "input_mixin_pre_film": None,
                    "input_mixin_post_film": bg, "activation_pre_film": bg, "activation_post_film": b,
                    "layer1x1_post_film": c, "head1x1_post_film": None}
            films = {}
            for slot, f in layer.films.items():
                d = dims[slot]
                films[slot] = f if d is None else Film(
                    f.conv.sliced((2 if f.shift else 1) * d, f.conv.in_channels), f.shift)
            h1 = layer.head1x1
            layers.append(Layer(
                conv=layer.conv.sliced(bg, c),
                mixin=layer.mixin.sliced(bg, layer.mixin.in_channels),
                activation=_slice_activation(layer.activation, b),
                gating=layer.gating,
                secondary=None if layer.secondary is None else _slice_activation(layer.secondary, b),
                layer1x1=None if layer.layer1x1 is None else layer.layer1x1.sliced(c, b),
                head1x1=None if h1 is None else h1.sliced(h1.out_channels, b),
                films=films,
            ))
        head_in = a.layers[0].head1x1.out_channels if a.layers[0].head1x1 is not None else b
        last = i == len(net.arrays) - 1
        arrays.append(LayerArray(
            rechannel=a.rechannel.sliced(c, cin),
            layers=tuple(layers),
            head=a.head.sliced(head_size, head_in, keep_bias=last),
            allowed_channels=None,
        ))
    return replace(net, arrays=tuple(arrays))


def _slice_activation(act, rows: int):
    """PReLU's per-channel slopes follow the rows they apply to."""
    return replace(act, slopes=act.slopes[:rows]) if act.slopes else act
