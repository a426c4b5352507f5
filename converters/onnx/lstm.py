"""LSTM -> ONNX: one ONNX LSTM op per layer over the whole block, state (h, c) as [1, 1, H] each."""
from __future__ import annotations

import numpy as np

from namx.model import LSTM

from .builder import Builder


def _iofc(m: np.ndarray, hidden: int) -> np.ndarray:
    """PyTorch gate order (i, f, g, o) -> ONNX (i, o, f, c)."""
    i, f, g, o = (m[k * hidden:(k + 1) * hidden] for k in range(4))
    return np.concatenate([i, o, f, g])


def build(b: Builder, P, S, net: LSTM, x, prefix: str, build_net):
    seq = b.op("Transpose", x, perm=[2, 0, 1])  # [T, 1, in]
    for i, cell in enumerate(net.cells):
        hidden, n_in = cell.hidden_size, cell.w.shape[1] - cell.hidden_size
        name = f"{prefix}l{i}"
        w = P.tensor(f"{name}.W", _iofc(cell.w[:, :n_in], hidden)[None])
        r = P.tensor(f"{name}.R", _iofc(cell.w[:, n_in:], hidden)[None])
        bias = P.tensor(f"{name}.B", np.concatenate([_iofc(cell.b, hidden), np.zeros(4 * hidden, np.float32)])[None])
        h0 = S.read(f"{name}.h", 1, hidden, cell.h0.reshape(1, 1, hidden))
        c0 = S.read(f"{name}.c", 1, hidden, cell.c0.reshape(1, 1, hidden))
        y, yh, yc = b.op_multi("LSTM", [seq, w, r, bias, None, h0, c0], 3, hidden_size=hidden)
        S.write(f"{name}.h", yh)
        S.write(f"{name}.c", yc)
        seq = b.op("Squeeze", y, b.ints([1]))  # [T, 1, H]
    hidden = net.hidden_size
    flat = b.op("Reshape", seq, b.ints([-1, hidden]))  # [T, H]
    out = b.op("Gemm", flat, P.tensor(f"{prefix}head.w", net.head_w), P.tensor(f"{prefix}head.b", net.head_b),
               transB=1)  # [T, out]
    return b.op("Unsqueeze", b.op("Transpose", out, perm=[1, 0]), b.ints([0]))  # [1, out, T]
