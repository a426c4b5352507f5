"""Linear -> ONNX: one causal conv whose kernel is the taps reversed (taps[0] is the current sample)."""
from __future__ import annotations

import numpy as np

from namx.model import Linear

from .builder import Builder
from .wavenet import causal_conv


def build(b: Builder, P, S, net: Linear, x, prefix: str, build_net):
    ch = min(net.in_channels, net.out_channels)  # each of these channels is filtered; other outputs are 0
    w = np.tile(net.taps[::-1].reshape(1, 1, -1), (ch, 1, 1)).astype(np.float32)
    bias = None if net.bias is None else np.full(ch, net.bias, np.float32)
    if net.in_channels > ch:
        x = b.slice(x, 0, ch, axis=1)
    y = causal_conv(b, P, S, f"{prefix}taps", x, w, bias, groups=ch)
    if net.out_channels > ch:
        y = b.op("Pad", y, b.ints([0, 0, 0, 0, net.out_channels - ch, 0]))
    return y
