"""The causal 1-D convolution, shared by WaveNet and ConvNet (and the loader's weight reader)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .base import floats


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
        return self.macs + (0 if self.bias is None else math.prod(self.bias.shape))

    @property
    def macs(self) -> int:
        """Multiply-adds per sample."""
        return math.prod(self.weight.shape)  # (not .size: namx.torch builds convolutions of tensors)

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

    def to_floats(self) -> list[float]:
        """The weight then the bias, as the .nam file lists them."""
        return floats(self.weight) + ([] if self.bias is None else floats(self.bias))
