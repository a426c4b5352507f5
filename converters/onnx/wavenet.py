"""WaveNet -> ONNX (channel-major [1, C, T]; one state tensor per causal conv).

Layout (measured fastest in ONNX Runtime at small blocks; reference/onnx-streaming-measurements):
where an array allows it ("folded"), the condition signal rides as the FIRST rows of the residual
stream, so each layer's input mixin becomes extra input channels of its dilated conv (weights on
the last tap only) and the 1x1 writes zero rows back to them. Putting the condition first keeps
every tensor of a channel-sliced level a leading block of the full tensor. An array is folded
when none of its layers FiLMs the conv or mixin path (or layer1x1's output) and groups_input is 1.
head_scale is folded into the last head conv.
"""
from __future__ import annotations

import numpy as np

from namx.model import Conv, Film, Layer, LayerArray, WaveNet

from . import activations
from .builder import Builder

UNFOLDABLE_FILMS = {"conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
                    "layer1x1_post_film"}


def foldable(array: LayerArray) -> bool:
    return all(layer.conv.groups == 1 and not (UNFOLDABLE_FILMS & set(layer.films)) for layer in array.layers)


def causal_conv(b: Builder, P, S, name: str, x, w: np.ndarray, bias=None, dilation: int = 1, groups: int = 1):
    """Conv over [state | x] keeping the last (K-1)*dilation input columns as state `name`."""
    k = w.shape[2]
    args = [P.tensor(f"{name}.w", w)] + ([P.tensor(f"{name}.b", bias)] if bias is not None else [])
    if k > 1:
        hist = (k - 1) * dilation
        rows = w.shape[1] * groups
        st = S.read(name, P.dim(f"{name}.rows", rows), hist, np.zeros((1, rows, hist), np.float32))
        x = b.op("Concat", st, x, axis=2)
        S.write(name, b.tail(x, hist, axis=2))
    return b.op("Conv", x, *args, dilations=[dilation], group=groups, kernel_shape=[k])


def conv1x1(b: Builder, P, name: str, x, conv: Conv, scale: float = 1.0):
    bias = None if conv.bias is None else conv.bias * np.float32(scale)
    return causal_conv(b, P, None, name, x, conv.weight * np.float32(scale), bias, groups=conv.groups)


def film(b: Builder, P, name: str, f: Film, x, cond):
    ss = conv1x1(b, P, name, cond, f.conv)
    d = P.dim(f"{name}.D", f.dim)
    y = b.op("Mul", x, b.slice(ss, 0, d, axis=1))
    return b.op("Add", y, b.slice(ss, d, P.dim(f"{name}.2D", 2 * f.dim), axis=1)) if f.shift else y


def build(b: Builder, P, S, net: WaveNet, x, prefix: str, build_net):
    """Append the WaveNet's ops; x is [1, in_channels, T]; returns [1, out_channels, T]."""
    cond = x if net.condition is None else build_net(b, P, S, net.condition, x, prefix + "cond.")
    cs = net.condition.out_channels if net.condition is not None else net.in_channels
    h, h_has_cond, head = x, False, None
    for i, array in enumerate(net.arrays):
        last = i == len(net.arrays) - 1
        x_is_cond = i == 0 and net.condition is None  # then the raw input is also the condition
        h, h_has_cond, head = _array(b, P, S, array, h, h_has_cond, x_is_cond, cond, cs, head, f"{prefix}a{i}",
                                     head_scale=net.head_scale if last else 1.0)
    y = head
    if net.post_head is not None:
        for k, conv in enumerate(net.post_head.convs):
            y = activations.apply(b, P, net.post_head.activation, y, f"{prefix}post{k}.act")
            y = causal_conv(b, P, S, f"{prefix}post{k}", y, conv.weight, conv.bias, 1, conv.groups)
    return y


def _array(b, P, S, array: LayerArray, h, h_has_cond, x_is_cond, cond, cs, head_in, p, head_scale):
    fold = foldable(array)
    h = _rechannel(b, P, array.rechannel, h, h_has_cond, x_is_cond, fold, cond, cs, f"{p}.rechannel")
    heads = [] if head_in is None else [head_in]
    for j, layer in enumerate(array.layers):
        h, hs = _layer(b, P, S, layer, h, cond, cs if fold else 0, f"{p}.l{j}")
        heads.append(hs)
    acc = heads[0] if len(heads) == 1 else b.op("Sum", *heads)
    hc = array.head
    bias = None if hc.bias is None else hc.bias * np.float32(head_scale)
    head = causal_conv(b, P, S, f"{p}.head", acc, hc.weight * np.float32(head_scale), bias, hc.dilation)
    return h, fold, head


def _rechannel(b, P, conv: Conv, h, h_has_cond, x_is_cond, fold, cond, cs, name):
    """1x1 into the array's channels, adding or dropping the condition rows the layout needs.

    h_has_cond: h is a folded stream [cond; h]. x_is_cond: h is the raw input and also the condition.
    """
    r = conv.dense()[0]  # (C, in)
    if x_is_cond:
        w = np.concatenate([np.eye(cs, dtype=np.float32), r]) if fold else r  # [x; R x] or R x
    elif fold and not h_has_cond:  # the condition comes from elsewhere: append it explicitly
        return b.op("Concat", cond, conv1x1(b, P, name, h, conv), axis=1)
    else:  # keep the condition rows when both sides are folded, drop them when only the input is
        off, top = (cs if h_has_cond else 0), (cs if fold else 0)
        w = np.zeros((top + r.shape[0], off + r.shape[1]), np.float32)
        w[:top, :top] = np.eye(top)
        w[top:, off:] = r
    return causal_conv(b, P, None, name, h, w[:, :, None])


def _layer(b, P, S, layer: Layer, h, cond, cs, p):
    """One layer. cs > 0: folded (h = [cond; stream]); cs == 0: plain stream."""
    f = layer.films

    def maybe(slot, v):
        return film(b, P, f"{p}.{slot}", f[slot], v, cond) if slot in f else v

    conv, mix = layer.conv, layer.mixin
    if cs:
        wd = conv.dense().transpose(1, 2, 0)  # (Bg, C, K)
        w = np.zeros((wd.shape[0], cs + wd.shape[1], wd.shape[2]), np.float32)
        w[:, cs:, :] = wd
        w[:, :cs, -1] = mix.dense()[0]
        z = causal_conv(b, P, S, f"{p}.conv", h, w, conv.bias, conv.dilation)
    else:
        u = maybe("conv_pre_film", h)
        zc = maybe("conv_post_film", causal_conv(b, P, S, f"{p}.conv", u, conv.weight, conv.bias, conv.dilation,
                                                  conv.groups))
        m = maybe("input_mixin_pre_film", cond)
        zm = maybe("input_mixin_post_film", conv1x1(b, P, f"{p}.mixin", m, mix))
        z = b.op("Add", zc, zm)
    z = maybe("activation_pre_film", z)
    if layer.gating == "none":
        a = activations.apply(b, P, layer.activation, z, f"{p}.act")
    else:
        bn = P.dim(f"{p}.B", layer.bottleneck)
        z1 = b.slice(z, 0, bn, axis=1)
        z2 = b.slice(z, bn, P.dim(f"{p}.Bg", 2 * layer.bottleneck), axis=1)
        a1 = activations.apply(b, P, layer.activation, z1, f"{p}.act")
        gate = activations.apply(b, P, layer.secondary, z2, f"{p}.sec")
        if layer.gating == "gated":
            a = b.op("Mul", a1, gate)
        else:  # blended: gate*act(z1) + (1 - gate)*z1 = z1 + gate*(act(z1) - z1)
            a = b.op("Add", z1, b.op("Mul", gate, b.op("Sub", a1, z1)))
    a = maybe("activation_post_film", a)
    out = h
    if layer.layer1x1 is not None:
        l1 = layer.layer1x1
        if cs:
            ld = l1.dense()[0]
            w = np.zeros((cs + ld.shape[0], ld.shape[1], 1), np.float32)
            w[cs:, :, 0] = ld
            r = causal_conv(b, P, None, f"{p}.layer1x1", a, w, np.concatenate([np.zeros(cs, np.float32), l1.bias]))
        else:
            r = conv1x1(b, P, f"{p}.layer1x1", a, l1)
            if layer.gating == "blended":  # the core applies layer1x1_post_film only when blending
                r = maybe("layer1x1_post_film", r)
        out = b.op("Add", h, r)
    hs = a
    if layer.head1x1 is not None:
        hs = maybe("head1x1_post_film", conv1x1(b, P, f"{p}.head1x1", a, layer.head1x1))
    return out, hs
