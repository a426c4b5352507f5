"""Write .tflite flatbuffers directly: the TFLite schema's generated builders plus flatbuffers, no TensorFlow.

`ModelBuilder` owns what subgraphs share (constant buffers, operator codes, metadata); each
`Graph` is one subgraph with typed helpers for the builtin ops in OPS, the op subset the namx
TFLite binding allows (spec §10.1): every one of them is implemented by TFLite-Micro. Tensors
are float32 in NHWC with time as H: audio-like tensors are [1, T, 1, C].

The schema classes come from the pure-Python `tflite` package (generated from TFLite's
schema.fbs; no runtime needed, so exporting works on every platform). It has no object API, so
`Table` is a small one: a table's fields by their schema names, packed through the generated
`Start`/`Add<Field>`/`End` functions of the table's module. Constant buffers are 16-byte
aligned, as the schema asks (`force_align: 16`) and as TFLite-Micro needs.
"""
from __future__ import annotations

import importlib

import flatbuffers
import numpy as np
import tflite as S  # enums (BuiltinOperator, TensorType, ...) and readers (S.Model.GetRootAs)

OP = S.BuiltinOperator
F32, I32 = S.TensorType.FLOAT32, S.TensorType.INT32
FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
ALIGNMENT = 16

# The binding's op subset (spec §10.1): builtin op -> the version namx writes. Every op here is
# implemented by TFLite-Micro; tests walk every exported model and fail on any op outside it.
OPS: dict[str, int] = {
    "ABS": 1,
    "ADD": 1,
    "ASSIGN_VARIABLE": 1,
    "CONCATENATION": 1,
    "CONV_2D": 1,
    "DIV": 1,
    "FULLY_CONNECTED": 1,
    "HARD_SWISH": 1,
    "LEAKY_RELU": 1,
    "LOGISTIC": 1,
    "MAXIMUM": 1,
    "MINIMUM": 1,
    "MUL": 1,
    "PRELU": 1,
    "READ_VARIABLE": 1,
    "RELU": 1,
    "RESHAPE": 1,
    "SPLIT": 1,
    "SPLIT_V": 1,
    "STRIDED_SLICE": 1,
    "SUB": 1,
    "TANH": 1,
    "VAR_HANDLE": 1,
}
MAX_CONCAT_INPUTS = 10  # TFLite-Micro's CONCATENATION takes at most 10 inputs


class Table:
    """One flatbuffer table of the TFLite schema: `Table("Tensor", shape=[1, 64], name="x")`.

    Field values: int/float/bool (scalars), str, bytes (a 16-byte aligned ubyte vector), Table,
    or a list of ints (an int32 vector) or of Tables. None leaves a field out.
    """

    def __init__(self, kind: str, **fields):
        self.__dict__["kind"], self.__dict__["fields"] = kind, dict(fields)

    def __getattr__(self, name):
        fields = self.__dict__.get("fields", {})  # (absent only while copy/pickle build an instance)
        if name not in fields:
            raise AttributeError(name)
        return fields[name]

    def __setattr__(self, name, value):
        self.fields[name] = value

    def pack(self, fb: flatbuffers.Builder) -> int:
        gen = importlib.import_module(f"tflite.{self.kind}")
        # Strings, vectors and sub-tables are written before the table that points at them.
        refs = {k: _pack_value(fb, gen, k, v) for k, v in self.fields.items()
                if v is not None and not isinstance(v, (int, float))}
        gen.Start(fb)
        for k, v in self.fields.items():
            if v is not None:
                getattr(gen, "Add" + k[0].upper() + k[1:])(fb, refs.get(k, v))
        return gen.End(fb)


def _pack_value(fb: flatbuffers.Builder, gen, field: str, value) -> int:
    if isinstance(value, str):
        return fb.CreateString(value)
    if isinstance(value, Table):
        return value.pack(fb)
    if isinstance(value, (bytes, bytearray)):
        fb.StartVector(1, len(value), ALIGNMENT)
        fb.head -= len(value)
        fb.Bytes[fb.head:fb.head + len(value)] = value
        return fb.EndVector()
    items = [v.pack(fb) if isinstance(v, Table) else int(v) for v in value]
    getattr(gen, "Start" + field[0].upper() + field[1:] + "Vector")(fb, len(items))
    prepend = fb.PrependUOffsetTRelative if value and isinstance(value[0], Table) else fb.PrependInt32
    for item in reversed(items):
        prepend(item)
    return fb.EndVector()


class ModelBuilder:
    """One .tflite file: shared buffers and op codes, one or more subgraphs, metadata."""

    def __init__(self, description: str = "namx"):
        self.m = Table("Model", version=SCHEMA_VERSION, description=description, operatorCodes=[],
                       subgraphs=[], buffers=[Table("Buffer")], metadata=[], signatureDefs=[])
        # buffer 0 is the empty sentinel
        self._codes: dict[str, int] = {}
        self._buffers: dict[bytes, int] = {}

    def graph(self, name: str) -> Graph:
        sg = Table("SubGraph", tensors=[], inputs=[], outputs=[], operators=[], name=name)
        self.m.subgraphs.append(sg)
        return Graph(self, sg, len(self.m.subgraphs) - 1)

    def buffer(self, data: bytes) -> int:
        """A constant buffer; identical contents (weights shared by subgraphs) are stored once."""
        if data not in self._buffers:
            self.m.buffers.append(Table("Buffer", data=data))
            self._buffers[data] = len(self.m.buffers) - 1
        return self._buffers[data]

    def opcode(self, name: str) -> int:
        if name not in OPS:
            raise ValueError(f"op {name} is not in the namx TFLite op subset")
        if name not in self._codes:
            code = getattr(OP, name)
            # Codes above 127 live in builtinCode; the deprecated byte holds the 127 placeholder.
            self.m.operatorCodes.append(Table("OperatorCode", deprecatedBuiltinCode=min(code, 127),
                                              version=OPS[name], builtinCode=code))
            self._codes[name] = len(self.m.operatorCodes) - 1
        return self._codes[name]

    def metadata(self, name: str, data: bytes) -> None:
        self.m.metadata.append(Table("Metadata", name=name, buffer=self.buffer(data)))

    def signature(self, key: str, graph: Graph, inputs: dict[str, int], outputs: dict[str, int]) -> None:
        self.m.signatureDefs.append(Table(
            "SignatureDef", inputs=[Table("TensorMap", name=n, tensorIndex=i) for n, i in inputs.items()],
            outputs=[Table("TensorMap", name=n, tensorIndex=i) for n, i in outputs.items()],
            signatureKey=key, subgraphIndex=graph.index))

    def to_bytes(self) -> bytes:
        size = sum(len(b.fields.get("data") or b"") for b in self.m.buffers)
        fb = flatbuffers.Builder(size + (1 << 16))
        fb.Finish(self.m.pack(fb), file_identifier=FILE_IDENTIFIER)
        return bytes(fb.Output())


class Graph:
    """One subgraph. Tensor handles are ints; `shape(t)` gives a tensor's static shape."""

    def __init__(self, model: ModelBuilder, sg, index: int):
        self.model, self.sg, self.index = model, sg, index
        self._consts: dict[tuple, int] = {}

    # ---- tensors --------------------------------------------------------------------------

    def tensor(self, name: str, shape, dtype=F32) -> int:
        self.sg.tensors.append(Table("Tensor", shape=[int(s) for s in shape], type=dtype, buffer=0, name=name))
        return len(self.sg.tensors) - 1

    def const(self, name: str, array) -> int:
        """A constant tensor (float32 or int32); identical constants share one tensor."""
        a = np.ascontiguousarray(array)
        a = a.astype(np.int32 if a.dtype.kind in "iu" else np.float32)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self._consts:
            t = self.tensor(name, a.shape, I32 if a.dtype == np.int32 else F32)
            self.sg.tensors[t].buffer = self.model.buffer(a.tobytes())
            self._consts[key] = t
        return self._consts[key]

    def shape(self, t: int) -> tuple[int, ...]:
        return tuple(self.sg.tensors[t].shape)

    def name(self, t: int) -> str:
        return self.sg.tensors[t].name

    # ---- ops ------------------------------------------------------------------------------

    def op(self, name: str, inputs, out_shapes, out_name: str, options=None, options_type=None):
        """Append an operator; returns its output tensor (or the list of them when several)."""
        outs = [self.tensor(out_name if len(out_shapes) == 1 else f"{out_name}:{i}", s)
                for i, s in enumerate(out_shapes)]
        o = Table("Operator", opcodeIndex=self.model.opcode(name), inputs=list(inputs), outputs=outs)
        if options is not None:
            o.builtinOptionsType = options_type or getattr(S.BuiltinOptions, options.kind)
            o.builtinOptions = options
        self.sg.operators.append(o)
        return outs[0] if len(outs) == 1 else outs

    def conv(self, x: int, weight: np.ndarray, bias: np.ndarray | None, name: str, dilation: int = 1) -> int:
        """CONV_2D, VALID, stride 1: x [1, T, 1, Cin], weight (K, out, in) -> [1, T-(K-1)d, 1, out]."""
        k, cout, cin = weight.shape
        _, t, _, c = self.shape(x)
        assert c == cin, (name, c, cin)
        w = self.const(f"{name}.w", np.ascontiguousarray(weight.transpose(1, 0, 2))[:, :, None, :])
        b = self.const(f"{name}.b", np.zeros(cout, np.float32) if bias is None else bias)
        opt = Table("Conv2DOptions", padding=S.Padding.VALID, strideW=1, strideH=1,
                    dilationWFactor=1, dilationHFactor=dilation)
        return self.op("CONV_2D", [x, w, b], [(1, t - (k - 1) * dilation, 1, cout)], name, opt)

    def fully_connected(self, x: int, weight: np.ndarray, bias: np.ndarray | None, name: str) -> int:
        """FULLY_CONNECTED: x [rows, in] x weight (out, in) + bias -> [rows, out]."""
        rows, _ = self.shape(x)
        w = self.const(f"{name}.w", weight)
        ins = [x, w] + ([] if bias is None else [self.const(f"{name}.b", bias)])
        if bias is None:
            ins.append(-1)  # optional input left out
        opt = Table("FullyConnectedOptions")
        return self.op("FULLY_CONNECTED", ins, [(rows, weight.shape[0])], name, opt)

    def _binary(self, op: str, a: int, b: int, name: str) -> int:
        shape = np.broadcast_shapes(self.shape(a), self.shape(b))
        options = Table({"ADD": "AddOptions", "MUL": "MulOptions", "SUB": "SubOptions", "DIV": "DivOptions",
                         "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions"}[op])
        kind = S.BuiltinOptions.MaximumMinimumOptions if op in ("MAXIMUM", "MINIMUM") else None
        return self.op(op, [a, b], [shape], name, options, kind)

    def add(self, a, b, name):
        return self._binary("ADD", a, b, name)

    def sub(self, a, b, name):
        return self._binary("SUB", a, b, name)

    def mul(self, a, b, name):
        return self._binary("MUL", a, b, name)

    def div(self, a, b, name):
        return self._binary("DIV", a, b, name)

    def maximum(self, a, b, name):
        return self._binary("MAXIMUM", a, b, name)

    def minimum(self, a, b, name):
        return self._binary("MINIMUM", a, b, name)

    def scalar(self, value: float) -> int:
        return self.const(f"const.{value!r}", np.float32(value).reshape(1))

    def unary(self, op: str, x: int, name: str) -> int:
        return self.op(op, [x], [self.shape(x)], name)

    def leaky_relu(self, x: int, alpha: float, name: str) -> int:
        opt = Table("LeakyReluOptions", alpha=float(np.float32(alpha)))
        return self.op("LEAKY_RELU", [x], [self.shape(x)], name, opt)

    def prelu(self, x: int, slopes: np.ndarray, name: str) -> int:
        alpha = self.const(f"{name}.alpha", np.asarray(slopes, np.float32).reshape(1, 1, 1, -1))
        return self.op("PRELU", [x, alpha], [self.shape(x)], name)

    def concat(self, parts: list[int], axis: int, name: str) -> int:
        """CONCATENATION; more than MAX_CONCAT_INPUTS parts become a tree of concatenations."""
        if len(parts) > MAX_CONCAT_INPUTS:
            n = MAX_CONCAT_INPUTS
            parts = [p[0] if len(p) == 1 else self.concat(p, axis, f"{name}.{i}")
                     for i, p in enumerate(parts[k:k + n] for k in range(0, len(parts), n))]
            return self.concat(parts, axis, name)
        shapes = [self.shape(p) for p in parts]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        opt = Table("ConcatenationOptions", axis=axis)
        return self.op("CONCATENATION", parts, [shape], name, opt)

    def slice(self, x: int, begin, end, name: str) -> int:
        """STRIDED_SLICE with stride 1 and constant bounds (end exclusive)."""
        b = self.const(f"{name}.begin", np.asarray(begin, np.int32))
        e = self.const(f"{name}.end", np.asarray(end, np.int32))
        s = self.const(f"{name}.strides", np.ones(len(begin), np.int32))
        opt = Table("StridedSliceOptions")
        return self.op("STRIDED_SLICE", [x, b, e, s], [[hi - lo for lo, hi in zip(begin, end)]], name, opt)

    def split(self, x: int, sizes: list[int], axis: int, name: str) -> list[int]:
        """SPLIT (equal parts) or SPLIT_V along `axis`."""
        shape = self.shape(x)
        outs = []
        for n in sizes:
            s = list(shape)
            s[axis] = n
            outs.append(s)
        ax = self.const(f"{name}.axis", np.asarray(axis, np.int32))
        if len(set(sizes)) == 1:
            opt = Table("SplitOptions", numSplits=len(sizes))
            res = self.op("SPLIT", [ax, x], outs, name, opt)
        else:
            opt = Table("SplitVOptions", numSplits=len(sizes))
            sz = self.const(f"{name}.sizes", np.asarray(sizes, np.int32))
            res = self.op("SPLIT_V", [x, sz, ax], outs, name, opt)
        return res if isinstance(res, list) else [res]

    # ---- resource variables (state kept inside the interpreter) -------------------------------

    def variable(self, shared_name: str) -> int:
        """VAR_HANDLE: a resource tensor naming the variable; subgraphs share it by name."""
        opt = Table("VarHandleOptions", sharedName=shared_name)
        handle = self.tensor(f"{shared_name}:handle", [], S.TensorType.RESOURCE)
        self.sg.operators.append(Table("Operator", opcodeIndex=self.model.opcode("VAR_HANDLE"), inputs=[],
                                       outputs=[handle], builtinOptionsType=S.BuiltinOptions.VarHandleOptions,
                                       builtinOptions=opt))
        return handle

    def read_variable(self, handle: int, shape, name: str) -> int:
        return self.op("READ_VARIABLE", [handle], [shape], name)

    def assign_variable(self, handle: int, value: int) -> None:
        self.sg.operators.append(Table("Operator", opcodeIndex=self.model.opcode("ASSIGN_VARIABLE"),
                                       inputs=[handle, value], outputs=[]))

    def reshape(self, x: int, shape, name: str) -> int:
        opt = Table("ReshapeOptions", newShape=[int(s) for s in shape])
        return self.op("RESHAPE", [x, self.const(f"{name}.shape", np.asarray(shape, np.int32))], [shape], name, opt)
