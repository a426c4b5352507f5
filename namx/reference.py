"""The NumPy reference: namx's executable statement of what a .nam file computes.

It follows NeuralAmpModelerCore's generic path with exact tanh, in float64 by default (float32 on
request). Each architecture is one runner class below; RUNNERS maps IR types (namx.model) to them.
State is every convolution's input history (and the LSTM's h, c); `ModelRunner.reset()` restores
the prewarmed state: the core's zero state after `prewarm_samples` zeros have been run through.
`initial_state(model)` is that state, the one source of it for every binding (the ONNX and TFLite
exporters carry it as float32); namx.runtimes.numpy_ref streams audio through ModelRunner.

State names (`initial_state(model)` returns them in this order, each an array (channels, length)
with the oldest column first; LSTM entries are vectors):
  WaveNet  a{i}.l{j}.conv  layer j's dilated-conv input history in array i ((K-1)*dilation columns)
           a{i}.head       array i's head-rechannel history (only when its kernel is > 1)
           post{k}         post-stack head conv k's history
           cond.<name>     the condition_dsp's own state
  LSTM     l{i}.h, l{i}.c  per layer
  ConvNet  b{i}            block i's conv history
  Linear   taps            the last R-1 input samples
A SlimmableContainer runs one submodel, as `model.at(width)` gives it (alone: the widest).
"""
from __future__ import annotations

import numpy as np

from namx.model import LSTM, Container, Conv, ConvNet, Film, Layer, LayerArray, Linear, Model, WaveNet
from namx.stats import prewarm_samples

PREWARM_CHUNK = 4096  # prewarm zeros run in chunks this long (bounded memory; result is the same)


class ModelRunner:
    """A model (a plain one, or a container at its widest) with its initial state computed once
    and restored on reset: `reset()`, then `process(x)` on 1-D blocks of any length."""

    def __init__(self, model: Model, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.net = make_net_runner(model, self.dtype)
        self._initial = None

    def reset(self) -> None:
        if self._initial is None:
            self.net.zero()
            self._initial = prewarm(self.net, self.dtype)
        self.net.set_state(self._initial)

    def state(self) -> dict[str, np.ndarray]:
        return self.net.state()

    def process(self, x: np.ndarray) -> np.ndarray:
        return self.net.process(np.asarray(x, dtype=self.dtype)[None, :])[0]


def initial_state(model: Model, dtype=np.float64) -> dict[str, np.ndarray]:
    """The prewarmed initial state of a model (spec §7.1), by state name."""
    runner = ModelRunner(model, dtype)
    runner.reset()
    return runner.state()


def prewarm(runner, dtype) -> dict[str, np.ndarray]:
    """Run the core's prewarm (zeros) through a zeroed runner; return the resulting state."""
    remaining = runner.prewarm
    while remaining > 0:
        n = min(remaining, PREWARM_CHUNK)
        runner.process(np.zeros((runner.in_channels, n), dtype))
        remaining -= n
    return runner.state()


def make_net_runner(model: Model, dtype):
    return RUNNERS[type(model.net)](model, dtype)


# ---- building blocks ------------------------------------------------------------------------

class CausalConv:
    """A Conv plus its input history: the last (K-1)*dilation input columns, oldest first."""

    def __init__(self, conv: Conv, dtype):
        self.w = conv.dense().astype(dtype)  # (K, out, in)
        self.b = None if conv.bias is None else conv.bias.astype(dtype)[:, None]
        self.k, self.d, self.size = conv.kernel_size, conv.dilation, conv.history
        self.hist = np.zeros((conv.in_channels, self.size), dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.size == 0:
            y = self.w[0] @ x
        else:
            t = x.shape[1]
            xc = np.concatenate([self.hist, x], axis=1)
            y = self.w[-1] @ x
            for k in range(self.k - 1):
                y += self.w[k] @ xc[:, k * self.d:k * self.d + t]
            self.hist = xc[:, t:].copy()
        return y if self.b is None else y + self.b


class FilmApply:
    def __init__(self, film: Film, dtype):
        self.conv, self.shift, self.dim = CausalConv(film.conv, dtype), film.shift, film.dim

    def __call__(self, x: np.ndarray, cond: np.ndarray) -> np.ndarray:
        ss = self.conv(cond)
        y = x * ss[:self.dim]
        return y + ss[self.dim:] if self.shift else y


class _StatefulRunner:
    """Collects named state arrays from its parts: `convs` maps state names to CausalConvs."""

    def __init__(self):
        self.convs: dict[str, CausalConv] = {}
        self.children: dict[str, _StatefulRunner] = {}

    def state(self) -> dict[str, np.ndarray]:
        out = {name: c.hist.copy() for name, c in self.convs.items() if c.size}
        for prefix, child in self.children.items():
            out.update({f"{prefix}.{k}": v for k, v in child.state().items()})
        return out

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for name, c in self.convs.items():
            if c.size:
                c.hist = state[name].copy()
        for prefix, child in self.children.items():
            child.set_state({k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")})

    def zero(self) -> None:
        for c in self.convs.values():
            c.hist[:] = 0
        for child in self.children.values():
            child.zero()


# ---- WaveNet ----------------------------------------------------------------------------------

class _LayerRunner:
    def __init__(self, layer: Layer, dtype):
        self.layer, self.b = layer, layer.bottleneck
        self.conv = CausalConv(layer.conv, dtype)
        self.mixin = CausalConv(layer.mixin, dtype)
        self.layer1x1 = CausalConv(layer.layer1x1, dtype) if layer.layer1x1 is not None else None
        self.head1x1 = CausalConv(layer.head1x1, dtype) if layer.head1x1 is not None else None
        self.films = {slot: FilmApply(f, dtype) for slot, f in layer.films.items()}

    def _film(self, slot: str, x: np.ndarray, cond: np.ndarray) -> np.ndarray:
        f = self.films.get(slot)
        return x if f is None else f(x, cond)

    def __call__(self, xin: np.ndarray, cond: np.ndarray):
        """One layer (core: wavenet::detail::Layer::Process). Returns (residual out, head out)."""
        L, f = self.layer, self._film
        zc = f("conv_post_film", self.conv(f("conv_pre_film", xin, cond)), cond)
        zm = f("input_mixin_post_film", self.mixin(f("input_mixin_pre_film", cond, cond)), cond)
        z = f("activation_pre_film", zc + zm, cond)
        if L.gating == "none":
            a = L.activation(z)
        elif L.gating == "gated":
            a = L.activation(z[:self.b]) * L.secondary(z[self.b:])
        else:  # blended
            alpha = L.secondary(z[self.b:])
            a = alpha * L.activation(z[:self.b]) + (1 - alpha) * z[:self.b]
        a = f("activation_post_film", a, cond)
        out = xin
        if self.layer1x1 is not None:
            r = self.layer1x1(a)
            if L.gating == "blended":  # the core applies layer1x1_post_film only when blending (spec: trainer/core)
                r = f("layer1x1_post_film", r, cond)
            out = xin + r
        head = a if self.head1x1 is None else f("head1x1_post_film", self.head1x1(a), cond)
        return out, head


class _ArrayRunner:
    def __init__(self, array: LayerArray, dtype):
        self.rechannel = CausalConv(array.rechannel, dtype)
        self.layers = [_LayerRunner(layer, dtype) for layer in array.layers]
        self.head = CausalConv(array.head, dtype)

    def __call__(self, x: np.ndarray, cond: np.ndarray, head_in: np.ndarray | None):
        h = self.rechannel(x)
        acc = None if head_in is None else head_in.copy()
        for layer in self.layers:
            h, hs = layer(h, cond)
            acc = hs.copy() if acc is None else acc + hs
        return h, self.head(acc)


class WaveNetRunner(_StatefulRunner):
    def __init__(self, model: Model, dtype):
        super().__init__()
        net: WaveNet = model.net
        self.in_channels, self.prewarm = net.in_channels, prewarm_samples(model)
        self.head_scale = dtype.type(np.float32(net.head_scale))
        self.arrays = [_ArrayRunner(a, dtype) for a in net.arrays]
        for i, ar in enumerate(self.arrays):
            for j, lr in enumerate(ar.layers):
                self.convs[f"a{i}.l{j}.conv"] = lr.conv
            self.convs[f"a{i}.head"] = ar.head
        self.post = []
        if net.post_head:
            self.post = [CausalConv(c, dtype) for c in net.post_head.convs]
            self.post_act = net.post_head.activation
            self.convs.update({f"post{k}": c for k, c in enumerate(self.post)})
        self.cond = None
        if net.condition is not None:
            self.cond = make_net_runner(net.condition, dtype)
            self.children["cond"] = self.cond

    def process(self, x: np.ndarray) -> np.ndarray:
        cond = x if self.cond is None else self.cond.process(x)
        h, head = x, None
        for ar in self.arrays:
            h, head = ar(h, cond, head)
        y = self.head_scale * head
        for conv in self.post:
            y = conv(self.post_act(y))
        return y


# ---- LSTM, ConvNet, Linear --------------------------------------------------------------------

class LSTMRunner(_StatefulRunner):
    def __init__(self, model: Model, dtype):
        super().__init__()
        net: LSTM = model.net
        self.in_channels, self.prewarm = net.in_channels, prewarm_samples(model)
        self.cells = [(c.w.astype(dtype), c.b.astype(dtype), c.h0.astype(dtype), c.c0.astype(dtype))
                      for c in net.cells]
        self.head_w, self.head_b = net.head_w.astype(dtype), net.head_b.astype(dtype)
        self.h = [c[2].copy() for c in self.cells]
        self.c = [c[3].copy() for c in self.cells]

    def state(self):
        out = {}
        for i, (h, c) in enumerate(zip(self.h, self.c)):
            out[f"l{i}.h"], out[f"l{i}.c"] = h.copy(), c.copy()
        return out

    def set_state(self, state):
        self.h = [state[f"l{i}.h"].copy() for i in range(len(self.cells))]
        self.c = [state[f"l{i}.c"].copy() for i in range(len(self.cells))]

    def zero(self):
        """The 'zero' state of an LSTM is the (h0, c0) stored in the file."""
        self.h = [c[2].copy() for c in self.cells]
        self.c = [c[3].copy() for c in self.cells]

    def process(self, x: np.ndarray) -> np.ndarray:
        n_h = [c[2].size for c in self.cells]
        y = np.empty((self.head_w.shape[0], x.shape[1]), x.dtype)
        one = x.dtype.type(1)
        for t in range(x.shape[1]):
            inp = x[:, t]
            for i, (w, b, _, _) in enumerate(self.cells):
                H = n_h[i]
                g = w @ np.concatenate([inp, self.h[i]]) + b
                with np.errstate(over="ignore"):
                    sig = one / (one + np.exp(-g))
                self.c[i] = sig[H:2 * H] * self.c[i] + sig[:H] * np.tanh(g[2 * H:3 * H])
                self.h[i] = sig[3 * H:] * np.tanh(self.c[i])
                inp = self.h[i]
            y[:, t] = self.head_w @ inp + self.head_b
        return y


class ConvNetRunner(_StatefulRunner):
    def __init__(self, model: Model, dtype):
        super().__init__()
        net: ConvNet = model.net
        self.in_channels, self.prewarm = net.in_channels, prewarm_samples(model)
        self.blocks = [CausalConv(c, dtype) for c in net.blocks]
        self.convs.update({f"b{i}": c for i, c in enumerate(self.blocks)})
        self.norms = [tuple(v.astype(dtype)[:, None] for v in bn.scale_loc()) for bn in net.batchnorms or ()]
        self.act = net.activation
        self.head_w, self.head_b = net.head_w.astype(dtype), net.head_b.astype(dtype)[:, None]

    def process(self, x: np.ndarray) -> np.ndarray:
        for i, conv in enumerate(self.blocks):
            x = conv(x)
            if self.norms:
                scale, loc = self.norms[i]
                x = x * scale + loc
            x = self.act(x)
        return self.head_w @ x + self.head_b


class LinearRunner(_StatefulRunner):
    """y[t] = bias + sum_i taps[i] * x[t-i] on each of min(in, out) channels; other outputs are 0."""

    def __init__(self, model: Model, dtype):
        super().__init__()
        net: Linear = model.net
        self.in_channels, self.prewarm = net.in_channels, prewarm_samples(model)
        self.out_channels, self.channels = net.out_channels, min(net.in_channels, net.out_channels)
        taps = net.taps[::-1].reshape(1, 1, -1)  # as a Conv, the last tap is the current sample
        w = np.zeros((self.channels, self.channels, taps.shape[2]), np.float32)
        w[np.arange(self.channels), np.arange(self.channels)] = taps[0, 0]
        bias = None if net.bias is None else np.full(self.channels, net.bias, np.float32)
        self.conv = CausalConv(Conv(w, bias), dtype)
        self.convs["taps"] = self.conv

    def process(self, x: np.ndarray) -> np.ndarray:
        y = self.conv(x[:self.channels])
        if self.out_channels > self.channels:
            y = np.concatenate([y, np.zeros((self.out_channels - self.channels, x.shape[1]), x.dtype)])
        return y


def container_runner(model: Model, dtype):
    """A SlimmableContainer runs the submodel its width selects (spec §6.4): alone, the widest."""
    return make_net_runner(model.at(), dtype)


RUNNERS = {WaveNet: WaveNetRunner, LSTM: LSTMRunner, ConvNet: ConvNetRunner, Linear: LinearRunner,
           Container: container_runner}
