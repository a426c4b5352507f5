"""ConvNet as TFLite ops: causal dilated convs, optional batchnorm (x*scale + loc), activation, head."""
from __future__ import annotations

from namx.model import Conv, ConvNet, Model

from .stream import StreamGraph


def build(sg: StreamGraph, model: Model, x: int, prefix: str) -> int:
    net: ConvNet = model.net
    for i, conv in enumerate(net.blocks):
        x = sg.conv(x, conv, f"{prefix}b{i}", state=f"{prefix}b{i}")
        if net.batchnorms:
            scale, loc = net.batchnorms[i].scale_loc()
            x = sg.affine(x, scale, loc, f"{prefix}b{i}.bn")
        x = sg.activation(x, net.activation, f"{prefix}b{i}.act")
    return sg.conv(x, Conv(net.head_w[:, :, None], net.head_b), f"{prefix}head")
