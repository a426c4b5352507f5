"""What every architecture module provides (an `Architecture`) and the pieces they share.

An architecture reaches a nested model (a WaveNet's condition_dsp, a container's submodels) only
through what it is handed: the parser's `model()`, the writer's `to_json`, the sizes of a nested
model. So no architecture module imports the registry (namx.arch) or namx.model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

if TYPE_CHECKING:  # (annotations only)
    from ..model import Model
    from ..widths import WidthLevel
    from .reading import Reader, Weights

# The fixed cost of one operation, in multiply-adds: a convolution is one call per block (a NumPy or
# kernel call costs about as much as 4,096 multiply-adds, spread over a block of 64 samples); an
# LSTM cell is one call per sample, its recurrence cannot be spread over a block.
CONV_COST, CELL_COST = 64, 4096


@dataclass(frozen=True)
class Sizes:
    """What a plain (single-width) model needs (namx.stats states each one)."""

    receptive_field: int | None  # None: unbounded (an LSTM)
    prewarm: int
    state: int
    weights: int
    macs: int
    work: int



class Span(NamedTuple):
    """One width level before it is numbered: the slim values it serves, its channels and label."""

    lo: float
    hi: float
    channels: tuple[int, ...]
    label: str | None  # None: not a meaningful label (every level is then labelled i<index>)


def elements(*arrays) -> int:
    """How many numbers the arrays hold, from their shapes (namx.torch builds models of tensors)."""
    return sum(math.prod(a.shape) for a in arrays)


def first_label(channels: tuple[int, ...]) -> str | None:
    """The usual label of a level: its first channel count (none for a model without channels)."""
    return str(channels[0]) if channels else None


@dataclass(frozen=True)
class Slimming:
    """How a net that may offer several widths offers them (namx.widths uses these)."""

    slimmable: Callable[[Any], bool]                    # whether this net offers them
    count: Callable[[Any], int]                         # how many levels, without building them
    spans: Callable[[Any], list[Span]]                  # its levels, narrowest first
    at: Callable[[Model, WidthLevel], Model]            # the plain model for one level


@dataclass(frozen=True)
class Architecture:
    name: str   # the file's "architecture"
    net: type   # its IR type
    # (reader, config, config path, weights, file's sample rate or None, nesting depth) -> net
    parse: Callable[[Reader, dict, str, Weights, float | None, int], Any]
    # (net, to_json for nested models) -> (config, weights)
    write: Callable[[Any, Callable[[Model], dict]], tuple[dict, list[float]]]
    # (net, sample rate, sizes of a nested model) -> Sizes; None: the sizes depend on the width
    sizes: Callable[[Any, float, Callable[[Model], Sizes]], Sizes] | None
    channels: Callable[[Any], tuple[int, ...]] | None  # a plain net's channels (naming its level)
    slimming: Slimming | None = None
    prewarm_follows_rate: bool = False  # the prewarm is a time (LSTM): too long is the sample rate's fault
    source_form: bool = True  # False: written from its parts, each in its own source form (a container)


def floats(a) -> list[float]:
    """An array as the .nam file's float list (exact float32 decimals)."""
    return np.asarray(a, np.float32).reshape(-1).tolist()
