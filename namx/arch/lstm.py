"""LSTM: its IR, parse, write and sizes (one width; the level is labelled by the hidden size)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import CELL_COST, Architecture, Sizes, elements, floats
from .reading import Reader, Weights, join


@dataclass(frozen=True, eq=False)
class LSTMCell:
    """PyTorch LSTM layer: w = [W_ih | W_hh] (4H, in+H), b = b_ih + b_hh, gate order i, f, g, o."""

    w: np.ndarray
    b: np.ndarray
    h0: np.ndarray
    c0: np.ndarray

    @property
    def hidden_size(self) -> int:
        return self.h0.shape[0]


@dataclass(frozen=True, eq=False)
class LSTM:
    cells: tuple[LSTMCell, ...]
    head_w: np.ndarray  # (out, H)
    head_b: np.ndarray  # (out,)
    in_channels: int = 1

    @property
    def out_channels(self) -> int:
        return self.head_w.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.cells[0].hidden_size if self.cells else 0


def parse(r: Reader, c: dict, path: str, w: Weights, rate: float | None, depth: int) -> LSTM:
    p = lambda key: join(path, key)  # noqa: E731
    input_size = r.int_(r.get(c, "input_size", path), p("input_size"))
    hidden = r.int_(r.get(c, "hidden_size", path), p("hidden_size"))
    num_layers = r.int_(r.get(c, "num_layers", path), p("num_layers"))
    in_channels = r.int_(c.get("in_channels", 1), p("in_channels"))
    out_channels = r.int_(c.get("out_channels", 1), p("out_channels"))
    if input_size != in_channels:
        r.problem(p("input_size"), f"is {input_size} but in_channels is {in_channels}")
    cells = []
    for i in range(num_layers):
        cin = input_size if i == 0 else hidden
        cell = f"cells[{i}]"
        w.add_work(4 * hidden * (cin + hidden) + CELL_COST)
        cells.append(LSTMCell(w.take(f"{cell}.weight", 4 * hidden, cin + hidden),
                              w.take(f"{cell}.bias", 4 * hidden),
                              w.take(f"{cell}.h0", hidden), w.take(f"{cell}.c0", hidden)))
    return LSTM(tuple(cells), w.take("head.weight", out_channels, hidden), w.take("head.bias", out_channels),
                in_channels)


def write(net: LSTM, to_json) -> tuple[dict, list[float]]:
    config = {"input_size": net.in_channels, "hidden_size": net.hidden_size, "num_layers": len(net.cells)}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    weights = [w for c in net.cells for a in (c.w, c.b, c.h0, c.c0) for w in floats(a)]
    return config, weights + floats(net.head_w) + floats(net.head_b)


def sizes(net: LSTM, sample_rate: float, nested) -> Sizes:
    """Unbounded receptive field; prewarm: half a second, int(0.5 * sample_rate), from the stored (h0, c0)."""
    macs = sum(elements(c.w) for c in net.cells) + elements(net.head_w)
    return Sizes(
        receptive_field=None,
        prewarm=max(1, int(0.5 * sample_rate)),
        state=2 * sum(c.hidden_size for c in net.cells),
        weights=sum(elements(c.w, c.b, c.h0, c.c0) for c in net.cells) + elements(net.head_w, net.head_b),
        macs=macs,
        work=macs + CELL_COST * len(net.cells),
    )


ARCH = Architecture(name="LSTM", net=LSTM, parse=parse, write=write, sizes=sizes,
                    channels=lambda net: (net.hidden_size,), prewarm_follows_rate=True)
