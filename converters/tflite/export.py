"""Assemble streaming .tflite models from plain (single-width) namx models.

ARCHITECTURES is the registry: one module per architecture, each a `build(sg, model, x, prefix)`.
Containers and channel-sliced models reach it through `model.at(level)`, the one place widths are
applied, so every width is just a plain model here.
"""
from __future__ import annotations

import json

import numpy as np

from namx import __version__
from namx.backends import ONE_WIDTH_AT_A_TIME
from namx.errors import NamxError
from namx.metadata import copied
from namx.model import LSTM, Container, ConvNet, Linear, Model, WaveNet
from namx.reference import initial_state
from namx.spec import SPEC_VERSION
from namx.stats import receptive_field
from namx.widths import WidthLevel

from . import binding, convnet, linear, lstm, wavenet
from .binding import AUDIO, AUDIO_OUT, NEXT_SUFFIX, StreamBinding
from .builder import ModelBuilder
from .stream import StreamGraph

# IR type -> build(sg, model, x, prefix) (namx.backends)
ARCHITECTURES = {WaveNet: wavenet.build, LSTM: lstm.build, ConvNet: convnet.build, Linear: linear.build,
                 Container: ONE_WIDTH_AT_A_TIME}
SPEC = f"A2 {SPEC_VERSION}"


# An LSTM is unrolled over the block, so its cost per sample does not fall with longer blocks
# while its graph (and build time) grows with them: runtimes cap such models at this block size.
MAX_UNROLLED_BLOCK = 64


def unrolled(plain: Model) -> bool:
    """Whether the plain model's graph is unrolled over the block (it has an LSTM somewhere)."""
    net = plain.net
    return isinstance(net, LSTM) or (isinstance(net, WaveNet) and net.condition is not None and unrolled(net.condition))


def tensor_state(plain: Model) -> dict[str, np.ndarray]:
    """The prewarmed initial state (namx.reference.initial_state, the source of truth) in tensor layout.

    A history (channels, rows) becomes [1, rows, 1, channels], oldest row first; an LSTM vector
    (H,) becomes [1, H].
    """
    out = {}
    for name, v in initial_state(plain).items():
        v = np.asarray(v, np.float32)
        out[name] = np.ascontiguousarray(v.T[None, :, None, :] if v.ndim == 2 else v[None, :])
    return out


def check_streamable(model: Model) -> None:
    if model.in_channels != 1 or model.out_channels != 1:
        raise NamxError(f"{model.source}: model has {model.in_channels} input and {model.out_channels} output "
                        "channels; the TFLite binding streams mono (1 in, 1 out) models only")


def add_stream(mb: ModelBuilder, plain: Model, block: int, carrier: str, key: str, level: WidthLevel,
               state: dict[str, np.ndarray]) -> StreamBinding:
    """One streaming subgraph for `block` samples, with signature `key`."""
    g = mb.graph(key)
    sg = StreamGraph(g, block, carrier, ARCHITECTURES)
    audio = g.tensor(AUDIO, (1, block))
    y = sg.net(plain, g.reshape(audio, (1, block, 1, 1), "audio:nhwc"))
    out = g.reshape(y, (1, block), AUDIO_OUT)
    specs = sg.finish(audio, out, list(state))
    for spec in specs:
        assert spec.shape == state[spec.name].shape, (spec, state[spec.name].shape)
    ins, outs = {AUDIO: audio}, {AUDIO: out}
    for name, t_in, t_out in zip(state, g.sg.inputs[1:], g.sg.outputs[1:]):
        ins[name], outs[name] = t_in, t_out
        assert g.name(t_in) == name and g.name(t_out) == name + NEXT_SUFFIX
    mb.signature(key, g, ins, outs)
    return StreamBinding(key, g.index, level.label, level.index, block, float(plain.sample_rate),
                         list(state), [s.shape for s in specs], f"{binding.INITIAL_STATE}.{key}", state,
                         receptive_field(plain), carrier)


def _finish(mb: ModelBuilder, model: Model, bindings: list[StreamBinding]) -> bytes:
    meta = {"format": binding.FORMAT, "spec": SPEC, "namx_version": __version__,
            "architecture": model.architecture, "sample_rate": float(model.sample_rate),
            "widths": [lv.label for lv in model.widths()],
            "metadata": copied(model.metadata),
            "graphs": [b.to_json() for b in bindings]}
    mb.metadata(binding.METADATA, json.dumps(meta).encode())
    for b in bindings:
        if b.initial_state_buffer is not None:
            mb.metadata(b.initial_state_buffer, b.initial_state_bytes())
    return mb.to_bytes()


def export_widths(model: Model, levels: list[WidthLevel], block: int,
                  embed_state: bool = True) -> tuple[bytes, list[StreamBinding]]:
    """The binding's file: one streaming subgraph per level (state as inputs/outputs), subgraph 0 first.

    A file for TFLite-Micro has one level (TFLM runs subgraph 0 only); several levels make the
    LiteRT multi-signature file (`--signatures`). Without `embed_state` the metadata does not hold
    the initial state (the C array's model: its .cc holds the state once, compactly); the returned
    bindings still carry it.
    """
    check_streamable(model)
    mb = ModelBuilder(f"namx {__version__}: {model.architecture}, block {block}")
    bindings = []
    for lv in levels:
        plain = model.at(lv)
        bindings.append(add_stream(mb, plain, block, "io", binding.signature_key(lv.label), lv, tensor_state(plain)))
        if not embed_state:
            bindings[-1].initial_state_buffer = None
    return _finish(mb, model, bindings), bindings


def runtime_model(model: Model, level: WidthLevel, blocks: list[int], carrier: str,
                  state: dict[str, np.ndarray] | None = None) -> tuple[bytes, list[StreamBinding]]:
    """One level at several block sizes (signature `block_<N>`, subgraph 0 first), for runtimes.

    With carrier "variables" the subgraphs share their state, and signature `reset` (no inputs or
    outputs) assigns the initial state to every variable. `state` is tensor_state(model.at(level)),
    passed in when the caller already has it.
    """
    check_streamable(model)
    plain = model.at(level)
    state = tensor_state(plain) if state is None else state
    mb = ModelBuilder(f"namx {__version__}: {model.architecture} runtime model")
    bindings = [add_stream(mb, plain, b, carrier, f"block_{b}", level, state) for b in blocks]
    if carrier == "variables":
        g = mb.graph("reset")
        for name, value in state.items():
            g.assign_variable(g.variable(name), g.const(f"{name}:initial", value))
        mb.signature("reset", g, {}, {})
    return _finish(mb, model, bindings), bindings
