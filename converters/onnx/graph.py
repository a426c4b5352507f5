"""Assemble streaming ONNX graphs (spec §9, ONNX binding).

- fixed_model(plain): one width, pruned weights: inputs audio + state.*, outputs audio_out + next_state.*
- dynamic_model(model): all widths in one graph; extra input `width` and state `state.level`.
  Channel-sliced WaveNets keep one set of weights and slice them in-graph; containers select
  their submodel with If. The graph applies the width-change rule itself (spec §7.3): when the
  level differs from `state.level`, the incoming state is replaced by that level's initial state.

The initial (prewarmed) state travels in the file's metadata (METADATA_INITIAL_STATE: the states
in order as little-endian float32, base64), readable with onnxruntime alone. State inputs have no
defaults: ONNX Runtime warns about every input that also has an initializer.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir

from namx import SPEC_VERSION, __version__
from namx.model import LSTM, Container, ConvNet, Linear, Model, WaveNet
from namx.stats import prewarm_samples, receptive_field

from . import convnet, linear, lstm, wavenet
from .builder import STATE_IN, STATE_OUT, Builder, CollectParams, FixedParams, SlicedParams, States

OPSET = 17
IR_VERSION = 8
AUDIO_IN, AUDIO_OUT, WIDTH_IN, LEVEL_STATE = "audio", "audio_out", "width", "level"
BUILDERS = {WaveNet: wavenet.build, LSTM: lstm.build, ConvNet: convnet.build, Linear: linear.build}
PREWARM_CHUNK = 1 << 16


def build_net(b: Builder, P, S: States, model: Model, x, prefix: str):
    """Append the ops of a plain model (any architecture) to b; x and the result are [1, C, T]."""
    for cls, build in BUILDERS.items():
        if isinstance(model.net, cls):
            return build(b, P, S, model.net, x, prefix, build_net)
    raise AssertionError(f"no ONNX builder for {type(model.net).__name__}")


def _audio_in() -> ir.Value:
    return ir.Value(name=AUDIO_IN, type=ir.TensorType(ir.DataType.FLOAT), shape=ir.Shape(["T"]))


def _finish(b: Builder, inputs, outputs, states: States) -> ir.Model:
    for name, value in states.outputs.items():
        value.name = STATE_OUT + name
        value.type, value.shape = states.inputs[name].type, states.inputs[name].shape
    # next states come out in the order their inputs go in (apps zip them back together)
    graph = ir.Graph(inputs=[*inputs, *states.inputs.values()], outputs=[*outputs, *map(states.outputs.get, states.inputs)],
                     nodes=b.tape.nodes, initializers=b.initializers, opset_imports={"": OPSET}, name="namx")
    return ir.Model(graph, ir_version=IR_VERSION, producer_name="namx", producer_version=__version__)


def _plain_graph(b: Builder, P, S: States, plain: Model, prefix: str = ""):
    audio = _audio_in()
    x = b.op("Reshape", audio, b.ints([1, 1, -1]))
    y = build_net(b, P, S, plain, x, prefix)
    out = b.op("Reshape", y, b.ints([-1]))
    out.name, out.type, out.shape = AUDIO_OUT, ir.TensorType(ir.DataType.FLOAT), ir.Shape(["T"])
    return audio, out


def fixed_model(plain: Model) -> tuple[ir.Model, dict[str, np.ndarray]]:
    """The fixed-width graph of a plain model and its initial state (by state name)."""
    b = Builder()
    S = States()
    audio, out = _plain_graph(b, FixedParams(b), S, plain)
    model = _finish(b, [audio], [out], S)
    return model, _prewarm(model, prewarm_samples(plain), S)


def _prewarm(model: ir.Model, n: int, S: States) -> dict[str, np.ndarray]:
    """Run n zeros through the graph from its zero state; return the resulting state (spec §7.1)."""
    state = {name: s["zero"] for name, s in S.specs.items()}
    if n == 0 or not state:
        return state
    session = _session(to_proto(model, check=False))
    feeds_names = [STATE_IN + name for name in state]
    while n > 0:
        k = min(n, PREWARM_CHUNK)
        outs = session.run(None, {AUDIO_IN: np.zeros(k, np.float32), **dict(zip(feeds_names, state.values()))})
        state = dict(zip(state, outs[1:]))
        n -= k
    return state


def _session(proto: onnx.ModelProto):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def to_proto(model: ir.Model, check: bool = True) -> onnx.ModelProto:
    proto = ir.serde.serialize_model(model)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    return proto


# ---- all widths in one graph ---------------------------------------------------------------------

def width_values(levels) -> list[int]:
    """The int64 a caller feeds as `width` for each level: its channel-count label, or k for `i<k>`."""
    return [int(lv.label[1:]) if lv.label.startswith("i") else int(lv.label) for lv in levels]


def _level_of(b: Builder, width: ir.Value, values: list[int]) -> ir.Value:
    """Scalar level index: the level whose value is the largest not above `width` (else the narrowest)."""
    order = np.argsort(values, kind="stable")
    ge = b.op("GreaterOrEqual", width, b.const(np.asarray(values, np.int64)[order], "width_values"))
    count = b.op("ReduceSum", b.op("Cast", ge, to=ir.DataType.INT64), keepdims=0)
    index = b.op("Max", b.op("Sub", count, b.const(np.int64(1), "one")), b.const(np.int64(0), "zero"))
    return b.op("Gather", b.const(order.astype(np.int64), "width_order"), index, axis=0)


class _Level:
    """One width level's plain model, the tensors it asks for, its states and initial state."""

    def __init__(self, plain: Model, prefix: str):
        self.plain, self.prefix = plain, prefix
        b = Builder()
        self.params, self.states = CollectParams(b), States()
        audio, out = _plain_graph(b, self.params, self.states, plain, prefix)
        self.initial = _prewarm(_finish(b, [audio], [out], self.states), prewarm_samples(plain), self.states)


def _branch(b: Builder, outputs: list[ir.Value], name: str) -> ir.Graph:
    return ir.Graph(inputs=[], outputs=outputs, nodes=b.tape.nodes, name=name)


def _typed(v: ir.Value, like: ir.Value) -> ir.Value:
    v.type, v.shape = like.type, like.shape
    return v


def dynamic_model(model: Model) -> tuple[ir.Model, dict[str, np.ndarray]]:
    """One graph for every width, `width` an input; returns it and a valid starting state."""
    levels = model.widths()
    container = isinstance(model.net, Container)
    plans = [_Level(model.at(lv), f"L{i}." if container else "") for i, lv in enumerate(levels)]
    b, S = Builder(), States()
    audio = _audio_in()
    width = ir.Value(name=WIDTH_IN, type=ir.TensorType(ir.DataType.INT64), shape=ir.Shape([]))
    level = _level_of(b, width, width_values(levels))

    # states: a container's levels each have their own; a sliced model's share names, with rows per level
    names = [n for p in plans for n in p.states.specs] if container else list(plans[0].states.specs)
    start = {}
    for n in names:
        owners = [p for p in plans if n in p.states.specs]
        rows = {p.states.specs[n]["rows"] for p in owners}
        spec = owners[-1].states.specs[n]
        S.declare(n, rows.pop() if len(rows) == 1 else None, spec["length"], spec["zero"])
        start[n] = owners[-1].initial[n]
    S.declare(LEVEL_STATE, 1, 1, np.full((1, 1, 1), -1, np.float32))
    start[LEVEL_STATE] = np.full((1, 1, 1), -1, np.float32)

    # the width-change rule: on a new level, replace the incoming state by the level's initial state
    previous = b.op("Cast", b.op("Reshape", S.inputs[LEVEL_STATE], b.ints([])), to=ir.DataType.INT64)
    changed = b.op("Not", b.op("Equal", previous, level))
    then_b, else_b = b.sub(), b.sub()
    then_out, else_out = [], []
    level_1d = then_b.op("Unsqueeze", level, then_b.ints([0]))  # Gather with [1] keeps the leading axis
    for n in names:
        owners = [p for p in plans if n in p.states.specs]
        if container:
            fresh = then_b.op("Identity", then_b.const(owners[0].initial[n], f"init.{n}"))
        else:
            stack = _stack([p.initial[n] for p in plans])
            picked = then_b.op("Gather", then_b.const(stack, f"init.{n}"), level_1d, axis=0)
            rows = then_b.op("Gather", then_b.const(np.asarray([[p.initial[n].shape[1]] for p in plans],
                                                               np.int64), f"init.{n}.rows"), level, axis=0)
            fresh = then_b.slice(picked, 0, rows, axis=1)
        then_out.append(_typed(fresh, S.inputs[n]))
        else_out.append(_typed(else_b.op("Identity", S.inputs[n]), S.inputs[n]))
    effective = b.op_multi("If", [changed], len(names), then_branch=_branch(then_b, then_out, "reset"),
                           else_branch=_branch(else_b, else_out, "keep")) if names else []
    S.override.update(zip(names, effective))

    x = b.op("Reshape", audio, b.ints([1, 1, -1]))
    if container:
        out, nexts = _select(b, S, plans, names, level, x, 0)
        S.outputs.update(zip(names, nexts))
    else:
        P = SlicedParams(b, [p.params for p in plans], level)
        out = b.op("Reshape", build_net(b, P, S, plans[-1].plain, x, ""), b.ints([-1]))
    out.name, out.type, out.shape = AUDIO_OUT, ir.TensorType(ir.DataType.FLOAT), ir.Shape(["T"])
    S.write(LEVEL_STATE, b.op("Reshape", b.op("Cast", level, to=ir.DataType.FLOAT), b.ints([1, 1, 1])))
    return _finish(b, [audio, width], [out], S), start


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-level initial states [1, rows_i, L], zero-padded into [levels, max rows, L]."""
    rows = max(a.shape[1] for a in arrays)
    out = np.zeros((len(arrays), rows, arrays[0].shape[2]), np.float32)
    for i, a in enumerate(arrays):
        out[i, :a.shape[1]] = a[0]
    return out


def _select(b: Builder, S: States, plans, names, level, x, i):
    """If-cascade over a container's levels: level i runs its submodel, the others pass state through."""
    def run(sb: Builder, k: int):
        Sk = States()
        Sk.inputs, Sk.specs, Sk.override = S.inputs, S.specs, S.override
        y = build_net(sb, FixedParams(sb), Sk, plans[k].plain, x, plans[k].prefix)
        nexts = [Sk.outputs[n] if n in Sk.outputs else sb.op("Identity", S.override[n]) for n in names]
        return sb.op("Reshape", y, sb.ints([-1])), nexts

    if i == len(plans) - 1:
        return run(b, i)
    then_b, else_b = b.sub(), b.sub()
    y_then, s_then = run(then_b, i)
    y_else, s_else = _select(else_b, S, plans, names, level, x, i + 1)
    for v in (y_then, y_else):
        v.type, v.shape = ir.TensorType(ir.DataType.FLOAT), ir.Shape(["T"])
    for v, n in [*zip(s_then, names), *zip(s_else, names)]:
        _typed(v, S.inputs[n])
    outs = b.op_multi("If", [b.op("Equal", level, b.const(np.int64(i), f"level_{i}"))], 1 + len(names),
                      then_branch=_branch(then_b, [y_then, *s_then], f"level{i}"),
                      else_branch=_branch(else_b, [y_else, *s_else], f"above{i}"))
    return outs[0], list(outs[1:])
