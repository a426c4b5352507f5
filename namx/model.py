"""The typed model: what a .nam file computes, with its weights as named float32 arrays.

Nothing here parses JSON (see loader.py) or runs audio (see namx.runtimes). A `Model` is one
.nam file; its `net` is one of the architectures below. Widths live in widths.py: a slimmable
model's `at(width)` returns a plain model built from these same classes.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Union

import numpy as np

from .activations import Activation

GATING_MODES = ("none", "gated", "blended")

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


@dataclass(frozen=True, eq=False)
class Conv:
    """A causal 1-D convolution as NAM stores it.

    `weight` has PyTorch's layout (out, in/groups, kernel); tap k multiplies x[t - dilation*(K-1-k)],
    so the last tap sees the current sample. A 1x1 convolution is kernel 1.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    dilation: int = 1
    groups: int = 1

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1] * self.groups

    @property
    def kernel_size(self) -> int:
        return self.weight.shape[2]

    @property
    def history(self) -> int:
        """Past input columns this convolution needs: (K-1)*dilation."""
        return (self.kernel_size - 1) * self.dilation

    @property
    def num_weights(self) -> int:
        return self.weight.size + (0 if self.bias is None else self.bias.size)

    @property
    def macs(self) -> int:
        """Multiply-adds per sample."""
        return self.weight.size

    def dense(self) -> np.ndarray:
        """The weight as (K, out, in) with groups expanded to a block-diagonal matrix."""
        out, in_g, k = self.weight.shape
        g = self.groups
        full = np.zeros((k, out, in_g * g), dtype=self.weight.dtype)
        og = out // g
        for i in range(g):
            full[:, i * og:(i + 1) * og, i * in_g:(i + 1) * in_g] = self.weight[i * og:(i + 1) * og].transpose(2, 0, 1)
        return full

    def sliced(self, out: int, inp: int, keep_bias: bool = False) -> Conv:
        """The leading `out` rows and `inp` columns (groups must be 1), as the core slims weights."""
        assert self.groups == 1
        bias = None if self.bias is None else (self.bias if keep_bias else self.bias[:out])
        return replace(self, weight=self.weight[:out, :inp, :], bias=bias)


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
        return self.conv.out_channels // (1 if self.gating == "none" else 2)

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


@dataclass(frozen=True, eq=False)
class LSTMCell:
    """PyTorch LSTM layer: w = [W_ih | W_hh] (4H, in+H), b = b_ih + b_hh, gate order i, f, g, o."""

    w: np.ndarray
    b: np.ndarray
    h0: np.ndarray
    c0: np.ndarray

    @property
    def hidden_size(self) -> int:
        return self.h0.shape[0]


@dataclass(frozen=True, eq=False)
class LSTM:
    cells: tuple[LSTMCell, ...]
    head_w: np.ndarray  # (out, H)
    head_b: np.ndarray  # (out,)
    in_channels: int = 1

    @property
    def out_channels(self) -> int:
        return self.head_w.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.cells[0].hidden_size if self.cells else 0


@dataclass(frozen=True, eq=False)
class BatchNorm:
    mean: np.ndarray
    var: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    eps: float

    def scale_loc(self) -> tuple[np.ndarray, np.ndarray]:
        """y = x*scale + loc, computed in float32 as the core does."""
        scale = (self.weight / np.sqrt(np.float32(self.eps) + self.var)).astype(np.float32)
        return scale, (self.bias - scale * self.mean).astype(np.float32)


@dataclass(frozen=True, eq=False)
class ConvNet:
    """Blocks of conv(kernel 2, dilation d) -> [batchnorm] -> activation, then a linear head."""

    blocks: tuple[Conv, ...]
    batchnorms: tuple[BatchNorm, ...] | None
    activation: Activation
    head_w: np.ndarray  # (out, C)
    head_b: np.ndarray
    in_channels: int = 1

    @property
    def channels(self) -> int:
        return self.blocks[0].out_channels

    @property
    def out_channels(self) -> int:
        return self.head_w.shape[0]

    def convs(self) -> list[Conv]:
        return list(self.blocks)


@dataclass(frozen=True, eq=False)
class Linear:
    """An FIR filter. taps[0] multiplies the current sample (the core's order, not the trainer's)."""

    taps: np.ndarray
    bias: float | None = None
    in_channels: int = 1
    out_channels: int = 1


@dataclass(frozen=True, eq=False)
class Container:
    """SlimmableContainer: submodel i is active for slim values in [max_value[i-1], max_value[i])."""

    submodels: tuple[tuple[float, Model], ...]

    @property
    def in_channels(self) -> int:
        return 1

    @property
    def out_channels(self) -> int:
        return 1


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
        from .widths import levels
        return levels(self)

    def at(self, width=None, *, slim: float | None = None) -> Model:
        """A plain (non-slimmable) model at one width level; the default is the widest."""
        from .widths import at
        return at(self, width, slim=slim)
