"""Assemble streaming ONNX graphs (spec §9, ONNX binding).

- fixed_model(model, level): one width, pruned weights: inputs audio, state.level, state.*
- dynamic_model(model): all widths in one graph: inputs audio, width, state.level, state.*

Both start, reset and (all widths) change width without the metadata: `state.level` holds the
level index the previous block ran; fed -1, or any level but the one this block runs (a fixed
graph's own; the one `width` selects), the graph ignores the incoming state and runs the level
from its own initial state, constants it carries (spec §7.3). Each level is an `If` with two
copies of its network, one fed the incoming state and one the constants (an `If` choosing
between state tensors would copy every state every block). The levels of an all-widths graph
are chosen by a binary tree of `If`s and share one set of state tensors (slot i is the i-th state
of whichever level runs), so a call carries one level's state however many levels there are.
A channel-sliced model keeps one copy of the weights: each level slices the full tensors with
constant bounds, which ONNX Runtime folds when it loads the graph. Constants live in the branch
that uses them, so the `If`s pass few outer-scope values down. (Inputs with default values would
start a stream for free, but onnxruntime-node and -web cannot feed such inputs.)
"""
from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir

from namx import __version__
from namx.backends import ONE_WIDTH_AT_A_TIME, architecture
from namx.model import LSTM, Container, ConvNet, Linear, Model, WaveNet
from namx.reference import initial_state
from namx.widths import WidthLevel

from . import convnet, linear, lstm, wavenet
from .builder import STATE_IN, STATE_OUT, Builder, CollectParams, States

OPSET = 17
IR_VERSION = 8
AUDIO_IN, AUDIO_OUT, WIDTH_IN, LEVEL_STATE = "audio", "audio_out", "width", "level"
START_LEVEL = -1.0  # state.level fed to start or reset: no level ran yet
# IR type -> build(b, P, S, net, x, prefix, build_net) (namx.backends)
ARCHITECTURES = {WaveNet: wavenet.build, LSTM: lstm.build, ConvNet: convnet.build, Linear: linear.build,
                 Container: ONE_WIDTH_AT_A_TIME}
FLOAT = ir.TensorType(ir.DataType.FLOAT)


def build_net(b: Builder, P, S, model: Model, x, prefix: str):
    """Append the ops of a plain model (any architecture) to b; x and the result are [1, C, T]."""
    return architecture(ARCHITECTURES, model)(b, P, S, model.net, x, prefix, build_net)


def _audio_in() -> ir.Value:
    return ir.Value(name=AUDIO_IN, type=FLOAT, shape=ir.Shape(["T"]))


def _typed(v: ir.Value, shape) -> ir.Value:
    v.type, v.shape = FLOAT, ir.Shape(shape)
    return v


def _model(b: Builder, inputs, outputs) -> ir.Model:
    graph = ir.Graph(inputs=inputs, outputs=outputs, nodes=b.tape.nodes, initializers=b.initializers,
                     opset_imports={"": OPSET}, name="namx")
    return ir.Model(graph, ir_version=IR_VERSION, producer_name="namx", producer_version=__version__)


def to_proto(model: ir.Model, check: bool = True) -> onnx.ModelProto:
    proto = ir.serde.serialize_model(model)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    return proto


class _Level:
    """One width level: its plain model, the tensors it asks for, its states and initial state.

    The initial state is the reference's (namx.reference.initial_state, spec §7.1) as float32, in
    the graph's layout (_graph_state).
    """

    def __init__(self, plain: Model, index: int):
        self.plain, self.index = plain, index
        b = Builder()
        self.params, states = CollectParams(b), States()
        build_net(b, self.params, states, plain, b.op("Reshape", _audio_in(), b.ints([1, 1, -1])), "")
        self.names = list(states.specs)
        self.initial = _graph_state(initial_state(plain), {n: states.specs[n]["zero"] for n in self.names})


def _graph_state(reference: dict[str, np.ndarray], zero: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The reference's state in the graph's layout: [1, rows, length] float32 per state.

    A convolution whose input mixin is folded in (wavenet.py) has rows for the condition signal
    before the reference's rows; only its newest column, the current input, meets nonzero
    weights, so their history stays as in the zero state.
    """
    out = {}
    for name, z in zero.items():
        ref = np.asarray(reference[name], np.float32).reshape(-1, z.shape[2])
        out[name] = np.concatenate([z[0, :z.shape[1] - ref.shape[0]], ref])[None]
    return out


class _LevelParams:
    """One level's tensors as constants of the builder given: its own, or (with `full`) a
    constant-bound Slice of the model's full tensor, which ONNX Runtime folds when it loads the
    graph (one copy of a channel-sliced model's weights in the file)."""

    def __init__(self, b: Builder, level: int, full: dict | None = None, full_consts: dict | None = None):
        self.b, self.level, self.full, self.full_consts = b, level, full or {}, full_consts
        self._made: dict[str, ir.Value] = {}

    def tensor(self, name: str, array) -> ir.Value:
        if name not in self._made:
            self._made[name] = self._make(name, np.asarray(array, np.float32))
        return self._made[name]

    def _make(self, name, a):
        full = self.full.get(name)
        if full is None or full.ndim != a.ndim or not np.array_equal(full[tuple(map(slice, a.shape))], a):
            return self.b.const(a, f"L{self.level}.{name}")
        if name not in self.full_consts:  # in the root graph: one constant for every level
            self.full_consts[name] = self.b.root.const(full, name)
        # a Slice even when it keeps everything: folded, it becomes the branch's own constant, which
        # ONNX Runtime then need not pass down through every If on the way
        return self.b.op("Slice", self.full_consts[name], self.b.ints([0] * a.ndim), self.b.ints(a.shape),
                         self.b.ints(range(a.ndim)))

    def dim(self, name: str, n: int) -> int:
        return int(n)


class _Feed:
    """The States interface of the architecture builders, reading from given values."""

    def __init__(self, values: dict[str, ir.Value]):
        self.values, self.outputs = values, {}

    def read(self, name, rows, length, zero):
        return self.values[name]

    def write(self, name, value):
        self.outputs[name] = value


def _state_input(name: str, shape) -> ir.Value:
    return ir.Value(name=STATE_IN + name, type=FLOAT, shape=ir.Shape(shape))


class _Graph:
    """A fixed graph (one level, no `width`) or an all-widths graph (several levels, `width`)."""

    def __init__(self, plans: list[_Level], width_values: list[int] | None, full=None, reset: bool = True):
        self.plans, self.full, self.full_consts, self.reset = plans, full, {}, reset
        self.b = b = Builder()
        audio = _audio_in()
        self.x = b.op("Reshape", audio, b.ints([1, 1, -1]))
        self.previous = _state_input(LEVEL_STATE, [1, 1, 1])
        self.slots = self._slots()
        inputs = [audio]
        if width_values is None:  # fixed: its own level, always
            index = plans[0].index
            self.level = None  # one level: no tree to walk
            next_level = b.op("Identity", b.const(np.full((1, 1, 1), index, np.float32), f"level_{index}_f32"))
        else:
            width = ir.Value(name=WIDTH_IN, type=ir.TensorType(ir.DataType.INT64), shape=ir.Shape([]))
            inputs.append(width)
            table, table_f = _level_tables(width_values)
            clipped = b.op("Clip", width, b.const(np.int64(0), "zero"), b.const(np.int64(len(table) - 1), "top"))
            self.level = b.op("Gather", b.const(table, "level_of_width"), clipped, axis=0)
            next_level = b.op("Gather", b.const(table_f, "level_of_width_f32"), clipped, axis=0)
        outs = self._tree(b, 0, len(plans))
        outs = [outs[0], next_level, *outs[1:]]
        state_inputs = [self.previous, *(v for _, v in self.slots)]
        self.names = [LEVEL_STATE, *(n for n, _ in self.slots)]
        _typed(outs[0], ["T"]).name = AUDIO_OUT
        for value, inp, name in zip(outs[1:], state_inputs, self.names):
            _typed(value, inp.shape).name = STATE_OUT + name
        self.model = _model(b, [*inputs, *state_inputs], outs)

    def _slots(self) -> list[tuple[str, ir.Value]]:
        """Slot i: the i-th state of each level; named after the widest level that has one."""
        n = max(len(p.names) for p in self.plans)
        slots = []
        for i in range(n):
            name = next(p.names[i] for p in reversed(self.plans) if i < len(p.names))
            shapes = [p.initial[p.names[i]].shape if i < len(p.names) else (1, 0, 0) for p in self.plans]
            dims = [shapes[0][d] if len({s[d] for s in shapes}) == 1 else f"{name}_{'_rl'[d]}" for d in range(3)]
            slots.append((name, _state_input(name, dims)))
        return slots

    def _tree(self, b: Builder, lo: int, hi: int) -> list[ir.Value]:
        if hi - lo == 1:
            return self._leaf(b, self.plans[lo])
        mid = (lo + hi) // 2
        low, high = b.sub(), b.sub()
        branches = [self._branch(sb, self._tree(sb, a, z), f"levels_{a}_{z}")
                    for sb, a, z in ((low, lo, mid), (high, mid, hi))]
        below = b.op("Less", self.level, b.const(np.int64(self.plans[mid].index), f"level_{self.plans[mid].index}"))
        return b.op_multi("If", [below], 1 + len(self.slots), then_branch=branches[0], else_branch=branches[1])

    def _leaf(self, b: Builder, plan: _Level) -> list[ir.Value]:
        """Level `plan`: continue from the incoming state if it ran last, else from its initial state.
        Each branch holds its own copy of the level's network and constants."""
        incoming = {n: self.slots[i][1] for i, n in enumerate(plan.names)}
        if not plan.names or not self.reset:
            return self._run(b, _LevelParams(b, plan.index, self.full, self.full_consts), plan, incoming)
        keep, fresh = b.sub(local=True), b.sub(local=True)
        initial = {n: fresh.const(plan.initial[n], f"initial.L{plan.index}.{n}") for n in plan.names}
        index = b.const(np.full((1, 1, 1), plan.index, np.float32), f"level_{plan.index}_f32")
        same = b.op("Equal", self.previous, index)
        kept, started = (self._run(sb, _LevelParams(sb, plan.index, self.full, self.full_consts), plan, states)
                         for sb, states in ((keep, incoming), (fresh, initial)))
        return b.op_multi("If", [same], 1 + len(self.slots),
                          then_branch=self._branch(keep, kept, f"keep{plan.index}"),
                          else_branch=self._branch(fresh, started, f"start{plan.index}"))

    def _run(self, b: Builder, P, plan: _Level, states: dict[str, ir.Value]) -> list[ir.Value]:
        S = _Feed(states)
        y = b.op("Reshape", build_net(b, P, S, plan.plain, self.x, ""), b.ints([-1]))
        empty = np.zeros((1, 0, 0), np.float32)
        rest = [b.op("Identity", b.const(empty, "empty_state")) for _ in self.slots[len(plan.names):]]
        return [y, *(S.outputs[n] for n in plan.names), *rest]

    def _branch(self, b: Builder, outputs: list[ir.Value], name: str) -> ir.Graph:
        _typed(outputs[0], ["T"])
        for v, (_, slot) in zip(outputs[1:], self.slots):
            _typed(v, slot.shape)
        return ir.Graph(inputs=[], outputs=outputs, nodes=b.tape.nodes, name=name,
                        initializers=b.initializers if b.store is b else ())

    def start(self) -> dict[str, np.ndarray]:
        """The widest level's initial state, by state name: the metadata's."""
        widest = self.plans[-1]
        state = {LEVEL_STATE: np.full((1, 1, 1), widest.index, np.float32)}
        for i, (name, _) in enumerate(self.slots):
            state[name] = widest.initial[widest.names[i]] if i < len(widest.names) else np.zeros((1, 0, 0), np.float32)
        return state

    def level_shapes(self) -> list[list[tuple[int, ...]]]:
        """Per level, the shape of every state while that level runs."""
        return [[(1, 1, 1), *(p.initial[p.names[i]].shape if i < len(p.names) else (1, 0, 0)
                              for i in range(len(self.slots)))] for p in self.plans]


def fixed_model(model: Model, level: WidthLevel, reset: bool = True):
    """The fixed-width graph of one level of `model`, with pruned weights. `reset=False` leaves out
    the start/reset mechanism (it always continues the state fed in): only for measuring what the
    mechanism costs (benchmarks/bench_onnx_reset.py)."""
    return _Graph([_Level(model.at(level), level.index)], None, reset=reset)


def dynamic_model(model: Model):
    """One graph for every width, `width` an input."""
    levels = model.widths()
    plans = [_Level(model.at(lv), lv.index) for lv in levels]
    full = None if isinstance(model.net, Container) else plans[-1].params.tensors
    return _Graph(plans, width_values(levels), full)


def width_values(levels) -> list[int]:
    """The int64 a caller feeds as `width` for each level: its channel-count label, or k for `i<k>`."""
    return [int(lv.label[1:]) if lv.label.startswith("i") else int(lv.label) for lv in levels]


def _level_tables(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables from a clipped `width` to its level: the level whose value is the largest not
    above it, else the narrowest (int64 for the graph, float32 [., 1, 1, 1] for next_state.level)."""
    order = np.argsort(values, kind="stable")
    ordered = np.asarray(values)[order]
    table = np.asarray([order[max(int(np.searchsorted(ordered, w, "right")) - 1, 0)]
                        for w in range(max(values) + 1)], np.int64)
    return table, table.astype(np.float32).reshape(-1, 1, 1, 1)
