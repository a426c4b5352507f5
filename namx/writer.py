"""Write a Model as .nam JSON: the inverse of loader.py.

`to_json(model)` builds the .nam object (config keys the core reads, weights in the core's
consumption order, metadata and sample rate kept), `dumps` makes the text and `save` writes a
file atomically. Loading what this writes gives a model with bit-identical float32 weights:
weights are written as the exact decimal of each float32 (`repr` of the float64 it widens to).

A model loaded from a file and not changed since is written in its source's form: its config
and weights exactly as the file had them (`Model.raw`), each submodel of a container in its own
form. That matters beyond tidiness: NeuralAmpModelerCore recognises A2-shaped WaveNets by their
config's form (e.g. a per-layer `activation` list) and runs those on a fast path (spec §3.12).
"Unchanged" is checked, not assumed: the source form is used only when regenerating it gives
the same config and weights as regenerating the model. Otherwise the config is regenerated from
the typed model, so spellings the loader accepts but the typed model does not keep (legacy
`gated`/`head_size` keys, a Linear's `implementation` hint, a config `head_scale` that differs
from the last weight) come out in their current form.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import NamxError
from .outputs import atomic_output, check_output_path
from .model import FILM_SLOTS, LSTM, Container, Conv, ConvNet, LayerArray, Linear, Model, WaveNet

SLIMMABLE_VERSION = "0.7.0"  # the first file version with slimmable WaveNets and SlimmableContainer


def to_json(model: Model) -> dict:
    """The .nam object for a model (a dict ready for json.dumps)."""
    config, weights = _source_form(model) or _generated(model)
    obj = {"version": _version(model), "metadata": model.metadata, "architecture": model.architecture,
           "config": config, "weights": weights}
    if not model.sample_rate_assumed:  # (as the source spelled it, e.g. 48000 rather than 48000.0)
        source_rate = (model.raw or {}).get("sample_rate")
        obj["sample_rate"] = source_rate if source_rate == model.sample_rate else model.sample_rate
    return obj


def dumps(model: Model) -> str:
    return json.dumps(to_json(model))


def save(model: Model, path: str | Path, *, force: bool = False) -> Path:
    """Write the model as a .nam file (atomically; an existing file only with force)."""
    path = check_output_path(path, force, suffixes=(".nam",))
    text = dumps(model)
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return path


def _generated(model: Model) -> tuple[dict, list[float]]:
    """(config, weights) regenerated from the typed model."""
    net = model.net
    if isinstance(net, WaveNet):
        return _wavenet(net)
    if isinstance(net, LSTM):
        return _lstm(net)
    if isinstance(net, ConvNet):
        return _convnet(net)
    if isinstance(net, Linear):
        return _linear(net)
    return {"submodels": [{"max_value": mv, "model": to_json(sub)} for mv, sub in net.submodels]}, []


def _source_form(model: Model) -> tuple[dict, list] | None:
    """(config, weights) in the source file's form: as the file had them if the model is still
    what was loaded from it; for a model derived from it (a channel-sliced width), the source's
    config with only the values the derivation changed replaced; None if neither describes it."""
    raw = model.raw
    if raw is None or isinstance(model.net, Container):  # (a container's submodels keep their own forms)
        return None
    from .loader import from_json
    source, wanted = _generated(from_json(raw, model.source)), _generated(model)
    if source == wanted:
        return raw["config"], raw["weights"]
    config = _merge(raw["config"], source[0], wanted[0])
    try:
        if _generated(from_json({**raw, "config": config, "weights": wanted[1]}, model.source)) != wanted:
            return None
    except NamxError:
        return None
    return config, wanted[1]


def _merge(raw, source, wanted):
    """`raw` with each value where the generated forms differ (`source`: of the raw model,
    `wanted`: of the model to write) taken from `wanted`; a per-layer list stays a list."""
    if isinstance(raw, dict) and isinstance(source, dict) and isinstance(wanted, dict):
        out = dict(raw)
        for key in [*source, *(k for k in wanted if k not in source)]:  # (an order that does not vary)
            if source.get(key) == wanted.get(key):
                continue
            if key not in wanted:
                if key in raw:  # an option the written model does not use: NAM's trainer writes it as null
                    out[key] = None
            elif key in raw and key in source:
                out[key] = _merge(raw[key], source[key], wanted[key])
            else:
                out[key] = wanted[key]
        return out
    if all(isinstance(v, list) for v in (raw, source, wanted)) and len(raw) == len(source) == len(wanted):
        return [_merge(r, s, w) for r, s, w in zip(raw, source, wanted)]
    if isinstance(raw, list) and not isinstance(source, list) and not isinstance(wanted, list):
        return [_merge(r, source, wanted) for r in raw]  # one value for every layer, spelled per layer
    return wanted


def _version(model: Model) -> str:
    net = model.net
    needs_slim = isinstance(net, Container) or (isinstance(net, WaveNet) and net.slimmable)
    as_tuple = tuple(int(p) for p in model.version.split("."))
    if needs_slim and as_tuple < (0, 7, 0):
        return SLIMMABLE_VERSION
    return model.version


def _floats(a) -> list[float]:
    return np.asarray(a, np.float32).reshape(-1).tolist()


def _conv_weights(conv: Conv) -> list[float]:
    return _floats(conv.weight) + ([] if conv.bias is None else _floats(conv.bias))


def _one_or_list(values: list):
    return values[0] if all(v == values[0] for v in values) else values


def _wavenet(net: WaveNet) -> tuple[dict, list[float]]:
    config = {"layers": [_layer_array(a) for a in net.arrays], "head": None,
              "head_scale": float(np.float32(net.head_scale))}
    if net.post_head is not None:
        convs = net.post_head.convs
        config["head"] = {"channels": convs[0].out_channels if len(convs) > 1 else convs[-1].out_channels,
                          "out_channels": convs[-1].out_channels, "kernel_sizes": [c.kernel_size for c in convs],
                          "activation": net.post_head.activation.to_json()}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.condition is not None:
        config["condition_dsp"] = to_json(net.condition)
    weights = [w for c in net.convs() for w in _conv_weights(c)] + [float(np.float32(net.head_scale))]
    return config, weights


def _layer_array(a: LayerArray) -> dict:
    first = a.layers[0]
    cfg = {"input_size": a.input_size, "condition_size": a.condition_size, "channels": a.channels,
           "bottleneck": first.bottleneck,
           "dilations": [layer.conv.dilation for layer in a.layers]}
    kernels = [layer.conv.kernel_size for layer in a.layers]
    if len(set(kernels)) == 1:
        cfg["kernel_size"] = kernels[0]
    else:
        cfg["kernel_sizes"] = kernels
    cfg["activation"] = _one_or_list([layer.activation.to_json() for layer in a.layers])
    gatings = [layer.gating for layer in a.layers]
    if any(g != "none" for g in gatings):
        cfg["gating_mode"] = _one_or_list(gatings)
        cfg["secondary_activation"] = _one_or_list(
            [None if layer.secondary is None else layer.secondary.to_json() for layer in a.layers])
    if first.conv.groups != 1:
        cfg["groups_input"] = first.conv.groups
    if first.mixin.groups != 1:
        cfg["groups_input_mixin"] = first.mixin.groups
    cfg["layer1x1"] = {"active": first.layer1x1 is not None,
                       "groups": first.layer1x1.groups if first.layer1x1 is not None else 1}
    h1 = first.head1x1
    # (out_channels is unused when inactive; NAM's trainer writes its default, 1)
    cfg["head1x1"] = {"active": h1 is not None, "out_channels": h1.out_channels if h1 is not None else 1,
                      "groups": h1.groups if h1 is not None else 1}
    for slot in FILM_SLOTS:
        if slot in first.films:
            film = first.films[slot]
            cfg[slot] = {"active": True, "shift": film.shift, "groups": film.conv.groups}
    head = {"out_channels": a.head_size, "kernel_size": a.head.kernel_size, "bias": a.head.bias is not None}
    if a.head.dilation != 1:
        head["head_dilation"] = a.head.dilation
    cfg["head"] = head
    if a.allowed_channels is not None:
        cfg["slimmable"] = {"method": "slice_channels_uniform",
                            "kwargs": {"allowed_channels": list(a.allowed_channels)}}
    return cfg


def _lstm(net: LSTM) -> tuple[dict, list[float]]:
    config = {"input_size": net.in_channels, "hidden_size": net.hidden_size, "num_layers": len(net.cells)}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    weights = [w for c in net.cells for a in (c.w, c.b, c.h0, c.c0) for w in _floats(a)]
    return config, weights + _floats(net.head_w) + _floats(net.head_b)


def _convnet(net: ConvNet) -> tuple[dict, list[float]]:
    config = {"channels": net.channels, "dilations": [c.dilation for c in net.blocks],
              "batchnorm": net.batchnorms is not None, "activation": net.activation.to_json()}
    if net.blocks[0].groups != 1:
        config["groups"] = net.blocks[0].groups
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    weights = []
    for i, conv in enumerate(net.blocks):
        weights += _conv_weights(conv)
        if net.batchnorms is not None:
            bn = net.batchnorms[i]
            weights += _floats(bn.mean) + _floats(bn.var) + _floats(bn.weight) + _floats(bn.bias) + _floats([bn.eps])
    return config, weights + _floats(net.head_w) + _floats(net.head_b)


def _linear(net: Linear) -> tuple[dict, list[float]]:
    config = {"receptive_field": int(net.taps.size), "bias": net.bias is not None}
    if net.in_channels != 1:
        config["in_channels"] = net.in_channels
    if net.out_channels != 1:
        config["out_channels"] = net.out_channels
    return config, _floats(net.taps) + ([] if net.bias is None else _floats([net.bias]))
