"""The typed model: what a .nam file computes, with its weights as named float32 arrays.

Nothing here parses JSON (see loader.py) or runs audio (see namx.runtimes). A `Model` is one
.nam file; its `net` is one of the architectures of namx.arch (each module there owns its IR
types; they are importable from here too). Widths live in widths.py: a slimmable model's
`at(width)` returns a plain model built from these same classes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# The architectures' IR types, importable from here as before (each is defined in its namx.arch module).
from .arch.container import Container
from .arch.conv import Conv
from .arch.convnet import BatchNorm, ConvNet
from .arch.linear import Linear
from .arch.lstm import LSTM, LSTMCell
from .arch.wavenet import FILM_SLOTS, GATING_MODES, Film, Layer, LayerArray, PostHead, WaveNet
from .widths import at as _at, levels as _levels

Net = Union[WaveNet, LSTM, ConvNet, Linear, Container]

DEFAULT_SAMPLE_RATE = 48000.0


@dataclass(frozen=True, eq=False)
class Model:
    """One .nam file: the network plus what the file says about it.

    `sample_rate` is the file's rate, or 48 kHz when the file has none (`sample_rate_assumed`).
    `source` names the file in error messages. `raw` is the JSON object the loader read this
    model from (None when built otherwise): namx.writer writes an unchanged model in its
    source's form from it.
    """

    net: Net
    version: str
    architecture: str
    sample_rate: float = DEFAULT_SAMPLE_RATE
    sample_rate_assumed: bool = False
    metadata: dict = field(default_factory=dict)
    source: str = "<model>"
    notes: tuple[str, ...] = ()  # things a user should know: assumed sample rate, partial version support
    raw: dict | None = field(default=None, repr=False)

    @property
    def in_channels(self) -> int:
        return self.net.in_channels

    @property
    def out_channels(self) -> int:
        return self.net.out_channels

    def widths(self):
        """The width levels this model offers, narrowest first (see namx.widths)."""
        return _levels(self)

    def at(self, width=None, *, slim: float | None = None) -> Model:
        """A plain (non-slimmable) model at one width level; the default is the widest."""
        return _at(self, width, slim=slim)
