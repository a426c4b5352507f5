"""Sizes of a plain (single-width) model: receptive field, prewarm length, state, weights, multiply-adds.

Each architecture computes its own (namx.arch: `sizes`); a container's depend on the width.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .arch import of
from .arch.base import CELL_COST, CONV_COST, Sizes  # (the costs: re-exported)

if TYPE_CHECKING:  # (annotations only)
    from .model import Model


def sizes(model: Model, what: str = "size") -> Sizes:
    """All of a plain model's sizes (`what` names the one asked for when the model has none)."""
    arch = of(model.net)
    if arch.sizes is None:
        raise ValueError(f"a container's {what} depends on the width: use model.at(width)")
    return arch.sizes(model.net, model.sample_rate, lambda nested: sizes(nested, what))


def receptive_field(model: Model) -> int | None:
    """Input samples that affect one output sample (None: unbounded, as for an LSTM)."""
    return sizes(model, "receptive field").receptive_field


def prewarm_samples(model: Model) -> int:
    """Zero samples run after a reset so every history holds its steady state (the core's count).

    WaveNet: (condition_dsp's count, or 1) + sum of every conv's lookback. ConvNet: 1 + sum of
    dilations. Linear: 0. LSTM: half a second, int(0.5 * sample_rate), from the stored (h0, c0).
    """
    return sizes(model, "prewarm").prewarm


def state_size(model: Model) -> int:
    """Floats of state a runtime keeps between blocks (spec §1): every convolution's input history,
    an LSTM's (h, c) per layer, a Linear model's past inputs; a condition_dsp's included."""
    return sizes(model, "state").state


def num_weights(model: Model) -> int:
    """Floats in the plain model's weights, including a nested condition_dsp's."""
    return sizes(model, "size").weights


def macs_per_sample(model: Model) -> int:
    """Multiply-adds per output sample in weight products (activations and adds not counted)."""
    return sizes(model, "cost").macs


def work_per_sample(model: Model) -> int:
    """What one output sample costs: multiply-adds plus each operation's fixed cost (CONV_COST per
    convolution, CELL_COST per LSTM cell; namx.limits' work limits bound it; it grows with layer
    counts even where the layers are tiny)."""
    return sizes(model, "cost").work
