"""ONNX Runtime streamer: namx's ONNX graphs in onnxruntime, single-threaded by default.

Two graph forms (spec §9):
- "fixed" (runtime `onnxruntime`): one fixed-width graph per level, opened when the level is first
  used; a width change switches graphs and starts from the new graph's initial state (base class).
- "dynamic" (runtime `onnxruntime-dynamic`): the one all-widths graph, fed `width` every block.
  A width change only changes what is fed: the graph applies the width-change rule itself.

State stays in ONNX Runtime's own buffers between blocks (IOBinding); nothing is copied through
NumPy except the audio.
"""
from __future__ import annotations

import numpy as np

from namx.converters.onnx import export, initial_state
from namx.converters.onnx.graph import AUDIO_IN, AUDIO_OUT, WIDTH_IN, width_values
from namx.errors import NamxError
from namx.model import Model
from namx.widths import WidthLevel, select

from .base import LevelRunner, Streamer


def session(proto, threads: int = 1):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    data = proto if isinstance(proto, bytes) else proto.SerializeToString()
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class GraphRunner(LevelRunner):
    """One namx ONNX graph with its state kept in ONNX Runtime's buffers between calls.

    When every state has a static shape, two bindings ping-pong between two preallocated state
    buffers (block k reads buffer k%2 and writes the other), so a call binds only the audio.
    Otherwise (an all-widths graph of a channel-sliced model, whose state rows follow the width)
    each call feeds back the state ONNX Runtime allocated for the previous one.
    """

    def __init__(self, proto, threads: int = 1):
        import onnxruntime as ort
        self._ort = ort
        self.session = session(proto, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.initial = initial_state(meta)
        self.state_in = list(self.initial)
        self.state_out = meta["namx.state_outputs"].split(",") if self.state_in else []
        self.width: np.ndarray | None = None  # fed as `width` when the graph has that input
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self.static = all(all(isinstance(d, int) for d in shapes[n]) for n in self.state_in)
        if self.static:
            self.buffers = [{n: ort.OrtValue.ortvalue_from_numpy(v.copy()) for n, v in self.initial.items()}
                            for _ in range(2)]
            self.bindings = []
            for k in range(2):
                io = self.session.io_binding()
                for i, o in zip(self.state_in, self.state_out):
                    io.bind_ortvalue_input(i, self.buffers[k][i])
                    io.bind_ortvalue_output(o, self.buffers[1 - k][i])
                self.bindings.append(io)
        else:
            self.binding = self.session.io_binding()
            self._bind_fresh_outputs()
        self.k, self.state = 0, {}
        self._out: dict[int, tuple] = {}  # block length -> (array, OrtValue over it) for audio_out

    def _bind_fresh_outputs(self):
        self.binding.bind_output(AUDIO_OUT, "cpu")
        for name in self.state_out:
            self.binding.bind_output(name, "cpu")

    def reset(self) -> None:
        if self.static:
            self.k = 0
            for n, v in self.initial.items():
                self.buffers[0][n].update_inplace(v)
        else:
            self.state = {n: self._ort.OrtValue.ortvalue_from_numpy(v) for n, v in self.initial.items()}

    def _audio_out(self, n: int):
        if n not in self._out:
            if len(self._out) >= 8:  # a few block lengths in use at a time
                self._out.clear()
            arr = np.empty(n, np.float32)
            self._out[n] = (arr, self._ort.OrtValue.ortvalue_from_numpy(arr))
        return self._out[n]

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        io = self.bindings[self.k] if self.static else self.binding
        io.bind_cpu_input(AUDIO_IN, x)
        if self.width is not None:
            io.bind_cpu_input(WIDTH_IN, self.width)
        if self.static:  # ONNX Runtime writes the audio into our buffer; nothing else comes back
            y, y_ort = self._audio_out(x.size)
            io.bind_ortvalue_output(AUDIO_OUT, y_ort)
            self.session.run_with_iobinding(io)
            self.k ^= 1
            return y.copy()
        for name in self.state_in:
            io.bind_ortvalue_input(name, self.state[name])
        self.session.run_with_iobinding(io)
        outs = io.get_outputs()
        self.state = dict(zip(self.state_in, outs[1:]))
        self._bind_fresh_outputs()
        return outs[0].numpy()


class OnnxRuntimeStreamer(Streamer):
    runtime = "onnxruntime"
    backend = "onnxruntime"

    def __init__(self, model: Model, width=None, *, slim=None, graph: str = "fixed", threads: int = 1):
        if graph not in ("fixed", "dynamic"):
            raise NamxError(f"graph must be 'fixed' or 'dynamic' (got {graph!r})")
        self.graph, self.threads = graph, threads
        self._dynamic = None
        if graph == "dynamic":
            self.runtime = "onnxruntime-dynamic"
            self._dynamic = GraphRunner(export(model), threads)
            self._values = width_values(model.widths())
        super().__init__(model, width, slim=slim)

    def _open(self, level: WidthLevel) -> LevelRunner:
        if self._dynamic is not None:
            self._dynamic.width = np.array(self._values[level.index], np.int64)
            return self._dynamic
        return GraphRunner(export(self.model, level.label), self.threads)

    def set_width(self, width=None, *, slim=None) -> None:
        if self._dynamic is None:
            return super().set_width(width, slim=slim)
        # the graph itself restarts a newly selected width from its initial state (spec §7.3)
        level = select(self.model, width, slim=slim)
        with self._exclusive():
            self._level = level
            self._dynamic.width = np.array(self._values[level.index], np.int64)


class OnnxRuntimeDynamicStreamer(OnnxRuntimeStreamer):
    def __init__(self, model: Model, width=None, *, slim=None, threads: int = 1):
        super().__init__(model, width, slim=slim, graph="dynamic", threads=threads)
