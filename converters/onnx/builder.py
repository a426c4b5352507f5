"""Graph-building helpers on top of onnx-ir: constants, ops, state I/O, and where numbers come from.

Architecture builders (wavenet.py, lstm.py, ...) never create initializers directly. They ask a
`Params` for every tensor and channel count by a stable name:

- FixedParams: each tensor becomes a constant, each count a Python int;
- CollectParams: also records what one width level asks for (graph.py builds each level from
  these records, so namx/widths.py stays the one definition of slicing).
"""
from __future__ import annotations

import numpy as np
import onnx_ir as ir

INT64_MAX = np.iinfo(np.int64).max
STATE_IN, STATE_OUT = "state.", "next_state."  # state input / output name prefixes (spec: ONNX binding)


class Builder:
    """Records nodes for one (sub)graph; constants live in the root builder's initializers, or a
    local subgraph's own."""

    def __init__(self, parent: Builder | None = None, local: bool = False):
        self.tape = ir.tape.Tape()
        self.root = parent.root if parent else self
        self.store = self if parent is None or local else parent.store  # whose initializers constants join
        if self.store is self:
            self.initializers: list[ir.Value] = []
            self._consts: dict = {}  # small constants are shared: (name, dtype, shape, bytes) -> value
        if parent is None:
            self._names: set[str] = set()
            self._count = 0  # one counter for every value name in the model: subgraphs share names with it

    def sub(self, local: bool = False) -> Builder:
        """A builder for a subgraph (If branch): it shares this graph's constants, or with `local`
        keeps its own as the subgraph's initializers (ONNX Runtime then passes the branch fewer
        outer-scope values on every call)."""
        return Builder(self, local)

    # ---- constants ---------------------------------------------------------------------------
    def const(self, array, name: str) -> ir.Value:
        root, store = self.root, self.store
        arr = np.asarray(array)
        arr = np.ascontiguousarray(arr) if arr.ndim else arr  # ascontiguousarray would make a scalar 1-D
        key = (name, arr.dtype.str, arr.shape, arr.tobytes()) if arr.size <= 64 else None
        if key is not None and key in store._consts:
            return store._consts[key]
        unique, n = name, 1
        while unique in root._names:
            unique, n = f"{name}_{n}", n + 1
        value = ir.Value(name=unique, shape=ir.Shape(arr.shape), type=ir.TensorType(ir.DataType.from_numpy(arr.dtype)),
                         const_value=ir.tensor(arr, name=unique))
        store.initializers.append(value)
        root._names.add(unique)
        if key is not None:
            store._consts[key] = value
        return value

    def ints(self, values) -> ir.Value:
        values = [int(v) for v in values]
        return self.const(np.asarray(values, np.int64), "i64_" + "_".join(map(str, values)).replace("-", "m"))

    def f32(self, value: float) -> ir.Value:
        return self.const(np.asarray(value, np.float32), f"f32_{value!r}".replace(".", "p").replace("-", "m"))

    # ---- ops -------------------------------------------------------------------------------
    def op(self, op_type: str, *inputs, **attrs) -> ir.Value:
        return self._name(self.tape.op(op_type, list(inputs), attributes=attrs or None))

    def op_multi(self, op_type: str, inputs, n: int, **attrs):
        outs = self.tape.op_multi_out(op_type, list(inputs), attributes=attrs or None, num_outputs=n)
        return [self._name(v) for v in outs]

    def _name(self, value: ir.Value) -> ir.Value:
        self.root._count += 1
        value.name = f"t{self.root._count}"
        return value

    def bound(self, d) -> ir.Value:
        """A slice bound (int or [1] int64 tensor) as a tensor."""
        return self.ints([d]) if isinstance(d, (int, np.integer)) else d

    def slice(self, x: ir.Value, start, end, axis: int) -> ir.Value:
        return self.op("Slice", x, self.bound(start), self.bound(end), self.ints([axis]))

    def tail(self, x: ir.Value, n: int, axis: int) -> ir.Value:
        """The last n entries along an axis."""
        return self.op("Slice", x, self.ints([-n]), self.ints([INT64_MAX]), self.ints([axis]))


# ---- where numbers come from -------------------------------------------------------------------

class FixedParams:
    def __init__(self, b: Builder):
        self.b = b

    def tensor(self, name: str, array: np.ndarray) -> ir.Value:
        return self.b.const(np.asarray(array, np.float32), name)

    def dim(self, name: str, n: int):
        return int(n)


class CollectParams(FixedParams):
    """Records the tensors and counts one level's build asks for (the graph it builds is discarded)."""

    def __init__(self, b: Builder):
        super().__init__(b)
        self.tensors: dict[str, np.ndarray] = {}
        self.dims: dict[str, int] = {}

    def tensor(self, name, array):
        self.tensors[name] = np.asarray(array, np.float32)
        return super().tensor(name, array)

    def dim(self, name, n):
        self.dims[name] = int(n)
        return int(n)


# ---- state -------------------------------------------------------------------------------------

class States:
    """State tensors of one graph: read() declares an input state.<name>, write() its next value.

    `zero` is the state before prewarm (zeros, or an LSTM's stored h0/c0); the exporter replaces it
    with the prewarmed initial state.
    """

    def __init__(self):
        self.specs: dict[str, dict] = {}
        self.inputs: dict[str, ir.Value] = {}
        self.outputs: dict[str, ir.Value] = {}
        self._read: set[str] = set()

    def declare(self, name: str, rows, length: int, zero: np.ndarray) -> None:
        self.specs[name] = {"rows": rows, "length": length, "zero": np.asarray(zero, np.float32)}
        self.inputs[name] = ir.Value(name=f"{STATE_IN}{name}", type=ir.TensorType(ir.DataType.FLOAT),
                                     shape=ir.Shape([1, rows, length]))

    def read(self, name: str, rows, length: int, zero: np.ndarray) -> ir.Value:
        if name in self._read:
            raise AssertionError(f"state {name} read twice")
        self._read.add(name)
        if name not in self.inputs:
            self.declare(name, rows, length, zero)
        return self.inputs[name]

    def write(self, name: str, value: ir.Value) -> None:
        self.outputs[name] = value
