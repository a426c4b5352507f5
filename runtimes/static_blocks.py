"""Streaming any block length through models with static shapes (LiteRT, TFLite-Micro).

A TFLite model processes a fixed number of samples per call. The runner keeps one model for its
main block size B (the `block_size` option, else the length of the first block it sees) and, for
the rest of a block, models for the powers of two below B: a block of n samples runs as n // B
calls of B, then one call per set bit of n % B, largest first. Every model of a level shares one
state layout, so the state carries across them; at most log2(B) + 1 models per level.
"""
from __future__ import annotations

from abc import abstractmethod

import numpy as np

from namx import limits

from .base import LevelRunner


def block_sizes(block: int) -> list[int]:
    """The main block size, then every power of two below it, largest first."""
    return [block] + [1 << k for k in reversed(range(block.bit_length())) if (1 << k) < block]


def chunks(n: int, block: int) -> list[int]:
    """The model calls that process n samples: full blocks, then the remainder's binary digits."""
    rest = n % block
    return [block] * (n // block) + [1 << k for k in reversed(range(rest.bit_length())) if rest >> k & 1]


def check_block_size(block_size) -> int | None:
    return None if block_size is None else limits.check_block_size(block_size)


class StaticBlockRunner(LevelRunner):
    """A LevelRunner over fixed-size models; subclasses build and call them.

    `max_block` caps the main block size (for graphs unrolled over the block, see
    converters.tflite.export.MAX_UNROLLED_BLOCK).
    """

    def __init__(self, block_size: int | None, max_block: int | None = None):
        self.block, self.max_block = block_size, max_block
        self._built = False

    @abstractmethod
    def _build(self, sizes: list[int]) -> None:
        """Prepare the models for these block sizes (sizes[0] is the main one) at the initial state."""

    @abstractmethod
    def _run(self, size: int, x: np.ndarray) -> np.ndarray:
        """Process exactly `size` float32 samples; return as many."""

    @abstractmethod
    def _reset(self) -> None:
        """Restore the initial state (only called once built)."""

    def reset(self) -> None:
        if self._built:
            self._reset()  # before the first block, building already starts from the initial state

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if not self._built:
            self.block = min(self.block or x.size, self.max_block or x.size)
            self._build(block_sizes(self.block))
            self._built = True
        if x.size == self.block:  # the steady case: one call, no bookkeeping
            return self._run(x.size, x)
        y = np.empty(x.size, np.float32)
        at = 0
        for size in chunks(x.size, self.block):
            y[at:at + size] = self._run(size, x[at:at + size])
            at += size
        return y
