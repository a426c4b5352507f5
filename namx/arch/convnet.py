"""ConvNet: its IR, parse, write and sizes (one width; the level is labelled by its channels)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import Activation
from .base import CONV_COST, Architecture, Sizes, elements, floats
from .conv import Conv
from .reading import Reader, Weights, join


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


def parse(r: Reader, c: dict, path: str, w: Weights, rate: float | None, depth: int) -> ConvNet:
    p = lambda key: join(path, key)  # noqa: E731
    channels = r.int_(r.get(c, "channels", path), p("channels"))
    dilations = r.ints(r.get(c, "dilations", path), p("dilations"))
    batchnorm = r.bool_(r.get(c, "batchnorm", path), p("batchnorm"))
    act = r.activation(r.get(c, "activation", path), p("activation"), rows=channels)
    groups = r.int_(c.get("groups", 1), p("groups"))
    in_channels = r.int_(c.get("in_channels", 1), p("in_channels"))
    out_channels = r.int_(c.get("out_channels", 1), p("out_channels"))
    blocks, norms = [], []
    for i, d in enumerate(dilations):
        cin = in_channels if i == 0 else channels
        r.divisible(cin, channels, groups, p("groups"))
        blocks.append(w.conv(f"blocks[{i}].conv", cin, channels, 2, bias=not batchnorm, dilation=d, groups=groups))
        if batchnorm:
            bn = f"blocks[{i}].batchnorm"
            norms.append(BatchNorm(*(w.take(f"{bn}.{part}", channels)
                                     for part in ("running_mean", "running_var", "weight", "bias")),
                                   float(w.take(f"{bn}.eps", 1)[0])))
    return ConvNet(tuple(blocks), tuple(norms) if batchnorm else None, act,
                   w.take("head.weight", out_channels, channels), w.take("head.bias", out_channels), in_channels)


def write(net: ConvNet, to_json) -> tuple[dict, list[float]]:
    config = {"channels": net.channels, "dilations": [c.dilation for c in net.blocks],
              "batchnorm": net.batchnorms is not None, "activation": net.activation.to_json()}
    if net.blocks[0].groups != 1:
        config["groups"] = net.blocks[0].groups
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    weights = []
    for i, conv in enumerate(net.blocks):
        weights += conv.to_floats()
        if net.batchnorms is not None:
            bn = net.batchnorms[i]
            weights += floats(bn.mean) + floats(bn.var) + floats(bn.weight) + floats(bn.bias) + floats([bn.eps])
    return config, weights + floats(net.head_w) + floats(net.head_b)


def sizes(net: ConvNet, sample_rate: float, nested) -> Sizes:
    """Prewarm: 1 + sum of dilations (the core's count)."""
    bn = 4 * net.channels + 1 if net.batchnorms else 0
    macs = sum(c.macs for c in net.blocks) + elements(net.head_w)
    return Sizes(
        receptive_field=1 + sum(c.history for c in net.blocks),
        prewarm=1 + sum(c.dilation for c in net.blocks),
        state=sum(c.in_channels * c.history for c in net.convs()),
        weights=sum(c.num_weights + bn for c in net.blocks) + elements(net.head_w, net.head_b),
        macs=macs,
        work=macs + CONV_COST * len(net.blocks),
    )


ARCH = Architecture(name="ConvNet", net=ConvNet, parse=parse, write=write, sizes=sizes,
                    channels=lambda net: (net.channels,))
