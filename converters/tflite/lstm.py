"""LSTM as TFLite ops, unrolled over the block (TFLite-Micro has no float LSTM that carries state
across calls as graph inputs, and XNNPACK runs none): per sample and layer one FULLY_CONNECTED
over [x; h], then the gates with LOGISTIC/TANH/MUL/ADD exactly as the reference orders them.
"""
from __future__ import annotations

import numpy as np

from namx.model import LSTM, Model

from .stream import StreamGraph


def build(sg: StreamGraph, model: Model, x: int, prefix: str) -> int:
    net: LSTM = model.net
    g, n = sg.g, sg.block
    xs = g.reshape(x, (n, net.in_channels), f"{prefix}lstm.in")
    steps = g.split(xs, [1] * n, 0, f"{prefix}lstm.steps") if n > 1 else [xs]
    cells = []
    for cell in net.cells:
        hs = cell.hidden_size
        # Gate rows i, f, g, o -> i, f, o, g: one LOGISTIC over 3H rows and one TANH over H.
        perm = np.concatenate([np.arange(0, 2 * hs), np.arange(3 * hs, 4 * hs), np.arange(2 * hs, 3 * hs)])
        cells.append((cell.w[perm], cell.b[perm], hs))
    h = [sg.read_state(f"{prefix}l{i}.h", (1, hs)) for i, (_, _, hs) in enumerate(cells)]
    c = [sg.read_state(f"{prefix}l{i}.c", (1, hs)) for i, (_, _, hs) in enumerate(cells)]
    outs = []
    for t, inp in enumerate(steps):
        for i, (w, b, hsize) in enumerate(cells):
            name = f"{prefix}l{i}.t{t}"
            gates = g.fully_connected(g.concat([inp, h[i]], 1, f"{name}.xh"), w, b, f"{name}.gates")
            sig_in, tanh_in = g.split(gates, [3 * hsize, hsize], 1, f"{name}.split")
            ig, fg, og = g.split(g.unary("LOGISTIC", sig_in, f"{name}.sigmoid"), [hsize] * 3, 1, f"{name}.ifo")
            cand = g.unary("TANH", tanh_in, f"{name}.cand")
            c[i] = g.add(g.mul(fg, c[i], f"{name}.keep"), g.mul(ig, cand, f"{name}.write"), f"{name}.c")
            h[i] = g.mul(og, g.unary("TANH", c[i], f"{name}.tanh_c"), f"{name}.h")
            inp = h[i]
        outs.append(inp)
    for i in range(len(cells)):
        sg.write_state(f"{prefix}l{i}.h", h[i])
        sg.write_state(f"{prefix}l{i}.c", c[i])
    hs = g.concat(outs, 0, f"{prefix}lstm.h") if n > 1 else outs[0]
    y = g.fully_connected(hs, net.head_w, net.head_b, f"{prefix}lstm.head")
    return g.reshape(y, (1, n, 1, net.out_channels), f"{prefix}lstm.out")
