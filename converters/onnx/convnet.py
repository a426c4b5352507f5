"""ConvNet -> ONNX: causal dilated convs (batchnorm folded into their weights) and a 1x1 head."""
from __future__ import annotations

import numpy as np

from namx.model import ConvNet

from . import activations
from .builder import Builder
from .wavenet import causal_conv


def build(b: Builder, P, S, net: ConvNet, x, prefix: str, build_net):
    for i, conv in enumerate(net.blocks):
        w, bias = conv.weight, conv.bias
        if net.batchnorms:  # x*scale + loc after a bias-free conv is the conv with scaled weights plus loc
            scale, loc = net.batchnorms[i].scale_loc()
            w, bias = w * scale[:, None, None], loc
        x = causal_conv(b, P, S, f"{prefix}b{i}", x, w, bias, conv.dilation, conv.groups)
        x = activations.apply(b, P, net.activation, x, f"{prefix}b{i}.act")
    return causal_conv(b, P, S, f"{prefix}head", x, net.head_w[:, :, None], net.head_b)
