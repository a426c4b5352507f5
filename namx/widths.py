"""Widths: the levels a model offers and `at(width)`.

- SlimmableContainer: one level per submodel; submodel i serves slim values
  [max_value[i-1], max_value[i]) (the first from 0, the last up to and including 1).
- Channel-sliced WaveNet (`slimmable.method = slice_channels_uniform`): with n allowed channel
  counts, level i serves [i/n, (i+1)/n); arrays with different n split at every breakpoint.
- Anything else: one level.

Each architecture states its own levels and how to cut a model to one (namx.arch: `slimming`;
namx.arch.wavenet.slice_net is the one place weights are sliced); this module numbers and labels
the levels and selects one.

A level's label is its channel count (first layer array's channels; LSTM hidden size; for a
sliced model the first sliced array's count). Where that is not meaningful (Linear) or labels
repeat, every level of the model is labelled `i<index>`; `i<index>` is accepted for any model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .arch import of
from .arch.base import Slimming, Span, first_label
from .errors import WidthError

if TYPE_CHECKING:  # (annotations only: namx.model imports this module)
    from .model import Model


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
    slimming = _slimming(net)
    if slimming:
        spans = slimming.spans(net)
    else:
        channels = of(net).channels(net)
        spans = [Span(0.0, 1.0, channels, first_label(channels))]
    labels = [span.label for span in spans]
    if None in labels or len(set(labels)) != len(labels):
        labels = [f"i{i}" for i in range(len(spans))]
    return [WidthLevel(i, label, lo, hi, ch) for i, ((lo, hi, ch, _), label) in enumerate(zip(spans, labels))]


def level_count(model: Model) -> int:
    """len(levels(model)), without building the levels."""
    slimming = _slimming(model.net)
    return slimming.count(model.net) if slimming else 1


def slimmable(net) -> bool:
    """Whether a net offers several widths (a container, a channel-sliced WaveNet)."""
    return _slimming(net) is not None


def _slimming(net) -> Slimming | None:
    slimming = of(net).slimming
    return slimming if slimming is not None and slimming.slimmable(net) else None


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
    slimming = _slimming(model.net)
    return slimming.at(model, level) if slimming else model
