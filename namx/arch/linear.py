"""Linear (an FIR filter): its IR, parse, write and sizes (one width, with no channel count to name it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import CONV_COST, Architecture, Sizes, elements, floats
from .reading import Reader, Weights, join, show


@dataclass(frozen=True, eq=False)
class Linear:
    """An FIR filter. taps[0] multiplies the current sample (the core's order, not the trainer's)."""

    taps: np.ndarray
    bias: float | None = None
    in_channels: int = 1
    out_channels: int = 1


def parse(r: Reader, c: dict, path: str, w: Weights, rate: float | None, depth: int) -> Linear:
    p = lambda key: join(path, key)  # noqa: E731
    rf = r.int_(r.get(c, "receptive_field", path), p("receptive_field"))
    bias = r.bool_(r.get(c, "bias", path), p("bias"))
    impl = c.get("implementation", "auto")
    if impl not in ("auto", "direct", "fft"):
        r.fail(p("implementation"), f"must be auto, direct or fft (got {show(impl)})")
    in_channels = r.int_(c.get("in_channels", 1), p("in_channels"))
    out_channels = r.int_(c.get("out_channels", 1), p("out_channels"))
    taps = w.take("taps", rf)
    return Linear(taps, float(w.take("bias", 1)[0]) if bias else None, in_channels, out_channels)


def write(net: Linear, to_json) -> tuple[dict, list[float]]:
    config = {"receptive_field": int(net.taps.size), "bias": net.bias is not None}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    return config, floats(net.taps) + ([] if net.bias is None else floats([net.bias]))


def sizes(net: Linear, sample_rate: float, nested) -> Sizes:
    """No prewarm: its state is its past inputs, which start at zero."""
    taps = elements(net.taps)
    return Sizes(receptive_field=taps, prewarm=0, state=max(0, taps - 1), weights=taps + (net.bias is not None),
                 macs=taps, work=taps + CONV_COST)


ARCH = Architecture(name="Linear", net=Linear, parse=parse, write=write, sizes=sizes, channels=lambda net: ())
