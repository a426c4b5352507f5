"""Linear (an FIR filter) as one causal CONV_2D; taps[0] is the current sample (the core's order)."""
from __future__ import annotations

import numpy as np

from namx.errors import NamxError
from namx.model import Conv, Linear, Model

from .stream import StreamGraph


def build(sg: StreamGraph, model: Model, x: int, prefix: str) -> int:
    net: Linear = model.net
    if net.in_channels != 1 or net.out_channels != 1:
        raise NamxError(f"{model.source}: TFLite export supports mono Linear models only")
    bias = None if net.bias is None else np.full(1, net.bias, np.float32)
    conv = Conv(np.ascontiguousarray(net.taps[::-1]).reshape(1, 1, -1), bias)  # as a Conv, the last tap is now
    return sg.conv(x, conv, f"{prefix}taps", state=f"{prefix}taps")
