"""Sizes of a plain (single-width) model: receptive field, prewarm length, state, weights, multiply-adds."""
from __future__ import annotations

from .model import LSTM, Container, ConvNet, Linear, Model, WaveNet


def _lookback(net: WaveNet) -> int:
    """Past samples the WaveNet's own convolutions reach back (condition_dsp excluded)."""
    return (sum(layer.conv.history for a in net.arrays for layer in a.layers)
            + sum(a.head.history for a in net.arrays)
            + (sum(c.history for c in net.post_head.convs) if net.post_head else 0))


def receptive_field(model: Model) -> int | None:
    """Input samples that affect one output sample (None: unbounded, as for an LSTM)."""
    net = model.net
    if isinstance(net, WaveNet):
        cond = receptive_field(net.condition) if net.condition else 1
        return None if cond is None else cond + _lookback(net)
    if isinstance(net, ConvNet):
        return 1 + sum(c.history for c in net.blocks)
    if isinstance(net, Linear):
        return int(net.taps.size)
    if isinstance(net, Container):
        raise ValueError("a container's receptive field depends on the width: use model.at(width)")
    return None


def prewarm_samples(model: Model) -> int:
    """Zero samples run after a reset so every history holds its steady state (the core's count).

    WaveNet: (condition_dsp's count, or 1) + sum of every conv's lookback. ConvNet: 1 + sum of
    dilations. Linear: 0. LSTM: half a second, int(0.5 * sample_rate), from the stored (h0, c0).
    """
    net = model.net
    if isinstance(net, WaveNet):
        return (prewarm_samples(net.condition) if net.condition else 1) + _lookback(net)
    if isinstance(net, ConvNet):
        return 1 + sum(c.dilation for c in net.blocks)
    if isinstance(net, Linear):
        return 0
    if isinstance(net, LSTM):
        return max(1, int(0.5 * model.sample_rate))
    raise ValueError("a container's prewarm depends on the width: use model.at(width)")


def state_size(model: Model) -> int:
    """Floats of state a runtime keeps between blocks (spec §1): every convolution's input history,
    an LSTM's (h, c) per layer, a Linear model's past inputs; a condition_dsp's included."""
    net = model.net
    if isinstance(net, (WaveNet, ConvNet)):
        own = sum(c.in_channels * c.history for c in net.convs())
        return own + (state_size(net.condition) if isinstance(net, WaveNet) and net.condition else 0)
    if isinstance(net, LSTM):
        return 2 * sum(c.hidden_size for c in net.cells)
    if isinstance(net, Linear):
        return max(0, int(net.taps.size) - 1)
    raise ValueError("a container's state depends on the width: use model.at(width)")


def num_weights(model: Model) -> int:
    """Floats in the plain model's weights, including a nested condition_dsp's."""
    net = model.net
    if isinstance(net, WaveNet):
        own = sum(c.num_weights for c in net.convs()) + 1  # + head_scale
        return own + (num_weights(net.condition) if net.condition else 0)
    if isinstance(net, LSTM):
        return sum(c.w.size + c.b.size + c.h0.size + c.c0.size for c in net.cells) + net.head_w.size + net.head_b.size
    if isinstance(net, ConvNet):
        bn = 4 * net.channels + 1 if net.batchnorms else 0
        return sum(c.num_weights + bn for c in net.blocks) + net.head_w.size + net.head_b.size
    if isinstance(net, Linear):
        return int(net.taps.size) + (net.bias is not None)
    raise ValueError("a container's size depends on the width: use model.at(width)")


def macs_per_sample(model: Model) -> int:
    """Multiply-adds per output sample in weight products (activations and adds not counted)."""
    net = model.net
    if isinstance(net, WaveNet):
        own = sum(c.macs for c in net.convs())
        return own + (macs_per_sample(net.condition) if net.condition else 0)
    if isinstance(net, LSTM):
        return sum(c.w.size for c in net.cells) + net.head_w.size
    if isinstance(net, ConvNet):
        return sum(c.macs for c in net.blocks) + net.head_w.size
    if isinstance(net, Linear):
        return int(net.taps.size)
    raise ValueError("a container's cost depends on the width: use model.at(width)")


# The fixed cost of one operation, in multiply-adds: a convolution is one call per block (a NumPy or
# kernel call costs about as much as 4,096 multiply-adds, spread over a block of 64 samples); an
# LSTM cell is one call per sample, its recurrence cannot be spread over a block.
CONV_COST, CELL_COST = 64, 4096


def work_per_sample(model: Model) -> int:
    """What one output sample costs: multiply-adds plus each operation's fixed cost (namx.limits'
    work limits bound it; it grows with layer counts even where the layers are tiny)."""
    net = model.net
    if isinstance(net, WaveNet):
        own = sum(c.macs + CONV_COST for c in net.convs())
        return own + (work_per_sample(net.condition) if net.condition else 0)
    if isinstance(net, LSTM):
        return macs_per_sample(model) + CELL_COST * len(net.cells)
    if isinstance(net, ConvNet):
        return macs_per_sample(model) + CONV_COST * len(net.blocks)
    if isinstance(net, Linear):
        return macs_per_sample(model) + CONV_COST
    raise ValueError("a container's cost depends on the width: use model.at(width)")
