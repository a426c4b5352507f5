"""WaveNet as TFLite ops: every feature the loader accepts (NeuralAmpModelerCore's generic path).

Gating/blending, the eight FiLM slots, grouped convolutions (expanded to dense filters),
bottleneck, head1x1, layer1x1 on or off, condition_dsp (built inline, its state prefixed
`cond.`), head kernels > 1 with head_dilation, and the post-stack head. head_scale is folded
into the last layer array's head convolution.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from namx.model import Film, Layer, LayerArray, Model, WaveNet

from .stream import StreamGraph


def build(sg: StreamGraph, model: Model, x: int, prefix: str) -> int:
    net: WaveNet = model.net
    cond = x if net.condition is None else sg.net(net.condition, x, f"{prefix}cond.")
    h, head = x, None
    for i, array in enumerate(net.arrays):
        if i == len(net.arrays) - 1:  # y = head_scale * head(acc): fold the scale into that conv
            s = np.float32(net.head_scale)
            bias = None if array.head.bias is None else array.head.bias * s
            array = replace(array, head=replace(array.head, weight=array.head.weight * s, bias=bias))
        h, head = _array(sg, array, f"{prefix}a{i}", h, cond, head)
    y = head
    if net.post_head:
        for k, conv in enumerate(net.post_head.convs):
            a = sg.activation(y, net.post_head.activation, f"{prefix}post{k}.act")
            y = sg.conv(a, conv, f"{prefix}post{k}", state=f"{prefix}post{k}")
    return y


def _array(sg: StreamGraph, array: LayerArray, name: str, x: int, cond: int, head_in: int | None):
    h = sg.conv(x, array.rechannel, f"{name}.rechannel")
    acc = head_in
    for j, layer in enumerate(array.layers):
        h, hs = _layer(sg, layer, f"{name}.l{j}", h, cond)
        acc = hs if acc is None else sg.g.add(acc, hs, f"{name}.l{j}.acc")
    return h, sg.conv(acc, array.head, f"{name}.head", state=f"{name}.head")


def _layer(sg: StreamGraph, layer: Layer, name: str, xin: int, cond: int):
    """One layer (core: wavenet::detail::Layer::Process); returns (residual out, head out)."""
    g = sg.g

    def film(slot: str, v: int) -> int:
        f = layer.films.get(slot)
        return v if f is None else _film(sg, f, v, cond, f"{name}.{slot}")

    conv, mixin = layer.conv, layer.mixin
    if not {"conv_post_film", "input_mixin_post_film"} & layer.films.keys():
        # z = conv + bias + mixin. Kernels that start their accumulator at the bias (XNNPACK) lose
        # precision when a large bias meets a long sum; the one-term mixin takes the bias instead.
        conv, mixin = replace(conv, bias=None), replace(mixin, bias=conv.bias)
    zc = film("conv_post_film", sg.conv(film("conv_pre_film", xin), conv, f"{name}.conv", state=f"{name}.conv"))
    zm = film("input_mixin_post_film", sg.conv(film("input_mixin_pre_film", cond), mixin, f"{name}.mixin"))
    z = film("activation_pre_film", g.add(zc, zm, f"{name}.z"))
    if layer.gating == "none":
        a = sg.activation(z, layer.activation, f"{name}.act")
    else:
        b = layer.bottleneck
        z1, z2 = g.split(z, [b, b], 3, f"{name}.halves")
        if layer.gating == "gated":
            a = g.mul(sg.activation(z1, layer.activation, f"{name}.act"),
                      sg.activation(z2, layer.secondary, f"{name}.gate"), f"{name}.gated")
        else:  # blended: alpha*act(z1) + (1-alpha)*z1
            alpha = sg.activation(z2, layer.secondary, f"{name}.alpha")
            a = g.add(g.mul(alpha, sg.activation(z1, layer.activation, f"{name}.act"), f"{name}.mix_a"),
                      g.mul(g.sub(g.scalar(1.0), alpha, f"{name}.one_minus"), z1, f"{name}.mix_b"), f"{name}.blended")
    a = film("activation_post_film", a)
    out = xin
    if layer.layer1x1 is not None:
        r = sg.conv(a, layer.layer1x1, f"{name}.layer1x1")
        if layer.gating == "blended":  # the core applies layer1x1_post_film only when blending (spec §12)
            r = film("layer1x1_post_film", r)
        out = g.add(xin, r, f"{name}.residual")
    head = a if layer.head1x1 is None else film("head1x1_post_film", sg.conv(a, layer.head1x1, f"{name}.head1x1"))
    return out, head


def _film(sg: StreamGraph, film: Film, x: int, cond: int, name: str) -> int:
    """x * scale (+ shift), with [scale; shift] = conv1x1(condition)."""
    g = sg.g
    ss = sg.conv(cond, film.conv, f"{name}.conv")
    if not film.shift:
        return g.mul(x, ss, name)
    scale, shift = g.split(ss, [film.dim, film.dim], 3, f"{name}.split")
    return g.add(g.mul(x, scale, f"{name}.scale"), shift, name)
