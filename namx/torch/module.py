"""NamxModule: a namx Model as a PyTorch module, trainable, at any of its widths.

The module registers every weight array of the model as a parameter (running statistics of a
batchnorm and an LSTM's stored initial state as buffers) and keeps the model's structure as a
skeleton. `forward(x, width)` rebuilds the typed model with these tensors in place of the NumPy
arrays, takes `namx.widths.at(model, width)` -- the one place widths are defined, so a
channel-sliced width indexes the full parameters and training backpropagates into them -- and
runs the plain model with the functions below, which follow namx/reference.py line by line.

Prewarm (spec §7.1): with `prewarm=True` (default) output sample t is the response from the
prewarmed initial state, as the golden outputs are. WaveNet, ConvNet and Linear get this by
left-padding the input with `prewarm_samples` zeros (>= receptive field - 1, so every history
holds its silence steady state) and dropping those outputs; an LSTM (also as a WaveNet's
condition_dsp) runs those zeros from its stored (h0, c0) the same way. With `prewarm=False` no
warm-up is done: a model with a finite receptive field returns only the outputs whose whole
receptive field lies inside x (length T - RF + 1: what training on segments wants); one with an
LSTM starts from (h0, c0) and returns every output.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from namx.activations import FASTTANH, Activation
from namx.backends import ONE_WIDTH_AT_A_TIME, architecture
from namx.errors import NamxError
from namx.model import LSTM, BatchNorm, Container, Conv, ConvNet, Film, Layer, Linear, LSTMCell, Model, WaveNet
from namx.stats import prewarm_samples, receptive_field
from namx.widths import WidthLevel, at, select

# Arrays that are state or statistics rather than trained weights: registered as buffers.
BUFFERS = {(BatchNorm, "mean"), (BatchNorm, "var"), (LSTMCell, "h0"), (LSTMCell, "c0")}


def map_weights(obj, fn, path: str = ""):
    """Rebuild a model tree with every weight replaced by fn(path, value, owner, field).

    Weights are the array fields of the model's dataclasses, plus a Linear's scalar bias.
    Paths name the field chain, e.g. `arrays.0.layers.3.conv.weight`.
    """
    if isinstance(obj, (tuple, list)):
        return type(obj)(map_weights(v, fn, f"{path}.{i}" if path else str(i)) for i, v in enumerate(obj))
    if isinstance(obj, dict):
        return {k: map_weights(v, fn, f"{path}.{k}" if path else k) for k, v in obj.items()}
    if isinstance(obj, Model):
        return dataclasses.replace(obj, net=map_weights(obj.net, fn, path))
    if not dataclasses.is_dataclass(obj) or isinstance(obj, Activation):
        return obj
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        sub = f"{path}.{f.name}" if path else f.name
        is_weight = (isinstance(value, (np.ndarray, torch.Tensor))
                     or (isinstance(obj, Linear) and f.name == "bias" and value is not None))
        if is_weight:
            changes[f.name] = fn(sub, value, obj, f.name)
        elif isinstance(value, (tuple, list, dict, Model)) or dataclasses.is_dataclass(value):
            changes[f.name] = map_weights(value, fn, sub)
    return dataclasses.replace(obj, **changes)


def _param_name(path: str) -> str:
    return path.replace(".", "/")  # torch forbids dots in a parameter's own name


class NamxModule(nn.Module):
    """A namx Model as an nn.Module; `forward(x, width=None, slim=None, prewarm=True)`.

    x is (T,), (N, T) for mono, or (N, in_channels, T); the output has the same rank.
    `width` picks a level like everywhere in namx (label, `i<k>`, WidthLevel; default widest).
    """

    def __init__(self, model: Model):
        super().__init__()
        self.skeleton = model  # structure, config and metadata; its arrays are the initial values

        def register(path, value, owner, field):
            tensor = torch.tensor(np.asarray(value, np.float32))
            if (type(owner), field) in BUFFERS:
                self.register_buffer(_param_name(path), tensor)
            else:
                self.register_parameter(_param_name(path), nn.Parameter(tensor))
            return value

        map_weights(model, register)

    def tensor_model(self) -> Model:
        """The model with this module's tensors as its weights (for namx functions: widths.at, stats)."""
        return map_weights(self.skeleton, lambda path, value, owner, field: getattr(self, _param_name(path)))

    def widths(self) -> list[WidthLevel]:
        return self.skeleton.widths()

    def level(self, width=None, *, slim: float | None = None) -> WidthLevel:
        return width if isinstance(width, WidthLevel) else select(self.skeleton, width, slim=slim)

    def plain(self, width=None, *, slim: float | None = None) -> Model:
        """The plain single-width model (tensors) that forward runs at this width."""
        return at(self.tensor_model(), self.level(width, slim=slim))

    def forward(self, x: torch.Tensor, width=None, *, slim: float | None = None, prewarm: bool = True):
        squeeze = x.dim()
        if squeeze == 1:
            x = x[None, None]
        elif squeeze == 2:
            x = x[:, None]
        elif squeeze != 3:
            raise NamxError(f"input must be (T,), (N, T) or (N, C, T) (got shape {tuple(x.shape)})")
        model = self.plain(width, slim=slim)
        if x.shape[1] != model.in_channels:
            raise NamxError(f"{model.source}: input has {x.shape[1]} channels but the model takes {model.in_channels}")
        y = run(model, x, prewarm)
        return y[0, 0] if squeeze == 1 else (y[:, 0] if squeeze == 2 else y)


def from_model(model: Model) -> NamxModule:
    """An nn.Module for a namx Model (any architecture, any number of widths)."""
    return NamxModule(model)


def to_model(module: NamxModule) -> Model:
    """The module's current weights as a namx Model (float32), with the original config and metadata."""
    def take(path, value, owner, field):
        t = getattr(module, _param_name(path)).detach().cpu()
        arr = t.to(torch.float32).numpy().copy()
        return float(arr) if isinstance(owner, Linear) and field == "bias" else arr
    return map_weights(module.skeleton, take)


# ---- the forward pass of a plain model (follows namx/reference.py) ------------------------------

def run(model: Model, x: torch.Tensor, prewarm: bool = True) -> torch.Tensor:
    """Run a plain model on x (N, C, T) from its prewarmed state (or without warm-up).

    Prewarming runs `prewarm_samples` zeros first: left padding, whose outputs are dropped.
    """
    if prewarm:
        pad = prewarm_samples(model)
        return _net(model, F.pad(x, (pad, 0)))[..., pad:]
    y = _net(model, x)
    rf = receptive_field(model)
    return y if rf is None else y[..., rf - 1:]


def _net(model: Model, x: torch.Tensor) -> torch.Tensor:
    """A plain net on x from its zero state (zero histories; an LSTM's stored (h0, c0))."""
    return architecture(ARCHITECTURES, model)(model.net, x)


def conv(c: Conv, x: torch.Tensor) -> torch.Tensor:
    """Causal convolution from a zero history: tap k multiplies x[t - dilation*(K-1-k)]."""
    if c.history:
        x = F.pad(x, (c.history, 0))
    return F.conv1d(x, c.weight, c.bias, dilation=c.dilation, groups=c.groups)


def _film(film: Film, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    ss = conv(film.conv, cond)
    y = x * ss[:, :film.dim]
    return y + ss[:, film.dim:] if film.shift else y


def _layer(layer: Layer, xin: torch.Tensor, cond: torch.Tensor):
    def f(slot, v):
        return _film(layer.films[slot], v, cond) if slot in layer.films else v

    b = layer.bottleneck
    zc = f("conv_post_film", conv(layer.conv, f("conv_pre_film", xin)))
    zm = f("input_mixin_post_film", conv(layer.mixin, f("input_mixin_pre_film", cond)))
    z = f("activation_pre_film", zc + zm)
    if layer.gating == "none":
        a = activate(layer.activation, z)
    elif layer.gating == "gated":
        a = activate(layer.activation, z[:, :b]) * activate(layer.secondary, z[:, b:])
    else:  # blended
        alpha = activate(layer.secondary, z[:, b:])
        a = alpha * activate(layer.activation, z[:, :b]) + (1 - alpha) * z[:, :b]
    a = f("activation_post_film", a)
    out = xin
    if layer.layer1x1 is not None:
        r = conv(layer.layer1x1, a)
        if layer.gating == "blended":  # the core applies layer1x1_post_film only when blending
            r = f("layer1x1_post_film", r)
        out = xin + r
    head = a if layer.head1x1 is None else f("head1x1_post_film", conv(layer.head1x1, a))
    return out, head


def _wavenet(net: WaveNet, x: torch.Tensor) -> torch.Tensor:
    cond = x if net.condition is None else _net(net.condition, x)
    h, head = x, None
    for a in net.arrays:
        h = conv(a.rechannel, h)
        acc = head
        for layer in a.layers:
            h, hs = _layer(layer, h, cond)
            acc = hs if acc is None else acc + hs
        head = conv(a.head, acc)
    y = float(np.float32(net.head_scale)) * head
    if net.post_head is not None:
        for c in net.post_head.convs:
            y = conv(c, activate(net.post_head.activation, y))
    return y


def _convnet(net: ConvNet, x: torch.Tensor) -> torch.Tensor:
    for i, block in enumerate(net.blocks):
        x = conv(block, x)
        if net.batchnorms is not None:
            bn = net.batchnorms[i]
            # scale/loc in float32, as the core (and the reference) compute them
            scale = bn.weight.float() / torch.sqrt(np.float32(bn.eps) + bn.var.float())
            loc = bn.bias.float() - scale * bn.mean.float()
            x = x * scale.to(x.dtype)[:, None] + loc.to(x.dtype)[:, None]
        x = activate(net.activation, x)
    return torch.einsum("oc,nct->not", net.head_w, x) + net.head_b[:, None]


def _linear(net: Linear, x: torch.Tensor) -> torch.Tensor:
    """y[t] = bias + sum_i taps[i] x[t-i] per channel (taps[0] is the current sample: the core's order)."""
    ch = min(net.in_channels, net.out_channels)
    w = net.taps.flip(0).reshape(1, 1, -1).expand(ch, 1, -1)
    bias = None if net.bias is None else net.bias.reshape(1).expand(ch)
    y = conv(Conv(w, bias, groups=ch), x[:, :ch])
    if net.out_channels > ch:
        y = torch.cat([y, y.new_zeros(y.shape[0], net.out_channels - ch, y.shape[2])], dim=1)
    return y


def _lstm(net: LSTM, x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    params = []
    for cell in net.cells:
        cin = cell.w.shape[1] - cell.hidden_size
        params += [cell.w[:, :cin], cell.w[:, cin:], cell.b, torch.zeros_like(cell.b)]
    h = torch.stack([c.h0 for c in net.cells])[:, None].expand(-1, n, -1).to(x.dtype).contiguous()
    c = torch.stack([c.c0 for c in net.cells])[:, None].expand(-1, n, -1).to(x.dtype).contiguous()
    params = [p.to(x.dtype) for p in params]
    seq = x.transpose(1, 2)  # (N, T, C)
    out, _, _ = torch.lstm(seq, (h, c), params, True, len(net.cells), 0.0, False, False, True)
    return (torch.einsum("oh,nth->not", net.head_w, out) + net.head_b[:, None])


# IR type -> run(net, x) (namx.backends)
ARCHITECTURES = {WaveNet: _wavenet, LSTM: _lstm, ConvNet: _convnet, Linear: _linear, Container: ONE_WIDTH_AT_A_TIME}


# ---- activations: one table, as namx/activations.py defines them -------------------------------

def _leaky(x, slope):
    return torch.where(x > 0, x, x * slope)


def _fasttanh(x):
    ax, x2 = x.abs(), x * x
    c0, c1, c2, c3, c4 = FASTTANH
    return (x * (c0 + c0 * ax + (c1 + c2 * ax) * x2)) / (c3 + (c3 + x2) * (x + c4 * x * ax).abs())


def _prelu(a: Activation, x):
    if a.slopes:
        return _leaky(x, torch.tensor(a.slopes, dtype=x.dtype, device=x.device)[:, None])
    return _leaky(x, a.param("negative_slope"))


def _leaky_hardtanh(a: Activation, x):
    lo, hi = a.param("min_val"), a.param("max_val")
    return torch.where(x < lo, (x - lo) * a.param("min_slope") + lo,
                       torch.where(x > hi, (x - hi) * a.param("max_slope") + hi, x))


# activation name -> f(a, x) (namx.backends)
ACTIVATIONS = {
    "Tanh": lambda a, x: torch.tanh(x),
    "Fasttanh": lambda a, x: _fasttanh(x),
    "Hardtanh": lambda a, x: x.clamp(-1.0, 1.0),
    "ReLU": lambda a, x: torch.relu(x),
    "LeakyReLU": lambda a, x: _leaky(x, a.param("negative_slope")),
    "PReLU": _prelu,
    "Sigmoid": lambda a, x: torch.sigmoid(x),
    "SiLU": lambda a, x: x * torch.sigmoid(x),
    "Hardswish": lambda a, x: x * (x + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0),
    "LeakyHardtanh": _leaky_hardtanh,
    "Softsign": lambda a, x: x / (1.0 + x.abs()),
}


def activate(a: Activation, x: torch.Tensor) -> torch.Tensor:
    return ACTIVATIONS[a.name](a, x)
